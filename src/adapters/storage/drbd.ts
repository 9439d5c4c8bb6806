// DRBD 9 storage (src/ports/storage.ts): `drbdsetup status RES --json` is the source of truth for
// what the resource looks like here; `drbdadm` changes it.
//
// - acquire (inside the promote of the DRBD resource's promotable clone): refuse a local disk that
//   is not UpToDate (errorHard: this node's copy must not serve, whatever is retried here), refuse
//   while a connected peer is Primary (error: another node still holds it), else `drbdadm primary`.
//   When a peer is unreachable (its disk DUnknown), DRBD itself runs the fence-peer handler
//   (`tsha drbd fence-peer`) before it promotes, and refuses unless the handler outdated or fenced it.
// - release (inside the demote): `drbdadm secondary`.
// - takeOver('outdate_peer', {lost}): the cluster confirmed the lost node's fence. Recorded here
//   (`fencedPeer`), so the fence-peer handler DRBD runs during the promote that follows answers 7
//   for that peer at once; refused while DRBD still sees the peer Connected (a fenced node cannot be).
// - outdate: `drbdadm outdate RES` on this node, asked by a peer's fence-peer handler through the
//   cluster (src/runtime/drbd-fencing.ts); refused by DRBD while this node is Primary.
// - inspect: role, disk, peers (connection, role, disk) from the same JSON.

import fs from 'node:fs';
import path from 'node:path';
import type { StorageSpec } from '../../config/types.js';
import type { ActionResult } from '../../ports/resource-agent.js';
import type { DrbdPeer, StorageDriver, StorageOptions, StorageView, TakeoverOptions, TakeoverStep } from '../../ports/storage.js';
import { runInGroup } from '../process-group.js';

type DrbdSpec = Extract<StorageSpec, { type: 'drbd' }>;

export interface DrbdStorageOptions {
  /** programs (default: drbdadm and drbdsetup from PATH) */
  drbdadm?: string;
  drbdsetup?: string;
  /** extra environment for them (TSHA_NODE) */
  env?: Record<string, string>;
  /** where the confirmed fences of peers are recorded (the agent's state directory/drbd) */
  recordDir: string;
}

/** One resource as `drbdsetup status --json` shows it (the fields read here). */
interface StatusJson {
  name: string;
  role: string;
  suspended?: boolean;
  devices?: { volume: number; 'disk-state': string }[];
  connections?: { name: string; 'peer-node-id': number; 'connection-state': string; 'peer-role': string; peer_devices?: { volume: number; 'peer-disk-state': string }[] }[];
}

export interface DrbdState {
  role: string;
  disk: string;
  peers: DrbdPeer[];
  suspended: boolean;
}

/** A peer's fence the cluster confirmed, recorded by the takeover step. */
export interface FencedPeerRecord {
  resource: string;
  peer: string;
  /** wall-clock time it was recorded, for logs */
  atUnixMs: number;
}

/** The disk states a Primary may serve from. */
const USABLE = new Set(['UpToDate']);
/** Worst first: the state a multi-volume resource reports is its worst volume's. */
const DISK_ORDER = ['Diskless', 'Failed', 'Inconsistent', 'Outdated', 'DUnknown', 'Consistent', 'UpToDate'];
const worst = (states: string[]): string => states.reduce((w, s) => (DISK_ORDER.indexOf(s) < DISK_ORDER.indexOf(w) ? s : w), states[0] ?? 'Diskless');

/** Reads the state of one resource from `drbdsetup status --json` output; null when it is not there. */
export function parseDrbdStatus(json: string, spec: DrbdSpec): DrbdState | null {
  const all = JSON.parse(json) as StatusJson[];
  const r = Array.isArray(all) ? all.find((x) => x.name === spec.resource) : undefined;
  if (!r) return null;
  const vol = (v: { volume: number }): boolean => spec.volume === undefined || v.volume === spec.volume;
  const disks = (r.devices ?? []).filter(vol).map((d) => d['disk-state']);
  return {
    role: r.role,
    disk: disks.length > 0 ? worst(disks) : 'Diskless',
    suspended: r.suspended === true,
    peers: (r.connections ?? []).map((c) => {
      const pd = (c.peer_devices ?? []).filter(vol).map((d) => d['peer-disk-state']);
      return { node: c.name, connection: c['connection-state'], role: c['peer-role'], disk: pd.length > 0 ? worst(pd) : 'DUnknown' };
    }),
  };
}

