// Text rendering of `tsha config check`: the summary of a valid configuration (crm_mon-like
// resource tree) and the error list of an invalid one.

import type { ConfigSummary, ResourceLine } from '../../config/summary.js';
import { type ConfigIssue, formatIssue } from '../../config/issues.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderSummary(file: string, s: ConfigSummary): string {
  const out: string[] = [];
  out.push(`${file}: valid configuration`);
  out.push('');
  out.push(`Cluster:    ${s.cluster.name} (id ${s.cluster.id})`);
  out.push(`Quorum:     ${s.quorum.mode}: ${s.quorum.reason}`);
  out.push(`Nodes:      ${s.nodes.length}`);
  const width = Math.max(...s.nodes.map((n) => n.name.length));
  for (const n of s.nodes) {
    const attrs = Object.entries(n.attributes).map(([k, v]) => `${k}=${v}`);
    out.push(`  * ${n.name.padEnd(width)}  ${n.address.padEnd(21)} ${plural(n.votes, 'vote')}${attrs.length ? `  ${attrs.join(' ')}` : ''}`);
  }
  out.push(`Witness:    ${s.witness ? `${s.witness.name} ${s.witness.address}` : 'none'}`);
  const t = s.timing;
  out.push(
    `Timing:     heartbeat ${t.heartbeatIntervalMs} ms, failure timeout ${t.failureTimeoutMs} ms, election ${t.electionTimeoutMs} ms, lease ${t.leaseMs} ms,`,
  );
  out.push(`            drift ${t.maxDriftPpm} ppm, watchdog ${t.watchdogMs} ms${s.quorum.mode === 'two_node' ? `, fence race delay ${t.fenceRaceDelayMs} ms` : ''}`);
  out.push(`No quorum:  ${s.noQuorumPolicy}`);
  if (!s.fencing.enabled) out.push('Fencing:    DISABLED');
  else {
    const parts = [plural(s.fencing.devices.length, 'device'), s.fencing.levels ? `levels for ${plural(s.fencing.levels, 'node')}` : 'no levels', `watchdog ${s.fencing.watchdog ? 'on' : 'off'}`];
    out.push(`Fencing:    enabled, ${parts.join(', ')}`);
    for (const d of s.fencing.devices) out.push(`  * ${d.id} (${d.agent}) fences ${d.hosts.join(', ')}`);
  }
  const c = s.counts;
  out.push(`Resources:  ${plural(c.primitives, 'primitive')}, ${plural(c.groups, 'group')}, ${plural(c.clones, 'clone')}${s.maintenanceMode ? '  (MAINTENANCE MODE)' : ''}`);
  for (const r of s.resources) renderResource(r, 1, out);
  out.push(`Constraints: ${c.location} location, ${c.colocation} colocation, ${c.order} order`);
  if (s.warnings.length) {
    out.push(`Warnings:   ${s.warnings.length}`);
    for (const w of s.warnings) out.push(`  ! ${formatIssue(w)}`);
  } else out.push('Warnings:   none');
  return out.join('\n') + '\n';
}

function renderResource(r: ResourceLine, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const notes = r.notes.length ? ` (${r.notes.join(', ')})` : '';
  if (r.type === 'group') out.push(`${pad}* Resource Group: ${r.id}${notes}:`);
  else if (r.type === 'clone') out.push(`${pad}* Clone Set: ${r.id} [${r.children[0]?.id}]${notes}:`);
  else out.push(`${pad}* ${r.id}  (${r.agent})${r.notes.length ? `  ${r.notes.join(', ')}` : ''}`);
  for (const child of r.children) renderResource(child, depth + 1, out);
}

export function renderErrors(file: string, errors: ConfigIssue[], warnings: ConfigIssue[]): string {
  const out = errors.map(formatIssue);
  for (const w of warnings) out.push(`warning: ${formatIssue(w)}`);
  out.push(`${file}: ${plural(errors.length, 'error')}`);
  return out.join('\n') + '\n';
}
