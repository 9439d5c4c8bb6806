// Ceph RBD storage: an image held with librbd's exclusive lock, taken from a lost node by
// blocklisting its Ceph clients and breaking its lock (src/ports/storage.ts has the order).
//
// Through the `rbd` and `ceph` command-line tools with `--format json`, not librados/librbd
// bindings: there is no maintained Node binding of either, and these tools are what operators run
// by hand for the same steps (`rbd lock ls`, `rbd status`, `ceph osd blocklist add`, `rbd lock
// rm`), so what the agent did can be read and repeated from a shell. The agent never holds the
// lock itself: the workload does, in its own librbd (QEMU's rbd: disk, a program on librbd), which
// takes the exclusive lock on its first write. Kernel `rbd map` is the resource's own business
// (its start can map the image); this driver maps nothing.
//
// A Ceph client is this node's when the IP of its address ("10.213.0.1:0/2039488231") is one of
// this node's interface addresses. Every other locker or watcher of the image is another node's:
// acquire refuses to go on while one holds the lock, and a takeover (after the lost node's fence
// was confirmed) blocklists and unlocks all of them. `--conf`, `--id` and `--keyring` are passed
// when the spec sets them; the keyring is a path, and its contents are never read here, logged
// or shown.

import { networkInterfaces } from 'node:os';
import type { StorageSpec } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';
import type { ActionResult } from '../../ports/resource-agent.js';
import type { RbdClient, StorageDriver, StorageOptions, StorageView, TakeoverOptions, TakeoverStep } from '../../ports/storage.js';
import { runInGroup } from '../process-group.js';

type RbdSpec = Extract<StorageSpec, { type: 'rbd' }>;

/** Ceph's own default for `ceph osd blocklist add` without an expiry (1 h); compiled configurations set theirs. */
const DEFAULT_EXPIRY_S = 3600;
/** Blocklist addresses remembered per image, for inspect (the clients a takeover blocklisted are gone from the lock list). */
const REMEMBERED_ADDRESSES = 64;

export interface RbdStorageOptions {
  /** this node's addresses (default: every address of os.networkInterfaces(), read at each use) */
  localAddresses?: () => readonly string[];
  /** directory of the rbd and ceph binaries (default: found on $PATH) */
  binDir?: string;
  logger?: Logger;
}

/** One run of a Ceph tool. */
interface Ran {
  ok: boolean;
  code: number | null;
  timedOut: boolean;
  stdout: string;
  /** the tool's complaint in one line (stderr's last lines), or why it did not run */
  reason: string;
}

/** The IP of a Ceph entity address: "10.0.0.1:0/123", "v2:10.0.0.1:6800/123", "[fd00::1]:0/123". */
export function addressIp(address: string): string {
  const a = address.replace(/^v[12]:/, '');
  if (a.startsWith('[')) return a.slice(1, a.indexOf(']'));
  const colon = a.lastIndexOf(':');
  return colon < 0 ? a.split('/')[0]! : a.slice(0, colon);
}

function defaultLocalAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/** `rbd lock ls --format json`: an array of {id, locker, address} (Ceph 16+), or an object keyed by lock id (older). */
export function parseLocks(stdout: string): { lockId: string; client: string; address: string }[] {
  const v = JSON.parse(stdout || '[]') as unknown;
  if (Array.isArray(v)) return (v as { id: string; locker: string; address: string }[]).map((l) => ({ lockId: l.id, client: l.locker, address: l.address }));
  if (v && typeof v === 'object') {
    return Object.entries(v as Record<string, { locker: string; address: string }>).map(([id, l]) => ({ lockId: id, client: l.locker, address: l.address }));
  }
  return [];
}

/** `rbd status --format json`: {watchers: [{address, client: 4123, cookie}]}. */
export function parseWatchers(stdout: string): { client: string; address: string }[] {
  const v = JSON.parse(stdout || '{}') as { watchers?: { address: string; client: number | string }[] };
  return (v.watchers ?? []).map((w) => ({ client: typeof w.client === 'number' ? `client.${w.client}` : String(w.client), address: w.address }));
}

/**
 * `ceph osd blocklist ls --format json`: [{addr, until}]. Ceph 16 prints a second array after it
 * (the blocklisted address ranges, "[][]"), so only the first JSON array is read.
 */
