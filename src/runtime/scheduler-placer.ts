// The real scheduler (src/core/scheduler) as the cluster core's Placer (src/core/cluster/placement.ts):
// the coordinator asks it where every primitive should run and commits that as placements.
//
// The scheduler plans a whole transition (stops, fences, starts with their order); the core only
// needs the end state, which the plan carries as `target`. Kept deliberately narrow:
// - without quorum in the snapshot it answers nothing (everything is left as it is), so that a
//   coordinator that is still gathering its leader lease never takes resources off their nodes;
// - primitives only (members of groups included): clone instances ("child:0") are not core
//   placements yet, so clones are left to the core's default (untouched).
// Deterministic like everything the core calls. The coordinator consults its placer on every tick,
// so the last answer is reused while the input (snapshot without its time, and the configuration)
// is unchanged and the plan asked for no recheck before now; every input actually scheduled can be
// handed to a recorder (`tsha simulate --input` replays it).

import type { CompiledConfig, NodeName, ResourceId } from '../config/types.js';
import { defaultPlacer, type Placer } from '../core/cluster/placement.js';
import { schedule, type SchedulerInput } from '../core/scheduler/index.js';
import type { ClusterSnapshot } from '../core/snapshot.js';

export interface SchedulerPlacerOptions {
  /** called with every input that was actually scheduled (not the reused ones) */
  onInput?: (input: SchedulerInput) => void;
}

export function createSchedulerPlacer(opts: SchedulerPlacerOptions = {}): Placer {
  let last: { snapshot: ClusterSnapshot; config: CompiledConfig; recheckAt: number | null; out: Map<ResourceId, NodeName | null> } | null = null;
  return (observedSnapshot, config, current) => {
    if (!observedSnapshot.quorate) return new Map();
    // A committed placement whose holder has not reported the resource yet (it is starting, or the
    // report is one heartbeat away) counts as running there: otherwise the scheduler sees it
    // nowhere, ignores stickiness, and may pick another node, moving the resource right after it
    // was placed. Only for resources observed nowhere, so no second copy is ever invented.
    const seen = new Set(observedSnapshot.observations.map((o) => o.resource));
    const intended = [...current].filter(([r]) => !seen.has(r)).map(([resource, node]) => ({ resource, node, role: 'started' as const }));
    const snapshot = intended.length === 0 ? observedSnapshot : { ...observedSnapshot, observations: [...observedSnapshot.observations, ...intended] };
    // The comparison leaves out what changes at every heartbeat without mattering to the scheduler:
    // `now` (time-driven decisions come back through recheckAt) and an online node's lease expiry
    // (read only for lost nodes, fencing.ts). Otherwise an idle coordinator would schedule, and
    // record an input file, at every tick.
    if (last && last.config === config && (last.recheckAt === null || snapshot.now < last.recheckAt) && sameSchedulingInput(last.snapshot, snapshot)) return new Map(last.out);
    const cloned = new Set<ResourceId>();
    for (const r of Object.values(config.resources)) {
      if (r.type !== 'clone') continue;
      const child = config.resources[r.child];
      cloned.add(r.child);
      if (child?.type === 'group') for (const m of child.members) cloned.add(m);
    }
    const plan = schedule(snapshot, config, snapshot.now);
    opts.onInput?.({ snapshot, config, now: snapshot.now });
    const target = new Map<ResourceId, NodeName>();
    for (const t of plan.target) if (!target.has(t.resource)) target.set(t.resource, t.node);
    const out = new Map<ResourceId, NodeName | null>();
    for (const [id, r] of Object.entries(config.resources)) {
      if (r.type !== 'primitive' || cloned.has(id)) continue;
      if (!r.meta.managed) continue;
      out.set(id, target.get(id) ?? null);
    }
    last = { snapshot, config, recheckAt: plan.recheckAt, out };
    return new Map(out);
  };
}

/**
 * Whether two snapshots ask the scheduler the same question: equal as data, except `now` and the
 * lease expiry of a node online in both. Compared in place, without building a key: the
 * coordinator asks at every heartbeat (a JSON key of the whole snapshot was a visible share of an
 * idle coordinator's CPU and allocations, docs/agent.md "Idle cost").
 */
export function sameSchedulingInput(a: ClusterSnapshot, b: ClusterSnapshot): boolean {
  if (!sameFields(a, b, (k) => k === 'now' || k === 'nodes')) return false;
  if (a.nodes.length !== b.nodes.length) return false;
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i]!;
    const y = b.nodes[i]!;
    const bothOnline = x.state === 'online' && y.state === 'online';
    if (!sameFields(x, y, (k) => bothOnline && k === 'leaseExpiredAt')) return false;
  }
  return true;
}

/** Same own enumerable fields (an undefined one counts as absent, as in JSON), but for `skip`, and equal as data. */
function sameFields(a: object, b: object, skip: (key: string) => boolean): boolean {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k in ra) if (!skip(k) && !sameData(ra[k], rb[k])) return false;
  for (const k in rb) if (!skip(k) && ra[k] === undefined && rb[k] !== undefined) return false;
  return true;
}

/** Deep equality of JSON-like data (plain objects, arrays, primitives). */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  return sameFields(a, b, () => false);
}

/** A placer without memory between agents (tests, `--placer scheduler` without recording). */
export const schedulerPlacer: Placer = (snapshot, config, current) => createSchedulerPlacer()(snapshot, config, current);

export type PlacerName = 'scheduler' | 'default';

export function placerNamed(name: PlacerName, opts: SchedulerPlacerOptions = {}): Placer {
  return name === 'scheduler' ? createSchedulerPlacer(opts) : defaultPlacer;
}

export { defaultPlacer };
