// Each configured primitive instance as `tsha status` lists it (the control API's ResourceStatus):
// its state from where its copies run, its group and clone, the target role and managed flag in
// force (configuration, then run-time overrides, down the group and clone chain), and why it is
// stopped; listed in display order. The agent builds its status from the core's placements (src/runtime/control-handlers.ts);
// `tsha simulate` from a snapshot's observations (src/cli/format/status-view.ts), so both show a
// resource the same way.

import { agentLabel } from '../config/drivers.js';
import type { CompiledConfig, NodeName, ResourceId, TargetRole } from '../config/types.js';
import { multipleActivePolicy, primitiveOf } from '../config/types.js';
import type { ResourceState, ResourceStatus } from '../ports/control.js';

/** One copy of a primitive instance on one node, in a role, or on its way there or out. */
export interface Placement {
  resource: ResourceId;
  node: NodeName;
  role: 'started' | 'unpromoted' | 'promoted' | 'failed' | 'starting' | 'stopping';
}

export interface ResourceStatusInput {
  config: CompiledConfig;
  /** run-time target role / managed overrides by resource id */
  overrides: Record<ResourceId, { targetRole?: TargetRole | string; managed?: boolean }>;
  placements: readonly Placement[];
  /** why a stopped resource (or instance) that should run is stopped, in the scheduler's words */
  stoppedReasons: ReadonlyMap<ResourceId, string>;
  /** failures counted, by resource or instance */
  failures: readonly { resource: ResourceId; node: NodeName; operation: string; count: number; lastFailureUnixMs: number }[];
}


// a resource with copies in several states shows the most telling one
const STATE_ORDER: readonly Placement['role'][] = ['failed', 'stopping', 'starting', 'promoted', 'unpromoted', 'started'];

export function resourceStatuses(input: ResourceStatusInput): ResourceStatus[] {
  const { config, overrides, placements, stoppedReasons: why } = input;
  const groupOf = new Map<ResourceId, string>();
  const cloneOf = new Map<ResourceId, { id: string; promotable: boolean }>();
  for (const r of Object.values(config.resources)) {
    if (r.type === 'group') for (const m of r.members) groupOf.set(m, r.id);
    if (r.type === 'clone') {
      cloneOf.set(r.child, { id: r.id, promotable: r.promotable });
      const child = config.resources[r.child];
      if (child?.type === 'group') for (const m of child.members) cloneOf.set(m, { id: r.id, promotable: r.promotable });
    }
  }
  const effective = (id: ResourceId): { targetRole: TargetRole; managed: boolean } => {
    const chain = [id, groupOf.get(id), cloneOf.get(id)?.id].filter((x): x is string => x !== undefined);
    let targetRole: TargetRole = 'started';
    let managed = !config.maintenanceMode;
    for (const x of chain) {
      const r = config.resources[x];
      const o = overrides[x];
      const role = (o?.targetRole ?? r?.meta.targetRole ?? 'started') as TargetRole;
      if (role === 'stopped' || targetRole === 'started') targetRole = role;
      if ((o?.managed ?? r?.meta.managed) === false) managed = false;
    }
    return { targetRole, managed };
  };

  // display order (crm_mon's): top-level resources by id, a group's members in the group's order,
  // a clone where its id sorts
  const inside = new Set<ResourceId>();
  for (const r of Object.values(config.resources)) {
    if (r.type === 'group') for (const m of r.members) inside.add(m);
    if (r.type === 'clone') inside.add(r.child);
  }
  const primitives: ResourceId[] = [];
  const visit = (id: ResourceId): void => {
    const r = config.resources[id];
    if (r?.type === 'primitive') primitives.push(id);
    else if (r?.type === 'group') r.members.forEach(visit);
    else if (r?.type === 'clone') visit(r.child);
  };
  for (const id of Object.keys(config.resources).sort()) if (!inside.has(id)) visit(id);

  const resources: ResourceStatus[] = [];
  for (const id of primitives) {
    const r = config.resources[id];
    if (r?.type !== 'primitive') continue;
    const clone = cloneOf.get(id);
    // a clone's child shows one line per instance running somewhere (the CLI lists the rest as Stopped)
    const ids = clone ? [...new Set(placements.filter((p) => primitiveOf(p.resource) === id).map((p) => p.resource))].sort() : [id];
    if (clone && ids.length === 0) ids.push(id);
    for (const inst of ids) {
      const copies = placements.filter((p) => p.resource === inst);
      const roles = new Set(copies.map((x) => x.role));
      const state: ResourceState = STATE_ORDER.find((x) => roles.has(x)) ?? 'stopped';
      const failCounts = input.failures
        .filter((f) => f.resource === inst || primitiveOf(f.resource) === inst)
        .map((f) => ({ node: f.node, operation: f.operation, count: f.count, lastFailureUnixMs: f.lastFailureUnixMs }));
      const eff = effective(id);
      const nodes = [...new Set(copies.map((x) => x.node))].sort();
      // active on several nodes: its multiple-active policy resolves it (block: left as it is)
      const policy = nodes.length > 1 ? multipleActivePolicy(config, id) : null;
      const reason = policy !== null ? `multiple-active=${policy}: active on ${nodes.join(', ')}`
        : state !== 'stopped' ? '' : !eff.managed ? 'unmanaged' : eff.targetRole === 'stopped' ? 'disabled' : (why.get(inst) ?? why.get(id) ?? '');
      resources.push({
        id: inst, kind: r.kind, agent: agentLabel(r), group: groupOf.get(id) ?? '', clone: clone?.id ?? '', promotable: clone?.promotable ?? false,
        state, nodes, targetRole: eff.targetRole, managed: eff.managed,
        reason, failCounts, blocked: reason.startsWith('blocked') || policy === 'block',
      });
    }
  }
  return resources;
}
