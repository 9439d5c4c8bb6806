// Promotable clones (Pacemaker's pcmk_sched_promotable.c): after the instances are placed, up to
// promotedMax of them (promotedMaxPerNode per node) are promoted: the DRBD primary, the RBD
// exclusive-lock owner. Promotion scores come from role-specific location constraints, the
// agents' "promotion-<child>" node attributes, role-specific colocations, the preferences of
// resources colocated with the promoted role, and stickiness for the instance promoted now.
// A promoted instance that is pinned (unmanaged, maintenance) or blocked (on an unfenceable lost node) still
// counts: there is never a second primary while the first may be alive.

import type { ConstraintIndex } from './colocation.js';
import { dependentPreferences, placedNodes } from './colocation.js';
import { addScores, INFINITY } from './scores.js';
import type { WUnit, WorkingSet } from './working-set.js';

export function assignPromotion(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit): void {
  const clone = unit.clone!;
  const scores = unit.promotion.slice();
  dependentPreferences(ws, idx, unit, scores, true);
  for (const c of idx.colocByDependent.get(unit.id) ?? []) {
    if (c.role !== 'promoted') continue;
    const primary = ws.unitOf.get(c.with)!;
    if (primary === unit) continue;
    const nodes = placedNodes(ws, c.with, c.withRole === 'promoted');
    for (let n = 0; n < scores.length; n++) {
      const inP = nodes.has(n);
      if (c.score >= INFINITY && !inP) scores[n] = -INFINITY;
      else if (c.score <= -INFINITY && inP) scores[n] = -INFINITY;
      else if (inP && Math.abs(c.score) < INFINITY) scores[n] = addScores(scores[n]!, c.score);
    }
  }
  const perNode = new Array<number>(ws.nodes.length).fill(0);
  let promoted = 0;
  // Pinned promoted instances, and promoted instances on lost nodes that are not yet safe, count.
  for (const chain of unit.instances) {
    const p = chain[0]!;
    if (p.pinned !== null && p.target?.role === 'promoted') { perNode[p.target.node]!++; promoted++; }
    else if ((p.pinned !== null || p.blocked !== null) && p.onLost.some((c) => c.role === 'promoted')) promoted++;
  }
  const allowed = unit.targetRole === 'unpromoted' || unit.targetRole === 'stopped' ? 0 : clone.promotedMax;
  const candidates = unit.instances
    .filter((chain) => chain[0]!.pinned === null && chain[0]!.target !== null)
    .map((chain) => {
      const p = chain[0]!;
      const node = p.target!.node;
      const now = p.active.length === 1 && p.active[0]!.node === node && p.active[0]!.role === 'promoted';
      // Running now, healthy, and not about to restart: on a tie, promote such an instance rather
      // than one being recovered (like Pacemaker, a failed primary hands over to a healthy peer).
      const healthy = p.active.length === 1 && p.active[0]!.node === node && p.active[0]!.role !== 'failed' && p.restart === null;
      const score = now ? addScores(scores[node]!, Math.max(unit.stickiness, p.def.meta.stickiness)) : scores[node]!;
      return { chain, node, now, healthy, score };
    })
    .filter((c) => c.score >= 0)
    .sort((a, b) => b.score - a.score || Number(b.now) - Number(a.now) || Number(b.healthy) - Number(a.healthy) ||
      (ws.nodes[a.node]!.name < ws.nodes[b.node]!.name ? -1 : ws.nodes[a.node]!.name > ws.nodes[b.node]!.name ? 1 : 0));
  for (const c of candidates) {
    if (promoted >= allowed) break;
    if (perNode[c.node]! >= clone.promotedMaxPerNode) continue;
    perNode[c.node]!++;
    promoted++;
    for (const p of c.chain) if (p.target) p.target.role = 'promoted';
  }
  if (allowed > 0 && promoted === 0 && unit.stoppedReason === null) {
    ws.notes.push(`${unit.id}: no instance can be promoted`);
  }
}
