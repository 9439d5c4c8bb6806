// The status view that `tsha status` and `tsha simulate` render (crm_mon's data model): plain
// data, built in one place (statusView) from the control API's status model: the agent's answer
// for `tsha status`, and for `tsha simulate` the same model built from a snapshot and the
// configuration (snapshotStatus), with the rows of src/core/resource-status.ts that the agent
// uses too. The text and JSON formatters only read the view.

import type { CompiledConfig } from '../../config/types.js';
import { primitiveOf } from '../../config/types.js';
import { resourceStatuses } from '../../core/resource-status.js';
import type { ClusterSnapshot } from '../../core/snapshot.js';
import type { ClusterStatus, FailedAction, NodeStatus, ResourceStatus } from '../../ports/control.js';

export interface StatusView {
  cluster: {
    name: string;
    coordinator: string | null;
    quorum: boolean;
    nodesConfigured: number;
    resourceInstancesConfigured: number;
    maintenanceMode: boolean;
  };
  nodes: NodeView[];
  resources: ResourceView[];
  failedActions: FailedActionView[];
}

export interface NodeView {
  name: string;
  state: 'online' | 'offline' | 'unclean';
  standby: boolean;
  maintenance: boolean;
  /** its agent is away and the coordinator waits instead of fencing (a restart or crash grace) */
  restartGrace?: { cause: 'restart' | 'crash'; remainingMs: number };
}

export interface PrimitiveView {
  type: 'primitive';
  id: string;
  /** "systemd:nginx.service", "ocf:heartbeat:IPaddr2", "lxc:web" */
  agent: string;
  /** "Started", "Stopped", "FAILED", "Promoted", "Unpromoted" */
  state: string;
  nodes: string[];
  /** "(unmanaged)", "(disabled)", "(maintenance)" */
  flags: string[];
}

export interface GroupView {
  type: 'group';
  id: string;
  members: PrimitiveView[];
  flags: string[];
}

export interface CloneView {
  type: 'clone';
  id: string;
  child: string;
  promotable: boolean;
  /** role label → nodes, e.g. { Promoted: ["n1"], Unpromoted: ["n2"], Stopped: ["n3"] } */
  roles: { label: string; nodes: string[] }[];
  flags: string[];
}

export type ResourceView = PrimitiveView | GroupView | CloneView;

export interface FailedActionView {
  resource: string;
  operation: string;
  node: string;
  count: number;
  lastFailureAt: number;
  kind: 'error' | 'hard' | 'fatal';
}

/** What a status view is built from: the parts of the control API's ClusterStatus it reads. */
export interface StatusModel {
  clusterName: string;
  coordinator: string;
  quorum: { quorate: boolean } | null;
  maintenanceMode: boolean;
  nodes: Pick<NodeStatus, 'name' | 'state' | 'standby' | 'maintenance' | 'restartGraceRemainingMs' | 'restartGraceCause'>[];
  resources: ResourceStatus[];
  failedActions: Pick<FailedAction, 'resource' | 'operation' | 'node' | 'status' | 'timeUnixMs'>[];
}

const STATE_LABEL: Record<ResourceStatus['state'], string> = {
  started: 'Started', stopped: 'Stopped', failed: 'FAILED', promoted: 'Promoted', unpromoted: 'Unpromoted', starting: 'Starting', stopping: 'Stopping',
};