export function parseBlocklist(stdout: string): { address: string; until: string }[] {
  const v = JSON.parse(firstJsonArray(stdout)) as { addr: string; until: string }[];
  return v.map((e) => ({ address: e.addr, until: e.until }));
}

/** The first top-level JSON array in a text ("[]" when there is none); brackets inside strings (IPv6 addresses) are skipped. */
function firstJsonArray(text: string): string {
  const start = text.indexOf('[');
  if (start < 0) return '[]';
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  return '[]';
}

const missing = (r: Ran): boolean => /No such file or directory/.test(r.reason);

export class RbdStorage implements StorageDriver {
  readonly type = 'rbd' as const;
  private readonly local: () => readonly string[];
  /** per image: addresses of its clients seen by this driver (most recent last) */
  private readonly seen = new Map<string, string[]>();
  /** addresses this driver put on the blocklist, and until when (performance.now() ms) */
  private readonly blocklistedHere = new Map<string, number>();

  constructor(private readonly opts: RbdStorageOptions = {}) {
    this.local = opts.localAddresses ?? defaultLocalAddresses;
  }

  // ---- the port ---------------------------------------------------------------------------------

  async takeOver(spec: StorageSpec, step: TakeoverStep, o: TakeoverOptions): Promise<ActionResult> {
    const s = rbdSpec(spec);
    const deadline = performance.now() + o.timeoutMs;
    if (step === 'blocklist') return this.blocklistOthers(s, deadline, o.lost);
    if (step === 'break_lock') return this.breakOtherLocks(s, deadline, o.lost);
    return { status: 'errorFatal', reason: `${step}: not a takeover step of Ceph RBD storage (blocklist, break_lock)` };
  }

  async acquire(spec: StorageSpec, o: StorageOptions): Promise<ActionResult> {
    const s = rbdSpec(spec);
    const name = imageName(s);
    const deadline = performance.now() + o.timeoutMs;
    // both reads at once: this runs on the failover's path, between the takeover and the start
    const [info, locks] = await Promise.all([this.run('rbd', ['info', name], s, deadline), this.locks(s, deadline)]);
    if (!info.ok) {
      if (info.timedOut) return { status: 'timeout', reason: `rbd info ${name}: no answer from Ceph in time` };
      if (missing(info)) return { status: 'notInstalled', reason: `image ${name} does not exist in Ceph (rbd info: ${info.reason}); create it with rbd create --image-feature layering,exclusive-lock` };
      return { status: 'error', reason: `rbd info ${name}: ${info.reason}` };
    }
    const features = (JSON.parse(info.stdout) as { features?: string[] }).features ?? [];
    if (!features.includes('exclusive-lock')) {
      return { status: 'errorFatal', reason: `image ${name} has no exclusive-lock feature, so nothing keeps two nodes from writing it: rbd feature enable ${name} exclusive-lock` };
    }
    if ('error' in locks) return locks.error;
    const other = locks.clients.find((c) => !c.local);
    if (other) {
      return { status: 'error', reason: `image ${name} is locked by ${other.client} at ${other.address}: another node holds it; it is taken over only from a fenced node` };
    }
    return { status: 'ok', ...(locks.clients.length > 0 ? { reason: `${name}: this node's ${locks.clients.map((c) => c.client).join(', ')} holds the lock` } : {}) };
  }

  async release(spec: StorageSpec, o: StorageOptions): Promise<ActionResult> {
    const s = rbdSpec(spec);
    const name = imageName(s);
    const deadline = performance.now() + o.timeoutMs;
    const locks = await this.locks(s, deadline);
    if ('error' in locks) return locks.error;
    const mine = locks.clients.filter((c) => c.local);
    // The holder stopped here (its stop succeeded), so a lock still held by this node's client is
    // the stopped workload's, left behind by a process that is gone: removed without blocklisting
    // it (nothing of it can write any more). Another node's lock is never touched here.
    for (const c of mine) {
      const r = await this.run('rbd', ['lock', 'rm', name, c.lockId!, c.client, '--rbd-blocklist-on-break-lock=false'], s, deadline, false);
      if (!r.ok && !missing(r)) return r.timedOut ? { status: 'timeout', reason: `rbd lock rm ${name}: no answer from Ceph in time` } : { status: 'error', reason: `rbd lock rm ${name} ${c.client}: ${r.reason}` };
      this.opts.logger?.info({ storage: name, client: c.client, address: c.address, lockId: c.lockId }, 'rbd: removed the lock the stopped workload left behind');
    }
    return { status: 'ok', ...(mine.length > 0 ? { reason: `removed the stopped workload's lock of ${mine.map((c) => c.client).join(', ')}` } : {}) };
  }

