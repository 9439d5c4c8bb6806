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

/** A small binary heap: Kahn's algorithm with a deterministic choice among ready actions. */
class Heap {
  private items: PlanAction[] = [];
  get size(): number { return this.items.length; }
  push(a: PlanAction): void {
    const h = this.items;
    h.push(a);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (cmp(h[i]!, h[parent]!) >= 0) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): PlanAction {
    const h = this.items;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && cmp(h[l]!, h[m]!) < 0) m = l;
        if (r < h.length && cmp(h[r]!, h[m]!) < 0) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

export function createGraph(ws: WorkingSet): Plan {
  const all = [...ws.actions.values()];
  const succ = new Map<string, Set<string>>();
  const indeg = new Map<string, number>(all.map((a) => [a.key, 0]));
  for (const [a, b] of ws.edges) {
    if (!ws.actions.has(a) || !ws.actions.has(b) || a === b) continue;
    let s = succ.get(a);
    if (!s) succ.set(a, (s = new Set()));
    if (s.has(b)) continue;
    s.add(b);
    indeg.set(b, indeg.get(b)! + 1);
  }
  const heap = new Heap();
  for (const a of all) if (indeg.get(a.key) === 0) heap.push(a);
  const ordered: PlanAction[] = [];
  while (heap.size > 0) {
    const a = heap.pop();
    a.id = ordered.length;
    ordered.push(a);
    for (const b of succ.get(a.key) ?? []) {
      const d = indeg.get(b)! - 1;
      indeg.set(b, d);
      if (d === 0) heap.push(ws.actions.get(b)!);
    }
  }
  if (ordered.length !== all.length) {
    throw new PlanCycleError(all.filter((a) => indeg.get(a.key)! > 0).map((a) => a.key).sort());
  }
  const edges: PlanEdge[] = [];
  for (const [a, bs] of succ) {
    const before = ws.actions.get(a)!.id;
    for (const b of bs) edges.push({ before, after: ws.actions.get(b)!.id });
  }
  edges.sort((x, y) => x.before - y.before || x.after - y.after);

  const stopped: StoppedReason[] = [];
  const target: Plan['target'] = [];
  for (const unit of [...ws.units].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (unit.stoppedReason !== null) stopped.push({ resource: unit.id, reason: unit.stoppedReason });
    for (const p of primsOf(unit)) {
      if (p.target) target.push({ resource: p.id, node: ws.nodes[p.target.node]!.name, role: p.target.role });
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
  target.sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  const notes = [...new Set(ws.notes)];
  return { now: ws.now, actions: ordered, edges, stopped, expiredFailures: ws.expiredFailures, target, notes };
}
