// Stage 3: assign resources (Pacemaker's assign_resources). Units are placed one at a time,
// primaries before their dependents (colocation) and mandatory predecessors before their
// successors (order), so every unit sees where the things it depends on will be. Groups are
// ordered, colocated chains; clones place N instances at most maxPerNode per node; promotable
// clones then choose their promoted instances (promotable.ts).
//
// Node choice follows Pacemaker: highest score wins; a negative score means "not here"; ties go
// to the node with the fewest resources assigned so far, then to the node name.

import type { ConstraintIndex } from './colocation.js';
import { colocationForDependent, dependentBans, dependentPreferences, placedNodes } from './colocation.js';
import { assignPromotion } from './promotable.js';
import { addScores, INFINITY } from './scores.js';
import type { WPrim, WUnit, WorkingSet } from './working-set.js';
import { currentNode, primsFor, primsOf, stickinessOf } from './working-set.js';

/** Order units so that colocation primaries and mandatory order predecessors come first. */
export function assignmentOrder(ws: WorkingSet, idx: ConstraintIndex): WUnit[] {
  const deps = new Map<string, Set<string>>();
  const add = (before: string, after: string) => {
    if (before === after) return;
    let s = deps.get(after);
    if (!s) deps.set(after, (s = new Set()));
    s.add(before);
  };
  for (const [dep, cs] of idx.colocByDependent) for (const c of cs) add(ws.unitOf.get(c.with)!.id, dep);
  for (const [then, os] of idx.ordersByThen) {
    for (const o of os) if (o.kind === 'mandatory') { const f = ws.unitOf.get(o.first); if (f) add(f.id, then); }
  }
  // Depth-first post-order over units sorted by id: deterministic and linear; a cycle (rejected by
  // config validation, so only a safety net here) is broken where it is first met.
  const out: WUnit[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (u: WUnit) => {
    const st = state.get(u.id);
    if (st !== undefined) return;
    state.set(u.id, 1);
    const before = deps.get(u.id);
    if (before) for (const b of [...before].sort()) visit(ws.unitById.get(b)!);
    state.set(u.id, 2);
    out.push(u);
  };
  // Like Pacemaker (resources sorted by their score on their current node), units that run
  // healthily now are placed before units being started or recovered, so a recovery does not
  // take the spot of a resource that is fine where it is.
  const running = (u: WUnit) => primsOf(u).some((p) => p.active.length === 1 && p.onLost.length === 0 && p.active[0]!.role !== 'failed');
  for (const u of ws.units) if (running(u)) visit(u);
  for (const u of ws.units) visit(u);
  return out;
}

function pinnedTargets(ws: WorkingSet, unit: WUnit): void {
  for (const p of primsOf(unit)) {
    if (p.pinned === null) continue;
    const c = p.active[0];
    p.target = c ? { node: c.node, role: c.role === 'failed' ? (unit.clone?.promotable ? 'unpromoted' : 'started') : c.role } : null;
    if (p.target) ws.nodes[p.target.node]!.assigned++;
  }
}

function cutAll(cut: number[], pos: number): void {
  for (let i = 0; i < cut.length; i++) if (cut[i]! > pos) cut[i] = pos;
}

function better(ws: WorkingSet, scores: number[], cut: number[], a: number, b: number, prefer = -1): boolean {
  if (cut[a] !== cut[b]) return cut[a]! > cut[b]!;
  if (scores[a] !== scores[b]) return scores[a]! > scores[b]!;
  // Like Pacemaker, a tie keeps the resource where it runs now: no shuffling for balance alone.
  if (a === prefer || b === prefer) return a === prefer;
  const na = ws.nodes[a]!, nb = ws.nodes[b]!;
  if (na.assigned !== nb.assigned) return na.assigned < nb.assigned;
  return na.name < nb.name;
}

function whyNowhere(ws: WorkingSet, scores: number[], cut: number[], unsatisfied: { pos: number; reason: string }[]): string {
  const first = unsatisfied.find((u) => u.pos === 0);
  if (first) return first.reason;
  if (!ws.quorate) return 'partition has no quorum';
  if (ws.nodes.every((n) => !n.canHost)) return 'no node can host resources (all offline, standby or in maintenance)';
  const hostable = ws.nodes.filter((n) => n.canHost);
  if (hostable.every((n) => cut[n.index]! < 1 || scores[n.index]! <= -INFINITY)) return 'every eligible node is banned or forbidden for it';
  return 'no eligible node has a non-negative score';
}

/** Reasons for members cut off a chain on the chosen node. */
function memberCutReason(p: WPrim, node: number, unsatisfied: { pos: number; reason: string }[], nodeName: string): string {
  if (p.fatal !== null) return p.fatal;
  const ban = p.bans.get(node);
  if (ban !== undefined) return `${ban}; the group runs on ${nodeName}`;
  const u = unsatisfied.find((x) => x.pos <= p.pos);
  if (u) return u.reason;
  if (p.def.meta.targetRole === 'stopped') return 'target-role is stopped';
  return `location constraints or bans forbid it on ${nodeName}, where its group runs`;
}

export function assignResources(ws: WorkingSet, idx: ConstraintIndex): void {
  for (const unit of assignmentOrder(ws, idx)) {
    pinnedTargets(ws, unit);
    if (unit.clone) assignClone(ws, idx, unit);
    else assignSingle(ws, idx, unit);
    unit.assignedDone = true;
  }
}

/** Nodes where these primitives run now and may keep running without a restart. */
function healthyNodes(prims: WPrim[]): Set<number> {
  const out = new Set<number>();
  for (const p of prims) {
    const cur = currentNode(p);
    if (cur !== null && p.active[0]!.role !== 'failed' && p.restart === null) out.add(cur);
  }
  return out;
}

/** Scores and chain cuts common to single units and clones. */
function prepare(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit): { scores: number[]; cut: number[]; unsatisfied: { pos: number; reason: string }[]; stopped: string | null } {
  const scores = unit.base.slice();
  const cut = unit.cut.slice();
  let stopped: string | null = null;
  if (unit.targetRole === 'stopped') stopped = 'target-role is stopped';
  for (const chain of unit.instances) {
    for (const p of chain) {
      if (p.fatal !== null) {
        cutAll(cut, p.pos);
        if (p.pos === 0) stopped ??= p.fatal;
      }
      for (const n of p.bans.keys()) cut[n] = Math.min(cut[n]!, p.pos);
    }
  }
  // The first member's own target-role stopped (cut to 0 everywhere by unpack) stops the unit.
  if (unit.chain.length > 0 && unit.cut.every((c) => c === 0) && unit.chain[0]!.meta.targetRole === 'stopped') stopped ??= 'target-role is stopped';
  const unsatisfied = colocationForDependent(ws, idx, unit, scores, cut);
  dependentBans(ws, idx, unit, scores, cut);
  dependentPreferences(ws, idx, unit, scores, false);
  for (const o of idx.ordersByThen.get(unit.id) ?? []) {
    if (o.kind !== 'mandatory' || o.thenAction !== 'start') continue;
    if (o.firstAction !== 'start' && o.firstAction !== 'promote') continue;
    const first = ws.unitOf.get(o.first);
    if (!first || first === unit) continue;
    if (placedNodes(ws, o.first, o.firstAction === 'promote').size === 0) {
      const pos = ws.posOf.get(o.then) ?? 0;
      const reason = `mandatory order: ${o.first} ${o.firstAction === 'promote' ? 'is not promoted' : 'is not running'} (${o.id})`;
      // An asymmetric order only blocks starts: copies of `then` that run healthily may stay
      // where they are (Pacemaker: no "stop then before first" without symmetry); they may not
      // start anywhere else.
      const staying = o.symmetric ? new Set<number>() : healthyNodes(primsFor(ws, o.then));
      if (staying.size > 0) {
        for (let n = 0; n < cut.length; n++) {
          if (staying.has(n)) continue;
          if (pos === 0) scores[n] = -INFINITY;
          cut[n] = Math.min(cut[n]!, pos);
        }
        unsatisfied.push({ pos, reason });
      } else if (pos === 0) stopped ??= reason;
      else { cutAll(cut, pos); unsatisfied.push({ pos, reason }); }
    }
  }
  return { scores, cut, unsatisfied, stopped };
}

function assignSingle(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit): void {
  const chain = unit.instances[0]!;
  if (chain.every((p) => p.pinned !== null)) return;
  const blocked = chain.find((p) => p.blocked !== null)?.blocked ?? null;
  if (blocked !== null) {
    // Not startable anywhere while it may still run on a lost node; copies elsewhere are stopped.
    for (const p of chain) { p.target = null; p.whyStopped = `blocked: ${blocked}`; }
    unit.stoppedReason = `blocked: ${blocked}`;
    return;
  }
  const { scores, cut, unsatisfied, stopped } = prepare(ws, idx, unit);
  if (stopped !== null) {
    for (const p of chain) { p.target = null; p.whyStopped = stopped; }
    unit.stoppedReason = stopped;
    return;
  }
  // Stickiness: each member adds its stickiness to the node it runs on now.
  for (const p of chain) {
    const cur = currentNode(p);
    if (cur !== null) scores[cur] = addScores(scores[cur]!, stickinessOf(unit, p));
  }
  let prefer = -1;
  for (const p of chain) { const cur = currentNode(p); if (cur !== null) { prefer = cur; break; } }
  let best = -1;
  for (const n of ws.nodes) {
    const i = n.index;
    if (!n.canHost || cut[i]! < 1 || scores[i]! < 0) continue;
    if (best < 0 || better(ws, scores, cut, i, best, prefer)) best = i;
  }
  if (best < 0) {
    const reason = whyNowhere(ws, scores, cut, unsatisfied);
    for (const p of chain) { p.target = null; p.whyStopped = reason; }
    unit.stoppedReason = reason;
    return;
  }
  const nodeName = ws.nodes[best]!.name;
  for (const p of chain) {
    if (p.pos < cut[best]!) {
      p.target = { node: best, role: 'started' };
      ws.nodes[best]!.assigned++;
    } else {
      p.target = null;
      p.whyStopped = memberCutReason(p, best, unsatisfied, nodeName);
    }
  }
}

function assignClone(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit): void {
  const clone = unit.clone!;
  const { scores, cut, unsatisfied, stopped } = prepare(ws, idx, unit);
  const perNode = new Array<number>(ws.nodes.length).fill(0);
  let placed = 0;
  for (const chain of unit.instances) {
    const t = chain[0]!.target;
    if (chain[0]!.pinned !== null && t) { perNode[t.node]!++; placed++; }
    // An instance that may still run on a lost, unfenceable node keeps its slot: no extra copy.
    else if (chain[0]!.pinned === null && chain[0]!.blocked !== null) placed++;
  }
  const wanted = stopped !== null ? 0 : clone.max;
  const eligible = (i: number) => {
    const n = ws.nodes[i]!;
    return n.canHost && cut[i]! >= 1 && scores[i]! >= 0 && perNode[i]! < clone.maxPerNode;
  };
  const setChain = (chain: WPrim[], node: number) => {
    perNode[node]!++;
    placed++;
    for (const p of chain) {
      if (p.pos < cut[node]!) {
        p.target = { node, role: clone.promotable ? 'unpromoted' : 'started' };
        ws.nodes[node]!.assigned++;
      } else {
        p.target = null;
        p.whyStopped = memberCutReason(p, node, unsatisfied, ws.nodes[node]!.name);
      }
    }
  };
  const free: WPrim[][] = [];
  // Pass 1: instances stay where they run (clone stickiness), lowest instance numbers first.
  for (const chain of unit.instances) {
    if (chain[0]!.pinned !== null) continue;
    if (chain[0]!.blocked !== null) {
      for (const p of chain) { p.target = null; p.whyStopped = `blocked: ${p.blocked}`; }
      continue;
    }
    const cur = currentNode(chain[0]!);
    if (cur !== null && placed < wanted && eligible(cur)) setChain(chain, cur);
    else free.push(chain);
  }
  // Pass 2: the rest go to the best nodes, spreading instances (fewest of this clone first).
  for (const chain of free) {
    let best = -1;
    if (placed < wanted) {
      for (let i = 0; i < ws.nodes.length; i++) {
        if (!eligible(i)) continue;
        if (best < 0) { best = i; continue; }
        if (perNode[i] !== perNode[best]) { if (perNode[i]! < perNode[best]!) best = i; continue; }
        if (better(ws, scores, cut, i, best)) best = i;
      }
    }
    if (best >= 0) setChain(chain, best);
    else for (const p of chain) { p.target = null; }
  }
  if (placed === 0 && wanted > 0 && !primsOf(unit).some((p) => p.pinned !== null || p.blocked !== null)) {
    unit.stoppedReason = whyNowhere(ws, scores, cut, unsatisfied);
  } else if (stopped !== null) unit.stoppedReason = stopped;
  if (clone.promotable) assignPromotion(ws, idx, unit);
}
