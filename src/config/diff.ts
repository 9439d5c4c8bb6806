// What a new configuration changes, in words, for the reload's log line and `tsha status` ("Last
// change"). Compares two compiled configurations section by section; an unchanged one says
// nothing. Pure.

import type { CompiledConfig } from './types.js';

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Keys added, removed and changed between two maps of things with ids. */
function byId<T>(what: string, a: Record<string, T>, b: Record<string, T>): string[] {
  const added = Object.keys(b).filter((k) => !(k in a)).sort();
  const removed = Object.keys(a).filter((k) => !(k in b)).sort();
  const changed = Object.keys(b).filter((k) => k in a && !same(a[k], b[k])).sort();
  const out: string[] = [];
  if (added.length > 0) out.push(`${what} added: ${added.join(', ')}`);
  if (removed.length > 0) out.push(`${what} removed: ${removed.join(', ')}`);
  if (changed.length > 0) out.push(`${what} changed: ${changed.join(', ')}`);
  return out;
}

const index = (xs: readonly { id: string }[]): Record<string, unknown> => Object.fromEntries(xs.map((x) => [x.id, x]));

export function describeConfigChange(a: CompiledConfig, b: CompiledConfig): string[] {
  const out: string[] = [];
  out.push(...byId('nodes', Object.fromEntries(a.nodes.map((n) => [n.name, n])), Object.fromEntries(b.nodes.map((n) => [n.name, n]))));
  if (!same(a.witness, b.witness)) out.push(`witness: ${a.witness?.name ?? 'none'} → ${b.witness?.name ?? 'none'}`);
  for (const k of Object.keys(b.timing) as (keyof CompiledConfig['timing'])[]) {
    if (a.timing[k] !== b.timing[k]) out.push(`timing.${k}: ${a.timing[k]} → ${b.timing[k]}`);
  }
  if (a.noQuorumPolicy !== b.noQuorumPolicy) out.push(`noQuorumPolicy: ${a.noQuorumPolicy} → ${b.noQuorumPolicy}`);
  if (a.maintenanceMode !== b.maintenanceMode) out.push(`maintenanceMode: ${a.maintenanceMode} → ${b.maintenanceMode}`);
  if (a.fencing.enabled !== b.fencing.enabled) out.push(`fencing.enabled: ${a.fencing.enabled} → ${b.fencing.enabled}`);
  if (a.fencing.watchdog !== b.fencing.watchdog) out.push(`fencing.watchdog: ${a.fencing.watchdog} → ${b.fencing.watchdog}`);
  out.push(...byId('fence devices', index(a.fencing.devices), index(b.fencing.devices)));
  if (!same(a.fencing.levels, b.fencing.levels)) out.push('fence levels changed');
  out.push(...byId('resources', a.resources, b.resources));
  for (const k of ['location', 'colocation', 'order'] as const) out.push(...byId(`${k} constraints`, index(a.constraints[k]), index(b.constraints[k])));
  return out;
}