  async inspect(spec: StorageSpec, o: StorageOptions): Promise<StorageView> {
    const s = rbdSpec(spec);
    const name = imageName(s);
    const deadline = performance.now() + o.timeoutMs;
    const view: StorageView & { type: 'rbd' } = { type: 'rbd', name, holders: [], watchers: [], blocklisted: [] };
    const [locks, watchers, bl] = await Promise.all([this.locks(s, deadline), this.watchers(s, deadline), this.run('ceph', ['osd', 'blocklist', 'ls'], s, deadline)]);
    const errors: string[] = [];
    if ('error' in locks) errors.push(locks.error.reason ?? locks.error.status);
    else view.holders = locks.clients;
    if ('error' in watchers) errors.push(watchers.error.reason ?? watchers.error.status);
    else view.watchers = watchers.clients;
    if (bl.ok) {
      const known = new Set([...(this.seen.get(name) ?? []), ...view.holders.map((c) => c.address), ...view.watchers.map((c) => c.address)]);
      view.blocklisted = parseBlocklist(bl.stdout).filter((e) => known.has(e.address));
    } else {
      errors.push(bl.timedOut ? 'ceph osd blocklist ls: no answer from Ceph in time' : `ceph osd blocklist ls: ${bl.reason}`);
    }
    if (errors.length > 0) view.error = errors.join('; ');
    return view;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  // ---- steps ------------------------------------------------------------------------------------

  /** Every locker and watcher of the image that is not this node's goes on Ceph's blocklist. */
  private async blocklistOthers(s: RbdSpec, deadline: number, lost: string): Promise<ActionResult> {
    const name = imageName(s);
    const [locks, watchers] = await Promise.all([this.locks(s, deadline), this.watchers(s, deadline)]);
    if ('error' in locks) return locks.error;
    if ('error' in watchers) return watchers.error;
    const others = new Map<string, RbdClient>();
    for (const c of [...locks.clients, ...watchers.clients]) if (!c.local) others.set(c.address, c);
    const expiry = String(s.blocklistExpirySeconds ?? DEFAULT_EXPIRY_S);
    for (const c of others.values()) {
      const r = await this.run('ceph', ['osd', 'blocklist', 'add', c.address, expiry], s, deadline, false);
      if (!r.ok) return r.timedOut ? { status: 'timeout', reason: `ceph osd blocklist add ${c.address}: no answer from Ceph in time` } : { status: 'error', reason: `ceph osd blocklist add ${c.address}: ${r.reason}` };
      this.blocklistedHere.set(c.address, performance.now() + Number(expiry) * 1000);
      this.opts.logger?.info({ storage: name, lost, client: c.client, address: c.address, expirySeconds: Number(expiry) }, 'rbd: blocklisted a client of another node');
    }
    return { status: 'ok', reason: others.size === 0 ? `${name}: no client of another node` : `${name}: blocklisted ${[...others.values()].map((c) => `${c.client} (${c.address})`).join(', ')}` };
  }

  /** Every lock of the image held by a client that is not this node's is removed. */
  private async breakOtherLocks(s: RbdSpec, deadline: number, lost: string): Promise<ActionResult> {
    const name = imageName(s);
    const locks = await this.locks(s, deadline);
    if ('error' in locks) return locks.error;
    const others = locks.clients.filter((c) => !c.local);
    for (const c of others) {
      // `rbd lock rm` blocklists the locker first (rbd_blocklist_on_break_lock) and waits for the
      // new OSD map, about a second: skipped only for an address the blocklist step of this
      // driver put on the blocklist itself and whose entry has not expired
      const listed = (this.blocklistedHere.get(c.address) ?? 0) > performance.now() + 60_000;
      const r = await this.run('rbd', ['lock', 'rm', name, c.lockId!, c.client, ...(listed ? ['--rbd-blocklist-on-break-lock=false'] : [])], s, deadline, false);
      // gone meanwhile (its client's watch expired, or librbd broke it): what this step wants
      if (!r.ok && !missing(r)) return r.timedOut ? { status: 'timeout', reason: `rbd lock rm ${name}: no answer from Ceph in time` } : { status: 'error', reason: `rbd lock rm ${name} ${c.client}: ${r.reason}` };
      this.opts.logger?.info({ storage: name, lost, client: c.client, address: c.address, lockId: c.lockId }, 'rbd: broke the lock of a client of another node');
    }
    return { status: 'ok', reason: others.length === 0 ? `${name}: no lock of another node` : `${name}: broke the lock of ${others.map((c) => c.client).join(', ')}` };
  }

  // ---- reading Ceph -----------------------------------------------------------------------------

  private async locks(s: RbdSpec, deadline: number): Promise<{ clients: RbdClient[] } | { error: ActionResult }> {
    const name = imageName(s);
    const r = await this.run('rbd', ['lock', 'ls', name], s, deadline);
    if (!r.ok) return { error: this.readError(`rbd lock ls ${name}`, r) };
    const clients = parseLocks(r.stdout).map((l) => ({ client: l.client, address: l.address, lockId: l.lockId, local: this.isLocal(l.address) }));
    this.remember(name, clients);
    return { clients };
  }

  private async watchers(s: RbdSpec, deadline: number): Promise<{ clients: RbdClient[] } | { error: ActionResult }> {
    const name = imageName(s);
    const r = await this.run('rbd', ['status', name], s, deadline);
    if (!r.ok) return { error: this.readError(`rbd status ${name}`, r) };
    const clients = parseWatchers(r.stdout).map((w) => ({ client: w.client, address: w.address, local: this.isLocal(w.address) }));
    this.remember(name, clients);
    return { clients };
  }

  private readError(what: string, r: Ran): ActionResult {
    if (r.timedOut) return { status: 'timeout', reason: `${what}: no answer from Ceph in time` };
    if (missing(r)) return { status: 'notInstalled', reason: `${what}: the image does not exist (${r.reason})` };
    return { status: 'error', reason: `${what}: ${r.reason}` };
  }

  private isLocal(address: string): boolean {
    return this.local().includes(addressIp(address));
  }

  private remember(name: string, clients: RbdClient[]): void {
    const list = this.seen.get(name) ?? [];
    for (const c of clients) if (!list.includes(c.address)) list.push(c.address);
    this.seen.set(name, list.slice(-REMEMBERED_ADDRESSES));
  }

  /** One Ceph tool with the spec's connection options, bounded by what is left of the operation's time. */
  private async run(tool: 'rbd' | 'ceph', args: string[], s: RbdSpec, deadline: number, json = true): Promise<Ran> {
    const conn = [...(s.cephConf ? ['--conf', s.cephConf] : []), ...(s.user ? ['--id', s.user] : []), ...(s.keyring ? ['--keyring', s.keyring] : [])];
    const left = Math.round(deadline - performance.now());
    if (left <= 0) return { ok: false, code: null, timedOut: true, stdout: '', reason: 'out of time' };
    const file = this.opts.binDir ? `${this.opts.binDir}/${tool}` : tool;
    const o = await runInGroup(file, [...conn, ...args, ...(json ? ['--format', 'json'] : [])], { timeoutMs: left, keepStdout: 1 << 20 });
    const reason = o.spawnError ? `${tool} not found (${o.spawnError}): install ceph-common` : lastLines(o.stderr || o.stdout);
    return { ok: o.code === 0, code: o.code, timedOut: o.timedOut, stdout: o.stdout, reason };
  }
}

function rbdSpec(spec: StorageSpec): RbdSpec {
  if (spec.type !== 'rbd') throw new Error(`RbdStorage: given a ${spec.type} storage spec (a bug in the driver table)`);
  return spec;
}

function imageName(s: RbdSpec): string {
  return `${s.pool}/${s.image}`;
}

/** The last lines of a tool's complaint, one line; Ceph's timestamped client log noise dropped. */
function lastLines(text: string, n = 2): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d{4} [0-9a-f]+ -1 /.test(l))
    .slice(-n)
    .join(' | ');
}