/** The status model (a ClusterStatus, or snapshotStatus's) as the view the renderers read. */
export function statusView(s: StatusModel | ClusterStatus): StatusView {
  const nodes: NodeView[] = s.nodes.map((n) => ({
    name: n.name,
    state: n.state === 'online' ? 'online' : n.state === 'unclean' ? 'unclean' : 'offline',
    standby: n.standby,
    maintenance: n.maintenance,
    ...(n.restartGraceRemainingMs > 0 && n.restartGraceCause !== ''
      ? { restartGrace: { cause: n.restartGraceCause, remainingMs: n.restartGraceRemainingMs } }
      : {}),
  }));
  const prim = (r: ResourceStatus): PrimitiveView => {
    const flags: string[] = [];
    if (!r.managed) flags.push('(unmanaged)');
    if (r.targetRole === 'stopped') flags.push('(disabled)');
    if (r.nodes.some((n) => s.nodes.find((x) => x.name === n)?.maintenance)) flags.push('(maintenance)');
    const running = r.state !== 'stopped';
    // why a resource that should run is stopped (the scheduler's words), unless a flag says it
    if (!running && r.reason && r.reason !== 'unmanaged' && r.reason !== 'disabled') flags.push(`(${r.reason})`);
    // active on several nodes and left so (multiple-active=block), as crm_mon's "Started (blocked) [ a b ]"
    if (running && r.blocked) flags.push('(blocked)');
    return { type: 'primitive', id: r.id, agent: r.agent, state: STATE_LABEL[r.state], nodes: running ? r.nodes : [], flags };
  };
  const resources: ResourceView[] = [];
  const groups = new Map<string, PrimitiveView[]>();
  // a clone shows the roles of its child's instances (of a cloned group: of its first member's)
  const clones = new Map<string, { view: CloneView; first: string; on: Map<string, Set<string>> }>();
  for (const r of s.resources) {
    if (r.clone) {
      let c = clones.get(r.clone);
      if (!c) {
        const flags = [...(!r.managed ? ['(unmanaged)'] : []), ...(r.targetRole === 'stopped' ? ['(disabled)'] : [])];
        c = { view: { type: 'clone', id: r.clone, child: r.group || primitiveOf(r.id), promotable: r.promotable, roles: [], flags }, first: primitiveOf(r.id), on: new Map() };
        clones.set(r.clone, c);
        resources.push(c.view);
      }
      if (r.state !== 'stopped' && primitiveOf(r.id) === c.first) {
        const label = STATE_LABEL[r.state];
        const set = c.on.get(label) ?? new Set<string>();
        for (const n of r.nodes) set.add(n);
        c.on.set(label, set);
      }
    } else if (r.group) {
      const g = groups.get(r.group);
      if (g) g.push(prim(r));
      else {
        const members = [prim(r)];
        groups.set(r.group, members);
        resources.push({ type: 'group', id: r.group, members, flags: [] });
      }
    } else resources.push(prim(r));
  }
  // what every member of a group is (unmanaged, disabled) shows once, on the group's line
  for (const v of resources) {
    if (v.type !== 'group') continue;
    v.flags = ['(unmanaged)', '(disabled)'].filter((f) => v.members.every((m) => m.flags.includes(f)));
  }
  for (const { view, on } of clones.values()) {
    const order = ['Promoted', 'Unpromoted', 'Started', 'Starting', 'Stopping', 'FAILED'];
    view.roles = order.filter((l) => on.has(l)).map((label) => ({ label, nodes: [...on.get(label)!].sort() }));
    const busy = new Set([...on.values()].flatMap((x) => [...x]));
    const stopped = s.nodes.filter((n) => !busy.has(n.name)).map((n) => n.name);
    if (stopped.length > 0) view.roles.push({ label: 'Stopped', nodes: stopped });
  }
  const failedActions: FailedActionView[] = s.failedActions.map((f) => {
    const count = s.resources.flatMap((r) => r.failCounts.filter(() => r.id === f.resource || primitiveOf(r.id) === primitiveOf(f.resource)))
      .find((fc) => fc.node === f.node && fc.operation === f.operation)?.count ?? 1;
    return {
      resource: f.resource, operation: f.operation, node: f.node, count, lastFailureAt: f.timeUnixMs,
      kind: f.status === 'errorHard' || f.status === 'notInstalled' ? 'hard' : f.status === 'errorFatal' ? 'fatal' : 'error',
    };
  });
  return {
    cluster: {
      name: s.clusterName,
      coordinator: s.coordinator || null,
      quorum: s.quorum?.quorate ?? false,
      nodesConfigured: s.nodes.length,
      resourceInstancesConfigured: s.resources.length,
      maintenanceMode: s.maintenanceMode,
    },
    nodes,
    resources,
    failedActions,
  };
}

/**
 * A snapshot (a scheduler input or a simulation's outcome) as the status model: nodes as the
 * snapshot has them (an unclean node whose fence is confirmed, or one the snapshot lacks, is
 * offline), what runs where from its observations (nothing on an offline node), its failures.
 */
export function snapshotStatus(snapshot: ClusterSnapshot, config: CompiledConfig, coordinator: string | null = null): StatusModel {
  const names = [...new Set([...config.nodes.map((n) => n.name), ...snapshot.nodes.map((n) => n.name)])];
  const nodes: StatusModel['nodes'] = names.map((name) => {
    const n = snapshot.nodes.find((x) => x.name === name);
    const state = n === undefined || (n.state === 'unclean' && snapshot.fenced.includes(name)) ? 'offline' : n.state;
    return { name, state, standby: n?.standby ?? false, maintenance: n?.maintenance ?? false, restartGraceRemainingMs: 0, restartGraceCause: '' };
  });
  const offline = new Set(nodes.filter((n) => n.state === 'offline').map((n) => n.name));
  const failures = [...snapshot.failures]
    .filter((f) => f.count > 0)
    .sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : a.operation < b.operation ? -1 : 1));
  const resources = resourceStatuses({
    config,
    overrides: Object.fromEntries(snapshot.overrides.map(({ resource, ...o }) => [resource, o])),
    placements: snapshot.observations.flatMap((o) => (o.role === 'stopped' || offline.has(o.node) ? [] : [{ resource: o.resource, node: o.node, role: o.role }])),
    stoppedReasons: new Map(),
    failures: failures.map((f) => ({ resource: f.resource, node: f.node, operation: f.operation, count: f.count, lastFailureUnixMs: f.lastFailureAt })),
  });
  return {
    clusterName: config.clusterName, coordinator: coordinator ?? '', quorum: { quorate: snapshot.quorate }, maintenanceMode: config.maintenanceMode,
    nodes, resources,
    failedActions: failures.map((f) => ({
      resource: f.resource, operation: f.operation, node: f.node, timeUnixMs: f.lastFailureAt, status: f.fatal ? 'errorFatal' : f.hard ? 'errorHard' : 'error',
    })),
  };
}

/** How many primitive instances the configuration declares: a clone counts its maximum, a group each member. */
export function configuredInstances(config: CompiledConfig): number {
  const inside = new Set<string>();
  for (const r of Object.values(config.resources)) {
    if (r.type === 'group') for (const m of r.members) inside.add(m);
    if (r.type === 'clone') inside.add(r.child);
  }
  let n = 0;
  for (const r of Object.values(config.resources)) {
    if (inside.has(r.id)) continue;
    if (r.type === 'primitive') n++;
    else if (r.type === 'group') n += r.members.length;
    else {
      const child = config.resources[r.child];
      n += r.max * (child?.type === 'group' ? child.members.length : 1);
    }
  }
  return n;
}

/** `tsha simulate`'s view of a snapshot: the status view of snapshotStatus, counting instances as configured. */
export function snapshotStatusView(snapshot: ClusterSnapshot, config: CompiledConfig, coordinator: string | null = null): StatusView {
  const view = statusView(snapshotStatus(snapshot, config, coordinator));
  view.cluster.resourceInstancesConfigured = configuredInstances(config);
  return view;
}