const lastLine = (s: string): string => s.trim().split('\n').filter(Boolean).slice(-2).join(' / ');

export class DrbdStorage implements StorageDriver {
  readonly type = 'drbd' as const;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly opts: DrbdStorageOptions) {
    this.env = { ...process.env, ...opts.env };
  }

  private run(file: string, args: string[], timeoutMs: number) {
    return runInGroup(file, args, { env: this.env, timeoutMs, killGraceMs: 1000 });
  }

  /** What DRBD says of the resource here, or why it could not be read. */
  async state(spec: DrbdSpec, timeoutMs: number): Promise<{ state: DrbdState } | { error: string; notUp: boolean }> {
    const o = await this.run(this.opts.drbdsetup ?? 'drbdsetup', ['status', spec.resource, '--json'], timeoutMs);
    if (o.spawnError) return { error: `drbdsetup not found (${o.spawnError}): is drbd-utils installed?`, notUp: false };
    if (o.timedOut) return { error: `drbdsetup status ${spec.resource} did not answer within ${timeoutMs} ms`, notUp: false };
    if (o.code !== 0) {
      // DRBD 9: "r0: No such resource" (exit 10) when the resource is not up on this node
      const notUp = /No such resource|Unknown resource/i.test(o.stderr);
      return { error: notUp ? `DRBD resource ${spec.resource} is not up on this node` : `drbdsetup status ${spec.resource} failed (exit ${o.code}): ${lastLine(o.stderr)}`, notUp };
    }
    try {
      const state = parseDrbdStatus(o.stdout, spec);
      return state ? { state } : { error: `drbdsetup status ${spec.resource} --json did not list the resource`, notUp: true };
    } catch (e) {
      return { error: `drbdsetup status ${spec.resource} --json: unreadable output (${e instanceof Error ? e.message : String(e)})`, notUp: false };
    }
  }

  private async drbdadm(cmd: string, spec: DrbdSpec, timeoutMs: number): Promise<ActionResult> {
    const o = await this.run(this.opts.drbdadm ?? 'drbdadm', [cmd, spec.resource], timeoutMs);
    if (o.spawnError) return { status: 'notInstalled', reason: `drbdadm not found (${o.spawnError}): is drbd-utils installed?` };
    if (o.timedOut) return { status: 'timeout', reason: `drbdadm ${cmd} ${spec.resource} did not finish within ${timeoutMs} ms` };
    if (o.code !== 0) return { status: 'error', exitCode: o.code ?? -1, reason: `drbdadm ${cmd} ${spec.resource} failed (exit ${o.code}): ${lastLine(o.stderr || o.stdout)}` };
    return { status: 'ok' };
  }

  async acquire(spec: StorageSpec, o: StorageOptions): Promise<ActionResult> {
    const s = drbd(spec);
    const deadline = performance.now() + o.timeoutMs;
    const read = await this.state(s, o.timeoutMs);
    if ('error' in read) return { status: read.notUp ? 'errorHard' : 'error', reason: read.error };
    const st = read.state;
    if (st.role === 'Primary') return { status: 'ok', reason: 'already Primary here' };
    if (!USABLE.has(st.disk)) {
      return { status: 'errorHard', reason: `refusing to promote ${s.resource}: the local disk is ${st.disk}, not UpToDate (its data may be stale; resync it from an UpToDate peer first)` };
    }
    const primary = st.peers.find((p) => p.connection === 'Connected' && p.role === 'Primary');
    if (primary) return { status: 'error', reason: `refusing to promote ${s.resource}: the connected peer ${primary.node} is Primary` };
    const res = await this.drbdadm('primary', s, Math.max(1, deadline - performance.now()));
    if (res.status === 'error' && /Need access to UpToDate data/.test(res.reason ?? '')) return { ...res, status: 'errorHard' };
    return res;
  }

  async release(spec: StorageSpec, o: StorageOptions): Promise<ActionResult> {
    const s = drbd(spec);
    const read = await this.state(s, o.timeoutMs);
    // not up here: nothing to give up (the resource's own stop may already have taken it down)
    if ('error' in read) return read.notUp ? { status: 'ok', reason: read.error } : { status: 'error', reason: read.error };
    if (read.state.role !== 'Primary') return { status: 'ok' };
    return this.drbdadm('secondary', s, o.timeoutMs);
  }

  async takeOver(spec: StorageSpec, step: TakeoverStep, o: TakeoverOptions): Promise<ActionResult> {
    const s = drbd(spec);
    if (step !== 'outdate_peer') return { status: 'errorFatal', reason: `${step} is not a DRBD takeover step` };
    const read = await this.state(s, o.timeoutMs);
    if ('error' in read) return { status: read.notUp ? 'errorHard' : 'error', reason: read.error };
    const peer = read.state.peers.find((p) => p.node === o.lost);
    if (peer && peer.connection === 'Connected') {
      return { status: 'error', reason: `${o.lost} was fenced but DRBD still sees it Connected${peer.role === 'Primary' ? ' and Primary' : ''} on ${s.resource}: not taking over` };
    }
    this.recordFence({ resource: s.resource, peer: o.lost, atUnixMs: Date.now() });
    return { status: 'ok', reason: `${o.lost}'s fence recorded for ${s.resource}'s fence-peer handler` };
  }

  /** `drbdadm outdate RES` here (a peer's fence-peer handler asked for it). */
  async outdate(spec: StorageSpec, timeoutMs: number): Promise<{ outcome: 'outdated' | 'primary' | 'failed'; reason: string }> {
    const s = drbd(spec);
    const read = await this.state(s, timeoutMs);
    if ('state' in read && read.state.role === 'Primary') return { outcome: 'primary', reason: `${s.resource} is Primary on this node` };
    const res = await this.drbdadm('outdate', s, timeoutMs);
    if (res.status === 'ok') return { outcome: 'outdated', reason: `${s.resource}: local disk outdated` };
    // DRBD refuses to outdate a Primary (it may have become one since it was read)
    if (/Need access to UpToDate data/.test(res.reason ?? '')) return { outcome: 'primary', reason: res.reason ?? '' };
    return { outcome: 'failed', reason: res.reason ?? res.status };
  }

  async inspect(spec: StorageSpec, o: StorageOptions): Promise<StorageView> {
    const s = drbd(spec);
    const read = await this.state(s, o.timeoutMs);
    const name = s.volume !== undefined ? `${s.resource}/${s.volume}` : s.resource;
    if ('error' in read) return { type: 'drbd', name, role: 'Unknown', disk: 'DUnknown', peers: [], error: read.error };
    return { type: 'drbd', name, role: read.state.role, disk: read.state.disk, peers: read.state.peers };
  }

  // ---- the record of confirmed peer fences -------------------------------------------------------

  private recordFile(resource: string, peer: string): string {
    return path.join(this.opts.recordDir, encodeURIComponent(resource), `${encodeURIComponent(peer)}.fenced.json`);
  }

  private recordFence(r: FencedPeerRecord): void {
    const f = this.recordFile(r.resource, r.peer);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(`${f}.tmp`, JSON.stringify(r));
    fs.renameSync(`${f}.tmp`, f);
  }

  /** The confirmed fence of `peer` recorded for `resource`, or null. */
  fencedPeer(resource: string, peer: string): FencedPeerRecord | null {
    try {
      return JSON.parse(fs.readFileSync(this.recordFile(resource, peer), 'utf8')) as FencedPeerRecord;
    } catch {
      return null;
    }
  }

  /** Forget the recorded fence of `peer` (it is back), or of every peer of `resource` when peer is null. */
  forgetFence(resource: string, peer: string | null): void {
    if (peer !== null) fs.rmSync(this.recordFile(resource, peer), { force: true });
    else fs.rmSync(path.join(this.opts.recordDir, encodeURIComponent(resource)), { recursive: true, force: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function drbd(spec: StorageSpec): DrbdSpec {
  if (spec.type !== 'drbd') throw new Error(`DrbdStorage got ${spec.type} storage (a bug in the driver table)`);
  return spec;
}
