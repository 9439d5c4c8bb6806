// The status model that `tsha status` and `tsha simulate` render (crm_mon's data model): plain
// data, built here from a snapshot and the configuration; the text and JSON formatters only read it.

import { agentLabel } from '../../config/drivers.js';
import type { CompiledConfig, PrimitiveResource, Resource } from '../../config/types.js';
import type { ClusterSnapshot } from '../../core/snapshot.js';

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

const ROLE_LABEL = { started: 'Started', promoted: 'Promoted', unpromoted: 'Unpromoted', failed: 'FAILED' } as const;

export function buildStatusView(snapshot: ClusterSnapshot, config: CompiledConfig, coordinator: string | null = null): StatusView {
  const nodeNames = [...new Set([...config.nodes.map((n) => n.name), ...snapshot.nodes.map((n) => n.name)])];
  const nodes: NodeView[] = nodeNames.map((name) => {
    const s = snapshot.nodes.find((n) => n.name === name);
    const fenced = snapshot.fenced.includes(name);
    const state = s?.state === 'unclean' && fenced ? 'offline' : (s?.state ?? 'offline');
    return { name, state, standby: s?.standby ?? false, maintenance: s?.maintenance ?? false };
  });
  const offline = new Set(nodes.filter((n) => n.state === 'offline').map((n) => n.name));
  const byRes = new Map<string, { node: string; role: keyof typeof ROLE_LABEL }[]>();
  for (const o of snapshot.observations) {
    if (o.role === 'stopped' || offline.has(o.node)) continue;
    const l = byRes.get(o.resource) ?? [];
    l.push({ node: o.node, role: o.role });
    byRes.set(o.resource, l);
  }
  const overrides = new Map(snapshot.overrides.map((o) => [o.resource, o]));
  const maintenanceNodes = new Set(nodes.filter((n) => n.maintenance).map((n) => n.name));
  const flagsOf = (r: Resource): string[] => {
    const f: string[] = [];
    const ov = overrides.get(r.id);
    if ((ov?.managed ?? r.meta.managed) === false || config.maintenanceMode) f.push('(unmanaged)');
    if ((ov?.targetRole ?? r.meta.targetRole) === 'stopped') f.push('(disabled)');
    return f;
  };
  const primitiveView = (r: PrimitiveResource, id: string, parentFlags: string[]): PrimitiveView => {
    const copies = (byRes.get(id) ?? []).sort((a, b) => (a.node < b.node ? -1 : 1));
    const flags = [...parentFlags, ...flagsOf(r)];
    if (copies.some((c) => maintenanceNodes.has(c.node))) flags.push('(maintenance)');
    if (copies.length === 0) return { type: 'primitive', id, agent: agentLabel(r), state: 'Stopped', nodes: [], flags };
    const roles = new Set(copies.map((c) => c.role));
    const state = roles.has('failed') ? 'FAILED' : ROLE_LABEL[copies[0]!.role];
    return { type: 'primitive', id, agent: agentLabel(r), state, nodes: copies.map((c) => c.node), flags: [...new Set(flags)] };
  };
  const inside = new Set<string>();
  for (const r of Object.values(config.resources)) {
    if (r.type === 'group') for (const m of r.members) inside.add(m);
    if (r.type === 'clone') inside.add(r.child);
  }
  const resources: ResourceView[] = [];
  let instances = 0;
  for (const id of Object.keys(config.resources).sort()) {
    if (inside.has(id)) continue;
    const r = config.resources[id]!;
    if (r.type === 'primitive') { resources.push(primitiveView(r, id, [])); instances++; }
    else if (r.type === 'group') {
      const gf = flagsOf(r);
      const members = r.members.map((m) => primitiveView(config.resources[m] as PrimitiveResource, m, gf));
      instances += members.length;
      resources.push({ type: 'group', id, members, flags: gf });
    } else {
      const child = config.resources[r.child]!;
      const chainFirst = child.type === 'group' ? child.members[0]! : child.id;
      const chainLen = child.type === 'group' ? child.members.length : 1;
      instances += r.max * chainLen;
      const perRole = new Map<string, string[]>();
      const withInstance = new Set<string>();
      for (const [rid, copies] of byRes) {
        if (rid !== chainFirst && rid.replace(/:\d+$/, '') !== chainFirst) continue;
        for (const c of copies) {
          const label = ROLE_LABEL[c.role];
          const l = perRole.get(label) ?? [];
          l.push(c.node);
          perRole.set(label, l);
          withInstance.add(c.node);
        }
      }
      const order = ['Promoted', 'Unpromoted', 'Started', 'FAILED'];
      const roles = order.filter((l) => perRole.has(l)).map((label) => ({ label, nodes: [...new Set(perRole.get(label)!)].sort() }));
      const stopped = nodes.filter((n) => !withInstance.has(n.name)).map((n) => n.name);
      if (stopped.length > 0) roles.push({ label: 'Stopped', nodes: stopped });
      resources.push({ type: 'clone', id, child: r.child, promotable: r.promotable, roles, flags: flagsOf(r) });
    }
  }
  const failedActions: FailedActionView[] = [...snapshot.failures]
    .filter((f) => f.count > 0)
    .sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : a.operation < b.operation ? -1 : 1))
    .map((f) => ({ resource: f.resource, operation: f.operation, node: f.node, count: f.count, lastFailureAt: f.lastFailureAt, kind: f.fatal ? 'fatal' : f.hard ? 'hard' : 'error' }));
  return {
    cluster: {
      name: config.clusterName, coordinator, quorum: snapshot.quorate, nodesConfigured: nodes.length,
      resourceInstancesConfigured: instances, maintenanceMode: config.maintenanceMode,
    },
    nodes, resources, failedActions,
  };
}
