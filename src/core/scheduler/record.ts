// Record and replay (Pacemaker's pe-input-N files): one scheduler input is the JSON object
// `{ format, snapshot, config, now }`. Serialising sorts object keys, so two recordings of the
// same input are byte-identical; parsing checks the shape and names the field at fault.

import type { CompiledConfig } from '../../config/types.js';
import type { ClusterSnapshot } from '../snapshot.js';
import type { SchedulerInput } from './types.js';

export const RECORD_FORMAT = 'tsha-scheduler-input/1';

export class RecordFormatError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'RecordFormatError';
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function serializeSchedulerInput(input: SchedulerInput): string {
  return JSON.stringify(sortKeys({ format: RECORD_FORMAT, now: input.now, snapshot: input.snapshot, config: input.config }), null, 2) + '\n';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function requireArray(o: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new RecordFormatError(`${path}.${key}`, 'expected an array');
  return v;
}

export function parseSchedulerInput(text: string): SchedulerInput {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RecordFormatError('$', `not JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new RecordFormatError('$', 'expected an object');
  if (raw.format !== undefined && raw.format !== RECORD_FORMAT) {
    throw new RecordFormatError('format', `unsupported format "${String(raw.format)}" (expected ${RECORD_FORMAT})`);
  }
  if (typeof raw.now !== 'number' || !Number.isFinite(raw.now)) throw new RecordFormatError('now', 'expected a number');
  const snap = raw.snapshot;
  if (!isObject(snap)) throw new RecordFormatError('snapshot', 'expected an object');
  if (typeof snap.quorate !== 'boolean') throw new RecordFormatError('snapshot.quorate', 'expected a boolean');
  for (const key of ['nodes', 'observations', 'failures', 'bans', 'fenced']) requireArray(snap, key, 'snapshot');
  requireArray(snap, 'nodes', 'snapshot').forEach((n, i) => {
    if (!isObject(n) || typeof n.name !== 'string') throw new RecordFormatError(`snapshot.nodes[${i}].name`, 'expected a string');
    if (n.state !== 'online' && n.state !== 'offline' && n.state !== 'unclean') {
      throw new RecordFormatError(`snapshot.nodes[${i}].state`, `expected online, offline or unclean, got ${JSON.stringify(n.state)}`);
    }
  });
  requireArray(snap, 'observations', 'snapshot').forEach((o, i) => {
    if (!isObject(o) || typeof o.resource !== 'string' || typeof o.node !== 'string') {
      throw new RecordFormatError(`snapshot.observations[${i}]`, 'expected { resource, node, role }');
    }
    if (!['started', 'unpromoted', 'promoted', 'stopped', 'failed'].includes(String(o.role))) {
      throw new RecordFormatError(`snapshot.observations[${i}].role`, `unknown role ${JSON.stringify(o.role)}`);
    }
  });
  if (snap.fenceRequests !== undefined) {
    requireArray(snap, 'fenceRequests', 'snapshot').forEach((r, i) => {
      if (!isObject(r) || typeof r.node !== 'string' || (r.action !== 'off' && r.action !== 'reboot') || typeof r.by !== 'string') {
        throw new RecordFormatError(`snapshot.fenceRequests[${i}]`, 'expected { node, action: off|reboot, by }');
      }
    });
  }
  const cfg = raw.config;
  if (!isObject(cfg)) throw new RecordFormatError('config', 'expected an object');
  if (!isObject(cfg.resources)) throw new RecordFormatError('config.resources', 'expected an object');
  requireArray(cfg, 'nodes', 'config');
  if (!isObject(cfg.constraints)) throw new RecordFormatError('config.constraints', 'expected an object');
  for (const key of ['location', 'colocation', 'order']) requireArray(cfg.constraints, key, 'config.constraints');
  if (!isObject(cfg.fencing)) throw new RecordFormatError('config.fencing', 'expected an object');
  // recordings made before overrides and fence requests were recorded lack them: none
  const snapshot = { ...snap, overrides: snap.overrides ?? [], fenceRequests: snap.fenceRequests ?? [] } as unknown as ClusterSnapshot;
  return { snapshot, config: cfg as unknown as CompiledConfig, now: raw.now };
}
