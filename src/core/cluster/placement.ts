// Placement is pluggable: the coordinator asks a Placer where each resource should run, given the
// ClusterSnapshot (src/core/snapshot.ts) it builds from the replicated state and the members'
// reports. The real scheduler (src/core/scheduler, issue 4) plugs in here; `defaultPlacer` is the
// simple policy used until then and by the simulator.

import type { CompiledConfig, NodeName, ResourceId } from '../../config/types.js';
import { INFINITY } from '../../config/types.js';
import type { ClusterSnapshot } from '../snapshot.js';

/**
 * Desired location of each resource the placer manages (null: stopped). Resources absent from the
 * map are left as they are. `current` is the committed placement.
 */
export type Placer = (
  snapshot: ClusterSnapshot,
  config: CompiledConfig,
  current: ReadonlyMap<ResourceId, NodeName>,
) => Map<ResourceId, NodeName | null>;

/**
 * Primitives only (groups and clones are the scheduler's): keep the current node while it is
 * eligible (stickiness), otherwise the least-loaded eligible node, ties broken by name. Eligible:
 * online, not standby, not banned, below the migration threshold, not forbidden by a location
 * constraint with −INFINITY.
 */
export const defaultPlacer: Placer = (snapshot, config, current) => {
  const out = new Map<ResourceId, NodeName | null>();
  const online = snapshot.nodes.filter((n) => n.state === 'online' && !n.standby && !n.maintenance).map((n) => n.name);
  online.sort();
  const load = new Map<NodeName, number>(online.map((n) => [n, 0]));
  for (const [, n] of current) if (load.has(n)) load.set(n, load.get(n)! + 1);
  const ids = Object.keys(config.resources).sort();
  for (const id of ids) {
    const r = config.resources[id]!;
    if (r.type !== 'primitive') continue;
    if (!r.meta.managed) continue;
    if (r.meta.targetRole === 'stopped') {
      out.set(id, null);
      continue;
    }
    const eligible = (n: NodeName) => {
      if (!load.has(n)) return false;
      if (snapshot.bans.some((b) => b.resource === id && b.node === n && b.score <= -INFINITY)) return false;
      if (config.constraints.location.some((c) => c.resource === id && c.node === n && c.score <= -INFINITY)) return false;
      const threshold = r.meta.migrationThreshold;
      if (threshold > 0) {
        const f = snapshot.failures.find((x) => x.resource === id && x.node === n);
        if (f && f.count >= threshold) return false;
      }
      return true;
    };
    const cur = current.get(id);
    if (cur !== undefined && eligible(cur)) {
      out.set(id, cur);
      continue;
    }
    let best: NodeName | null = null;
    for (const n of online) {
      if (!eligible(n)) continue;
      if (best === null || load.get(n)! < load.get(best)!) best = n;
    }
    if (cur !== undefined && load.has(cur)) load.set(cur, load.get(cur)! - 1);
    if (best !== null) load.set(best, load.get(best)! + 1);
    out.set(id, best);
  }
  return out;
};
