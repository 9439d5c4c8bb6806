// Colocation (Pacemaker's pcmk_sched_colocation.c): where a dependent may run given where its
// primary was placed. A mandatory (+INFINITY) colocation restricts the dependent to the primary's
// nodes; -INFINITY forbids them; finite scores add preferences. Primaries are placed first, and a
// primary's own choice takes its dependents' location preferences into account, scaled by
// score / INFINITY, so that "web with db" plus "web prefers n2" moves db to n2 as well.

import type { ColocationConstraint, OrderConstraint, ResourceId } from '../../config/types.js';
import { addScores, INFINITY, scaleScore } from './scores.js';
import type { WUnit, WorkingSet } from './working-set.js';
import { currentNode, stickinessOf } from './working-set.js';

export interface ConstraintIndex {
  colocByDependent: Map<ResourceId, ColocationConstraint[]>;
  colocByPrimary: Map<ResourceId, ColocationConstraint[]>;
  ordersByThen: Map<ResourceId, OrderConstraint[]>;
  /** memo: a unit's location preferences plus those of its dependents, transitively */
  prefCache: Map<ResourceId, number[]>;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export function indexConstraints(ws: WorkingSet): ConstraintIndex {
  const idx: ConstraintIndex = { colocByDependent: new Map(), colocByPrimary: new Map(), ordersByThen: new Map(), prefCache: new Map() };
  for (const c of ws.config.constraints.colocation) {
    const d = ws.unitOf.get(c.resource);
    const p = ws.unitOf.get(c.with);
    if (!d || !p) continue;
    push(idx.colocByDependent, d.id, c);
    push(idx.colocByPrimary, p.id, c);
  }
  for (const o of ws.config.constraints.order) {
    const t = ws.unitOf.get(o.then);
    if (t) push(idx.ordersByThen, t.id, o);
  }
  return idx;
}

/** Nodes where `resource` will be active after the plan (promoted instances only if asked). */
export function placedNodes(ws: WorkingSet, resource: ResourceId, promotedOnly: boolean): Set<number> {
  const unit = ws.unitOf.get(resource)!;
  const pos = ws.posOf.get(resource) ?? 0;
  const out = new Set<number>();
  for (const chain of unit.instances) {
    const t = chain[pos]!.target;
    if (t && (!promotedOnly || t.role === 'promoted')) out.add(t.node);
  }
  return out;
}

export interface ColocationEffect {
  /** per node score additions for the unit */
  scores: number[];
  /** per node chain cut (members at or after the cut may not run there) */
  cut: number[];
  /** a mandatory colocation whose primary is not active at all: the unit (from cut pos) cannot run */
  unsatisfied: { pos: number; reason: string }[];
}

/** Apply every colocation in which `unit` is the dependent (non-role-specific ones). */
export function colocationForDependent(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit, scores: number[], cut: number[]): ColocationEffect['unsatisfied'] {
  const unsatisfied: ColocationEffect['unsatisfied'] = [];
  for (const c of idx.colocByDependent.get(unit.id) ?? []) {
    if (c.role === 'promoted' && unit.clone?.promotable) continue; // handled by promotion
    const primary = ws.unitOf.get(c.with)!;
    if (primary === unit) continue; // group-internal
    const pos = ws.posOf.get(c.resource) ?? 0;
    const nodes = placedNodes(ws, c.with, c.withRole === 'promoted');
    const what = c.withRole === 'promoted' ? `the promoted ${c.with}` : c.with;
    if (c.score >= INFINITY) {
      if (nodes.size === 0) unsatisfied.push({ pos, reason: `mandatory colocation with ${what} cannot be satisfied (${what} is not active)` });
      for (let n = 0; n < scores.length; n++) {
        if (nodes.has(n)) continue;
        if (pos === 0) scores[n] = -INFINITY;
        cut[n] = Math.min(cut[n]!, pos);
      }
    } else if (c.score <= -INFINITY) {
      for (const n of nodes) {
        if (pos === 0) scores[n] = -INFINITY;
        cut[n] = Math.min(cut[n]!, pos);
      }
    } else {
      for (const n of nodes) scores[n] = addScores(scores[n]!, c.score);
    }
  }
  return unsatisfied;
}

/**
 * A unit's own location preferences plus, scaled by score / INFINITY, those of the units
 * positively colocated with it, transitively (pg with fs with the DRBD primary: pg's preference
 * reaches the promotion choice). Bans (-INFINITY) travel separately, along mandatory colocations
 * only (dependentBans).
 */
function preferencesOf(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit, visiting: Set<string>): number[] {
  const cached = idx.prefCache.get(unit.id);
  if (cached) return cached;
  const out = unit.base.slice();
  visiting.add(unit.id);
  for (const c of idx.colocByPrimary.get(unit.id) ?? []) {
    if (c.score <= 0 || c.withRole === 'promoted') continue;
    const dep = ws.unitOf.get(c.resource)!;
    if (dep === unit || visiting.has(dep.id)) continue;
    addScaled(out, preferencesOf(ws, idx, dep, visiting), Math.min(1, c.score / INFINITY));
  }
  visiting.delete(unit.id);
  idx.prefCache.set(unit.id, out);
  return out;
}

function addScaled(into: number[], from: number[], factor: number): void {
  for (let n = 0; n < into.length; n++) {
    const d = from[n]!;
    if (d <= -INFINITY || d === 0) continue;
    into[n] = addScores(into[n]!, scaleScore(d, factor));
  }
}

/**
 * Pacemaker's scaling of a dependent's node score into its primary's (add_node_scores_matching_attr):
 * rounded half away from zero, and never rounded away entirely (a non-zero score moves the
 * primary by at least one point, so a tie is broken by it).
 */
function scaleAway(score: number, factor: number): number {
  const f = score * factor;
  const w = f < 0 ? Math.ceil(f - 0.5) : Math.floor(f + 0.5);
  if (w === 0 && score !== 0) return factor > 0 ? 1 : -1;
  return w;
}

/** Where a (non-clone) unit would like to stay before colocation: its location scores plus stickiness. */
function ownPreferences(unit: WUnit): number[] {
  const out = unit.base.slice();
  if (unit.clone) return out;
  for (const p of unit.instances[0] ?? []) {
    const cur = currentNode(p);
    if (cur !== null) out[cur] = addScores(out[cur]!, stickinessOf(unit, p));
  }
  return out;
}

/**
 * Bans travel along mandatory colocation (Pacemaker merges a dependent's node scores, -INFINITY
 * included, into its primary's before placing the primary): when `dep` must run with `unit` and
 * `dep` may not run on a node (a -INFINITY location or operator ban, a member's ban, failures past
 * migration-threshold, a hard error), `unit` avoids that node too, so both can run. Like
 * Pacemaker's rollback of optional scores, a dependent's bans that would leave `unit` nowhere to
 * run are not applied (the primary is placed, the dependent stays stopped). Group members are
 * merged one at a time, first to last, and the merge stops at the first member rolled back, as
 * Pacemaker's chain of member colocations does; the dependent's own mandatory dependents follow.
 * Clones on either side and role-specific colocations are left to their own rules.
 */
export function dependentBans(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit, scores: number[], cut: number[]): void {
  if (unit.clone || !idx.colocByPrimary.has(unit.id)) return;
  const runnable = () => {
    for (let i = 0; i < scores.length; i++) if (ws.nodes[i]!.canHost && cut[i]! >= 1 && scores[i]! >= 0) return true;
    return false;
  };
  const visiting = new Set<string>([unit.id]);
  const mergeDependents = (primary: WUnit): void => {
    for (const c of idx.colocByPrimary.get(primary.id) ?? []) {
      if (c.score < INFINITY || c.role === 'promoted' || c.withRole === 'promoted') continue;
      const dep = ws.unitOf.get(c.resource)!;
      if (dep === primary || dep.clone || dep.assignedDone || visiting.has(dep.id)) continue;
      const chain = dep.instances[0]!;
      // A dependent that will not run (disabled, unmanaged, blocked) moves nothing.
      if (dep.targetRole === 'stopped' || chain.some((p) => p.pinned !== null || p.blocked !== null)) continue;
      visiting.add(dep.id);
      let merged = true;
      const banned = new Set<number>();
      for (const p of chain) {
        if (p.fatal !== null) { merged = false; break; }
        const add: number[] = [];
        for (let n = 0; n < scores.length; n++) {
          if (banned.has(n)) continue;
          if (dep.cut[n]! <= p.pos || p.bans.has(n)) add.push(n);
        }
        const saved = add.map((n) => scores[n]!);
        for (const n of add) scores[n] = -INFINITY;
        if (!runnable()) {
          add.forEach((n, k) => { scores[n] = saved[k]!; });
          merged = false;
          break;
        }
        for (const n of add) banned.add(n);
      }
      if (merged) mergeDependents(dep);
      visiting.delete(dep.id);
    }
  };
  mergeDependents(unit);
}

/**
 * A primary leans towards where its positively colocated dependents would like to be, and away
 * from where a dependent scored apart from it (finite negative score) would like to stay, so the
 * primary is not placed on a dependent's node only to push the dependent off it. Like Pacemaker,
 * only the dependent's positive preferences push (one that avoids a node does not attract the
 * primary there); a -INFINITY colocation only acts on the dependent.
 */
export function dependentPreferences(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit, scores: number[], promotedRole: boolean): void {
  for (const c of idx.colocByPrimary.get(unit.id) ?? []) {
    if (c.score === 0 || c.score <= -INFINITY) continue;
    if ((c.withRole === 'promoted') !== promotedRole) continue;
    const dep = ws.unitOf.get(c.resource)!;
    if (dep === unit || dep.assignedDone) continue;
    if (c.score > 0) {
      addScaled(scores, preferencesOf(ws, idx, dep, new Set([unit.id])), Math.min(1, c.score / INFINITY));
      continue;
    }
    const factor = c.score / INFINITY;
    const own = ownPreferences(dep);
    for (let n = 0; n < scores.length; n++) {
      const d = own[n]!;
      if (d <= 0) continue;
      scores[n] = addScores(scores[n]!, scaleAway(d, factor));
    }
  }
}
