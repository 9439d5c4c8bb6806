// Stage 8: create the graph (Pacemaker's create_graph). Deduplicates edges, orders the actions
// topologically (ties broken by action kind, then key, so the same input always gives the same
// plan), numbers them, and collects what the plan leaves stopped and why.

import type { Plan, PlanAction, PlanActionType, PlanEdge, StoppedReason } from './types.js';
import type { WorkingSet } from './working-set.js';
import { primsOf } from './working-set.js';

/** Thrown when ordering produced a cycle: a scheduler bug or constraints validation let through. */
export class PlanCycleError extends Error {
  constructor(readonly actions: string[]) {
    super(`ordering cycle between plan actions: ${actions.slice(0, 10).join(', ')}${actions.length > 10 ? ', …' : ''}`);
    this.name = 'PlanCycleError';
  }
}

const RANK: Record<PlanActionType, number> = {
  fence: 0, storage_blocklist: 1, storage_break_lock: 2, storage_outdate_peer: 2, demote: 3, stop: 4,
  migrate_to: 5, migrate_from: 6, start: 7, promote: 8, monitor: 9,
};

function cmp(a: PlanAction, b: PlanAction): number {
  return RANK[a.type] - RANK[b.type] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** A binary min-heap of integers (action priorities), for Kahn's algorithm. */
class IntHeap {
  private items: number[] = [];
  get size(): number { return this.items.length; }
  push(v: number): void {
    const h = this.items;
    h.push(v);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= v) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = v;
  }
  pop(): number {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = last, mi = -1;
        if (l < h.length && h[l]! < m) { m = h[l]!; mi = l; }
        if (r < h.length && h[r]! < m) { m = h[r]!; mi = r; }
        if (mi < 0) break;
        h[i] = m;
        i = mi;
      }
      h[i] = last;
    }
    return top;
  }
}

export function createGraph(ws: WorkingSet): Plan {
  // Sort once by (kind, key): an action's position is its priority among ready actions, so the
  // heap compares integers and the order is deterministic.
  const all = [...ws.actions.values()].sort(cmp);
  const n = all.length;
  const pos = new Map<string, number>();
  for (let i = 0; i < n; i++) pos.set(all[i]!.key, i);
  const succ: number[][] = Array.from({ length: n }, () => []);
  const indeg = new Int32Array(n);
  const seen = new Set<number>();
  for (const [ka, kb] of ws.edges) {
    const a = pos.get(ka), b = pos.get(kb);
    if (a === undefined || b === undefined || a === b) continue;
    const id = a * n + b;
    if (seen.has(id)) continue;
    seen.add(id);
    succ[a]!.push(b);
    indeg[b]!++;
  }
  const heap = new IntHeap();
  for (let i = 0; i < n; i++) if (indeg[i] === 0) heap.push(i);
  const ordered: PlanAction[] = [];
  while (heap.size > 0) {
    const i = heap.pop();
    const a = all[i]!;
    a.id = ordered.length;
    ordered.push(a);
    for (const j of succ[i]!) if (--indeg[j]! === 0) heap.push(j);
  }
  if (ordered.length !== n) {
    throw new PlanCycleError(all.filter((_, i) => indeg[i]! > 0).map((a) => a.key).sort());
  }
  const edges: PlanEdge[] = [];
  for (let i = 0; i < n; i++) for (const j of succ[i]!) edges.push({ before: all[i]!.id, after: all[j]!.id });
  edges.sort((x, y) => x.before - y.before || x.after - y.after);

  const stopped: StoppedReason[] = [];
  const target: Plan['target'] = [];
  for (const unit of [...ws.units].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (unit.stoppedReason !== null) stopped.push({ resource: unit.id, reason: unit.stoppedReason });
    for (const p of primsOf(unit)) {
      if (p.target) target.push({ resource: p.id, node: ws.nodes[p.target.node]!.name, role: p.target.role });
      // A pinned primitive active on several nodes (multiple-active=block, unmanaged) stays on each.
      if (p.target && p.pinned !== null) {
        for (const c of p.active) {
          if (c.node !== p.target.node) target.push({ resource: p.id, node: ws.nodes[c.node]!.name, role: c.role === 'failed' ? p.target.role : c.role });
        }
      }
      else if (unit.stoppedReason === null && p.whyStopped !== null && p.pinned === null) {
        stopped.push({ resource: p.id, reason: p.whyStopped });
      }
    }
  }
  for (const unit of ws.units) {
    const blocked = primsOf(unit).find((p) => p.blocked !== null && p.pinned === null);
    if (blocked) ws.notes.push(`${unit.id}: blocked: ${blocked.blocked}`);
    const pinned = primsOf(unit).find((p) => p.pinned !== null && (p.active.length > 0 || p.onLost.length > 0 || p.restart !== null));
    if (pinned && pinned.pinned !== 'unmanaged' && pinned.pinned !== 'cluster maintenance mode' && !pinned.pinned!.startsWith('node ')) {
      ws.notes.push(`${unit.id}: blocked: ${pinned.pinned}`);
    } else if (pinned && pinned.pinned!.startsWith('node ') && pinned.onLost.length > 0) {
      ws.notes.push(`${unit.id}: blocked: ${pinned.pinned}`);
    }
  }
  target.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const notes = [...new Set(ws.notes)];
  let recheckAt = ws.recheckAt;
  for (const a of ordered) if (a.notBefore !== undefined && (recheckAt === null || a.notBefore < recheckAt)) recheckAt = a.notBefore;
  return { now: ws.now, actions: ordered, edges, stopped, expiredFailures: ws.expiredFailures, keepStopped: ws.keepStopped, recheckAt, target, notes };
}
