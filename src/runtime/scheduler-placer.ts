// The real scheduler (src/core/scheduler) as the cluster core's Placer (src/core/cluster/placement.ts):
// the coordinator asks it where every primitive should run and commits that as placements.
//
// The scheduler plans a whole transition (stops, fences, starts with their order); the core only
// needs the end state, which the plan carries as `target`. Kept deliberately narrow:
// - without quorum in the snapshot it answers nothing (everything is left as it is), so that a
//   coordinator that is still gathering its leader lease never takes resources off their nodes;
// - primitives only (members of groups included): clone instances ("child:0") are not core
//   placements yet, so clones are left to the core's default (untouched).
// Pure and deterministic, like everything the core calls.

import type { NodeName, ResourceId } from '../config/types.js';
import { defaultPlacer, type Placer } from '../core/cluster/placement.js';
import { schedule } from '../core/scheduler/index.js';

export const schedulerPlacer: Placer = (snapshot, config, _current) => {
  const out = new Map<ResourceId, NodeName | null>();
  if (!snapshot.quorate) return out;
  const cloned = new Set<ResourceId>();
  for (const r of Object.values(config.resources)) {
    if (r.type !== 'clone') continue;
    const child = config.resources[r.child];
    cloned.add(r.child);
    if (child?.type === 'group') for (const m of child.members) cloned.add(m);
  }
  const plan = schedule(snapshot, config, snapshot.now);
  const target = new Map<ResourceId, NodeName>();
  for (const t of plan.target) if (!target.has(t.resource)) target.set(t.resource, t.node);
  for (const [id, r] of Object.entries(config.resources)) {
    if (r.type !== 'primitive' || cloned.has(id)) continue;
    if (!r.meta.managed) continue;
    out.set(id, target.get(id) ?? null);
  }
  return out;
};

export type PlacerName = 'scheduler' | 'default';

export function placerNamed(name: PlacerName): Placer {
  return name === 'scheduler' ? schedulerPlacer : defaultPlacer;
}

export { defaultPlacer };
