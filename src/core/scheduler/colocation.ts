// Colocation (Pacemaker's pcmk_sched_colocation.c): where a dependent may run given where its
// primary was placed. A mandatory (+INFINITY) colocation restricts the dependent to the primary's
// nodes; -INFINITY forbids them; finite scores add preferences. Primaries are placed first, and a
// primary's own choice takes its dependents' location preferences into account, scaled by
// score / INFINITY, so that "web with db" plus "web prefers n2" moves db to n2 as well.

import type { ColocationConstraint, OrderConstraint, ResourceId } from '../../config/types.js';
import { addScores, INFINITY, scaleScore } from './scores.js';
import type { WUnit, WorkingSet } from './working-set.js';

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
 * reaches the promotion choice). Bans (-INFINITY) do not travel: they restrict only their unit.
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

/** A primary leans towards where its positively colocated dependents would like to be. */
export function dependentPreferences(ws: WorkingSet, idx: ConstraintIndex, unit: WUnit, scores: number[], promotedRole: boolean): void {
  for (const c of idx.colocByPrimary.get(unit.id) ?? []) {
    if (c.score <= 0) continue;
    if ((c.withRole === 'promoted') !== promotedRole) continue;
    const dep = ws.unitOf.get(c.resource)!;
    if (dep === unit || dep.assignedDone) continue;
    addScaled(scores, preferencesOf(ws, idx, dep, new Set([unit.id])), Math.min(1, c.score / INFINITY));
  }
}
