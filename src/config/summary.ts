// The data model `tsha config check` renders (text or JSON): what a valid configuration means,
// on one screen. Built from the CompiledConfig only.

import { agentLabel } from './drivers.js';
import { type CompiledConfig, INFINITY, type Resource } from './types.js';
import type { ConfigIssue } from './issues.js';

export interface ResourceLine {
  id: string;
  type: Resource['type'];
  /** primitives: "systemd:nginx.service", "ocf:heartbeat:IPaddr2", "lxc:dns", "microvm:mail", "exec", "ip:192.0.2.10/24@eth0" */
  agent?: string;
  notes: string[];
  children: ResourceLine[];
}

export interface ConfigSummary {
  cluster: { name: string; id: string };
  quorum: { mode: CompiledConfig['quorumMode']; reason: string };
  nodes: { name: string; address: string; votes: number; attributes: Record<string, string> }[];
  witness: { name: string; address: string } | null;
  timing: CompiledConfig['timing'];
  noQuorumPolicy: CompiledConfig['noQuorumPolicy'];
  /** levels: how many nodes have a fencing topology (fencing.levels) */
  fencing: { enabled: boolean; watchdog: boolean; devices: { id: string; agent: string; hosts: string[] }[]; levels: number };
  resources: ResourceLine[];
  counts: { primitives: number; groups: number; clones: number; location: number; colocation: number; order: number };
  maintenanceMode: boolean;
  warnings: ConfigIssue[];
}

export function summarize(config: CompiledConfig, quorumReason: string, warnings: ConfigIssue[]): ConfigSummary {
  const contained = new Set<string>();
  for (const r of Object.values(config.resources)) {
    if (r.type === 'group') r.members.forEach((m) => contained.add(m));
    if (r.type === 'clone') contained.add(r.child);
  }
  const line = (id: string): ResourceLine => {
    const r = config.resources[id]!;
    const notes: string[] = [];
    if (r.meta.targetRole !== 'started') notes.push(`target ${r.meta.targetRole}`);
    if (!r.meta.managed) notes.push('unmanaged');
    if (r.type === 'primitive') {
      if (r.storage) notes.push(r.storage.type === 'drbd' ? `drbd ${r.storage.resource}` : `rbd ${r.storage.pool}/${r.storage.image}`);
      else if (r.stateful) notes.push('stateful');
      if (r.meta.allowMigrate) notes.push('live-migrates');
      return { id, type: r.type, agent: agentLabel(r), notes, children: [] };
    }
    if (r.type === 'group') return { id, type: r.type, notes, children: r.members.map(line) };
    notes.unshift(r.promotable ? `promotable, ${r.max} instances, ${r.promotedMax} promoted` : `${r.max} instances`);
    return { id, type: r.type, notes, children: [line(r.child)] };
  };
  const order = { clone: 0, group: 1, primitive: 2 } as const;
  const top = Object.values(config.resources)
    .filter((r) => !contained.has(r.id))
    .sort((a, b) => order[a.type] - order[b.type] || a.id.localeCompare(b.id))
    .map((r) => line(r.id));
  const all = Object.values(config.resources);
  return {
    cluster: { name: config.clusterName, id: config.clusterId },
    quorum: { mode: config.quorumMode, reason: quorumReason },
    nodes: config.nodes.map((n) => ({ name: n.name, address: n.meshAddress, votes: n.votes, attributes: n.attributes })),
    witness: config.witness ? { name: config.witness.name, address: config.witness.meshAddress } : null,
    timing: config.timing,
    noQuorumPolicy: config.noQuorumPolicy,
    fencing: {
      enabled: config.fencing.enabled,
      watchdog: config.fencing.watchdog,
      devices: config.fencing.devices.map((d) => ({ id: d.id, agent: d.agent, hosts: d.hosts })),
      levels: new Set(config.fencing.levels.map((l) => l.node)).size,
    },
    resources: top,
    counts: {
      primitives: all.filter((r) => r.type === 'primitive').length,
      groups: all.filter((r) => r.type === 'group').length,
      clones: all.filter((r) => r.type === 'clone').length,
      location: config.constraints.location.length,
      colocation: config.constraints.colocation.length,
      order: config.constraints.order.length,
    },
    maintenanceMode: config.maintenanceMode,
    warnings,
  };
}

export function scoreText(score: number): string {
  if (score === INFINITY) return 'INFINITY';
  if (score === -INFINITY) return '-INFINITY';
  return String(score);
}
