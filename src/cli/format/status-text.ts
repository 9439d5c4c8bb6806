// crm_mon -1 style text for a StatusView, so Pacemaker users read it without learning anything:
//
//   Cluster Summary:
//     * Cluster name: alpha
//     * Current coordinator: n1 - partition with quorum
//     * 3 nodes configured
//     * 4 resource instances configured
//
//   Node List:
//     * Online: [ n1 n2 ]
//     * OFFLINE: [ n3 ]
//
//   Full List of Resources:
//     * web (systemd:nginx.service): Started n1
//     * Resource Group: site:
//       * ip (ocf:heartbeat:IPaddr2): Started n1
//     * Clone Set: drbd-clone [drbd] (promotable):
//       * Promoted: [ n1 ]
//       * Unpromoted: [ n2 ]

import type { PrimitiveView, StatusView } from './status-view.js';

function primitiveLine(p: PrimitiveView, indent: string): string {
  const where = p.nodes.length === 0 ? '' : p.nodes.length === 1 ? ` ${p.nodes[0]}` : ` [ ${p.nodes.join(' ')} ]`;
  const flags = p.flags.length > 0 ? ` ${p.flags.join(' ')}` : '';
  return `${indent}* ${p.id} (${p.agent}): ${p.state}${where}${flags}`;
}

export function renderStatusText(v: StatusView, opts: { includeSummary?: boolean } = {}): string {
  const out: string[] = [];
  if (opts.includeSummary !== false) {
    out.push('Cluster Summary:');
    out.push(`  * Cluster name: ${v.cluster.name}`);
    const quorum = v.cluster.quorum ? 'partition with quorum' : 'partition WITHOUT quorum';
    out.push(`  * Current coordinator: ${v.cluster.coordinator ?? 'NONE'} - ${quorum}`);
    out.push(`  * ${v.cluster.nodesConfigured} nodes configured`);
    out.push(`  * ${v.cluster.resourceInstancesConfigured} resource instances configured`);
    if (v.cluster.maintenanceMode) out.push('  *** Resource management is DISABLED (maintenance mode) ***');
    out.push('');
  }
  out.push('Node List:');
  const online = v.nodes.filter((n) => n.state === 'online' && !n.standby && !n.maintenance).map((n) => n.name);
  const offline = v.nodes.filter((n) => n.state === 'offline').map((n) => n.name);
  if (online.length > 0) out.push(`  * Online: [ ${online.join(' ')} ]`);
  for (const n of v.nodes) {
    const g = n.restartGrace;
    if (g && n.state !== 'offline') {
      const why = g.cause === 'crash' ? 'agent crashed, host up' : 'agent restarting';
      out.push(`  * Node ${n.name}: RESTARTING (${why}; not fenced, resources kept for ${(g.remainingMs / 1000).toFixed(1)} s more)`);
    } else if (n.state === 'unclean') out.push(`  * Node ${n.name}: UNCLEAN (offline)`);
    else if (n.state === 'online' && n.maintenance) out.push(`  * Node ${n.name}: maintenance`);
    else if (n.state === 'online' && n.standby) out.push(`  * Node ${n.name}: standby`);
  }
  if (offline.length > 0) out.push(`  * OFFLINE: [ ${offline.join(' ')} ]`);
  out.push('');
  out.push('Full List of Resources:');
  if (v.resources.length === 0) out.push('  * No resources');
  for (const r of v.resources) {
    if (r.type === 'primitive') out.push(primitiveLine(r, '  '));
    else if (r.type === 'group') {
      out.push(`  * Resource Group: ${r.id}${r.flags.length > 0 ? ` ${r.flags.join(' ')}` : ''}:`);
      for (const m of r.members) out.push(primitiveLine({ ...m, flags: m.flags.filter((f) => !r.flags.includes(f)) }, '    '));
    } else {
      out.push(`  * Clone Set: ${r.id} [${r.child}]${r.promotable ? ' (promotable)' : ''}${r.flags.length > 0 ? ` ${r.flags.join(' ')}` : ''}:`);
      for (const role of r.roles) out.push(`    * ${role.label}: [ ${role.nodes.join(' ')} ]`);
    }
  }
  if (v.failedActions.length > 0) {
    out.push('');
    out.push('Failed Resource Actions:');
    for (const f of v.failedActions) {
      const kind = f.kind === 'error' ? 'error' : f.kind === 'hard' ? 'hard error' : 'fatal error';
      out.push(`  * ${f.resource}_${f.operation} on ${f.node} '${kind}': count=${f.count}, last-failure=${f.lastFailureAt}`);
    }
  }
  return out.join('\n') + '\n';
}

export function renderStatusJson(v: StatusView): string {
  return JSON.stringify(v, null, 2) + '\n';
}
