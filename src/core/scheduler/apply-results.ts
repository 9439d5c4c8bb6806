// What the cluster looks like after a plan ran: the next snapshot, derived from the action results
// (crm_simulate's "Revised Cluster Status"). Used by `tsha simulate`, the golden scenarios and the
// cluster simulator. Fail counts and bans follow from the results, as values:
//   error / timeout   → the resource is failed there, fail count + 1
//   errorHard / notInstalled → also "hard": not on this node again until cleaned up
//   errorFatal        → "fatal": not on any node until cleaned up
//   a failed stop     → recorded; the next plan fences the node (or blocks the resource)

import type { CompiledConfig } from '../../config/types.js';
import type { ClusterSnapshot, FailureRecord, ResourceObservation, ResourceRole } from '../snapshot.js';
import type { ActionResult, Plan, PlanAction } from './types.js';

export function baseId(config: CompiledConfig, id: string): string {
  if (config.resources[id]) return id;
  const m = /^(.*):(\d+)$/.exec(id);
  return m && config.resources[m[1]!] ? m[1]! : id;
}

export function isPromotable(config: CompiledConfig, id: string): boolean {
  const base = baseId(config, id);
  for (const r of Object.values(config.resources)) {
    if (r.type !== 'clone' || !r.promotable) continue;
    if (r.child === base) return true;
    const child = config.resources[r.child];
    if (child?.type === 'group' && child.members.includes(base)) return true;
  }
  return false;
}

export function applyResults(
  snapshot: ClusterSnapshot, config: CompiledConfig, plan: Plan,
  results: { actionId: number; result: ActionResult; at?: number }[], now: number,
): ClusterSnapshot {
  const next: ClusterSnapshot = structuredClone(snapshot);
  next.now = now;
  const obsKey = (r: string, n: string) => `${r}\u0000${n}`;
  const obs = new Map<string, ResourceObservation>(next.observations.map((o) => [obsKey(o.resource, o.node), o]));
  const setRole = (resource: string, node: string, role: ResourceRole | null) => {
    const k = obsKey(resource, node);
    if (role === null) obs.delete(k);
    else obs.set(k, { resource, node, role });
  };
  const fail = (a: PlanAction, result: ActionResult, at: number) => {
    const resource = a.resource!;
    let f = next.failures.find((x) => x.resource === resource && x.node === a.node && x.operation === a.type);
    if (!f) {
      f = { resource, node: a.node, operation: a.type, count: 0, lastFailureAt: at } satisfies FailureRecord;
      next.failures.push(f);
    }
    f.count += 1;
    f.lastFailureAt = at;
    if (result.status === 'errorHard' || result.status === 'notInstalled') f.hard = true;
    if (result.status === 'errorFatal') f.fatal = true;
  };
  for (const { actionId, result, at } of results) {
    const a = plan.actions[actionId]!;
    const when = at ?? now;
    const ok = result.status === 'ok';
    if (a.type === 'fence') {
      if (ok) {
        const n = next.nodes.find((x) => x.name === a.node);
        if (n) n.state = 'offline';
        for (const [k, o] of obs) if (o.node === a.node) obs.delete(k);
        if (!next.fenced.includes(a.node)) next.fenced.push(a.node);
      }
      continue;
    }
    if (a.resource === null || a.type.startsWith('storage_')) continue;
    const promotable = isPromotable(config, a.resource);
    if (!ok) {
      fail(a, result, when);
      if (a.type === 'migrate_from' || a.type === 'start' || a.type === 'promote' || a.type === 'demote' || a.type === 'monitor' || a.type === 'stop') {
        setRole(a.resource, a.node, 'failed');
      }
      continue;
    }
    switch (a.type) {
      case 'start': setRole(a.resource, a.node, promotable ? 'unpromoted' : 'started'); break;
      case 'stop': setRole(a.resource, a.node, null); break;
      case 'promote': setRole(a.resource, a.node, 'promoted'); break;
      case 'demote': setRole(a.resource, a.node, 'unpromoted'); break;
      case 'migrate_to': break;
      case 'migrate_from': {
        for (const [k, o] of obs) if (o.resource === a.resource && o.node !== a.node) obs.delete(k);
        setRole(a.resource, a.node, 'started');
        break;
      }
      default: break;
    }
  }
  next.observations = [...obs.values()].sort((x, y) =>
    x.resource < y.resource ? -1 : x.resource > y.resource ? 1 : x.node < y.node ? -1 : x.node > y.node ? 1 : 0);
  // Failures the plan reported as expired are cleared (the runtime does the same).
  const expired = new Set(plan.expiredFailures.map((e) => `${e.resource}\u0000${e.node}\u0000${e.operation}`));
  next.failures = next.failures.filter((f) => !expired.has(`${f.resource}\u0000${f.node}\u0000${f.operation}`));
  // multiple-active=stop_only: the runtime sets the target role to stopped (the coordinator does the same).
  if (plan.keepStopped.length > 0) {
    const overrides = new Map((next.overrides ?? []).map((o) => [o.resource, o]));
    for (const k of plan.keepStopped) overrides.set(k.resource, { ...overrides.get(k.resource), resource: k.resource, targetRole: 'stopped' });
    next.overrides = [...overrides.values()].sort((x, y) => (x.resource < y.resource ? -1 : 1));
  }
  return next;
}
