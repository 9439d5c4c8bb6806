// The Ceph RBD storage driver against a REAL single-node Ceph (test/helpers/ceph.ts: mon, mgr and
// a memstore OSD on loopback, cephx on, the driver acting as client.tsha with its own keyring) and
// a real librbd workload (test/helpers/rbd-writer.py) holding the image's exclusive lock.
// The writer's client is made "another node's" by telling the driver this node has other
// addresses than loopback: that is how a node sees a lost node's client.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressIp, parseBlocklist, parseLocks, parseWatchers, RbdStorage } from '../../src/adapters/storage/rbd.js';
import type { StorageSpec } from '../../src/config/types.js';
import type { Logger } from '../../src/observability/logger.js';
import type { StorageView } from '../../src/ports/storage.js';
import { cephMissing, RBD_WRITER, startCeph, SYSTEM_PYTHON, type CephCluster } from '../helpers/ceph.js';
import { checkFiles } from '../helpers/rbd-check.js';

const missing = cephMissing();
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`CI must run the Ceph RBD driver tests; missing: ${missing.join(', ')}`);
if (missing.length > 0) console.warn(`skipping Ceph RBD driver tests: missing ${missing.join(', ')} (Debian packages ceph-mon ceph-mgr ceph-osd ceph-common python3-rbd python3-rados)`);

const T = { timeoutMs: 15_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rbd output parsing', () => {
  it('reads addresses, locks and watchers as Ceph 16 prints them', () => {
    expect(addressIp('10.213.0.1:0/2039488231')).toBe('10.213.0.1');
    expect(addressIp('v2:10.213.0.1:6800/12')).toBe('10.213.0.1');
    expect(addressIp('[fd00::1]:0/7')).toBe('fd00::1');
    expect(parseLocks('[{"id":"auto 1396","locker":"client.4141","address":"127.0.0.1:0/40"}]')).toEqual([{ lockId: 'auto 1396', client: 'client.4141', address: '127.0.0.1:0/40' }]);
    expect(parseLocks('{"auto 1":{"locker":"client.9","address":"1.2.3.4:0/5"}}')).toEqual([{ lockId: 'auto 1', client: 'client.9', address: '1.2.3.4:0/5' }]);
    expect(parseBlocklist('\n[{"addr":"[fd00::1]:0/7","until":"2026-12-06T15:29:21.192398+0000"}][]')).toEqual([{ address: '[fd00::1]:0/7', until: '2026-12-06T15:29:21.192398+0000' }]);
    expect(parseWatchers('{"watchers":[{"address":"127.0.0.1:0/40","client":4141,"cookie":1}]}')).toEqual([{ client: 'client.4141', address: '127.0.0.1:0/40' }]);
  });
});

describe('RbdStorage without Ceph', () => {
  it('refuses a takeover step that is not RBD\'s, and a spec that is not rbd (a bug)', async () => {
    const d = new RbdStorage();
    const spec: StorageSpec = { type: 'rbd', pool: 'p', image: 'i' };
    expect(await d.takeOver(spec, 'outdate_peer', { ...T, lost: 'n1' })).toMatchObject({ status: 'errorFatal' });
    await expect(d.acquire({ type: 'drbd', resource: 'r0' }, T)).rejects.toThrow(/given a drbd storage spec/);
  });

  it('reports a missing rbd tool as the reason, in time', async () => {
    const d = new RbdStorage({ binDir: '/nonexistent' });
    const r = await d.acquire({ type: 'rbd', pool: 'p', image: 'i' }, T);
    expect(r.status).toBe('error');
    expect(r.reason).toMatch(/rbd not found .*install ceph-common/);
  });
});

describe.skipIf(missing.length > 0)('RbdStorage with a real Ceph', () => {
  let ceph: CephCluster;
  let dir: string;
  let spec: Extract<StorageSpec, { type: 'rbd' }>;
  const writers: ChildProcess[] = [];
  /** this node as the survivor: loopback clients (the writer's) are another node's */
  let survivor: RbdStorage;
  /** this node as the writer's own node */
  let own: RbdStorage;
  const logged: string[] = [];

  const rbd = async (...args: string[]): Promise<string> => {
    const r = await ceph.cli(['rbd', '--id', 'tsha', '--keyring', ceph.clientKeyring!, ...args]);
    if (r.code !== 0) throw new Error(`rbd ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const image = async (name: string, features = 'layering,exclusive-lock'): Promise<Extract<StorageSpec, { type: 'rbd' }>> => {
    await rbd('create', `rbd/${name}`, '--size', '4M', '--image-feature', features);
    return { ...spec, image: name };
  };
  /** A writer holding the image's lock, its ack log in the test dir; resolves once it wrote. */
  const writer = async (s: Extract<StorageSpec, { type: 'rbd' }>, id: string): Promise<{ p: ChildProcess; acks: string }> => {
    const acks = path.join(dir, `${id}.acks`);
    const p = spawn(SYSTEM_PYTHON, [RBD_WRITER, '--pool', s.pool, '--image', s.image, '--id', id, '--acks', acks, '--conf', ceph.conf, '--user', 'tsha', '--keyring', ceph.clientKeyring!, '--every-ms', '10'], { stdio: 'ignore' });
    writers.push(p);
    for (let i = 0; i < 200 && !(fs.existsSync(acks) && fs.readFileSync(acks, 'utf8').includes('\nack ')); i++) await sleep(50);
    return { p, acks };
  };
  const exited = (p: ChildProcess): Promise<unknown> => (p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r)));
  const blocklist = async (): Promise<string[]> => {
    const r = await ceph.cli(['ceph', 'osd', 'blocklist', 'ls', '--format', 'json']);
    return parseBlocklist(r.stdout).map((e) => e.address);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsha-rbd-'));
    ceph = await startCeph({ dir: path.join(dir, 'ceph'), monAddr: `127.0.0.1:${13300 + (process.pid % 500)}`, cephx: true });
    spec = { type: 'rbd', pool: 'rbd', image: 'unset', cephConf: ceph.conf, user: 'tsha', keyring: ceph.clientKeyring!, blocklistExpirySeconds: 600 };
    const logger = { info: (o: unknown, m: string) => void logged.push(`${m} ${JSON.stringify(o)}`) } as unknown as Logger;
    survivor = new RbdStorage({ localAddresses: () => ['10.255.0.2'], logger });
    own = new RbdStorage({ logger });
  });

  afterAll(async () => {
    for (const p of writers) p.kill('SIGKILL');
    await Promise.all(writers.map(exited));
    await ceph?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('acquire: a missing image is not installed; one without exclusive-lock is refused everywhere, naming the fix; a free one is ok', async () => {
    const none = await survivor.acquire({ ...spec, image: 'nope' }, T);
    expect(none.status).toBe('notInstalled');
    expect(none.reason).toContain('rbd/nope does not exist');
    const plain = await survivor.acquire(await image('plain', 'layering'), T);
    expect(plain.status).toBe('errorFatal');
    expect(plain.reason).toContain('rbd feature enable rbd/plain exclusive-lock');
    expect((await survivor.acquire(await image('free'), T)).status).toBe('ok');
  });

  it('takeover from a lost node: blocklist and break its lock; its next write is refused (errno 108); acquire then succeeds', async () => {
    const s = await image('take');
    const w = await writer(s, 'old');
    const held = await survivor.acquire(s, T);
    expect(held.status).toBe('error');
    expect(held.reason).toMatch(/locked by client\.\d+ at 127\.0\.0\.1:0\/\d+: another node holds it; it is taken over only from a fenced node/);
    const before = (await survivor.inspect(s, T)) as Extract<StorageView, { type: 'rbd' }>;
    expect(before.error).toBeUndefined();
    expect(before.holders).toHaveLength(1);
    expect(before.holders[0]!.local).toBe(false);
    expect(before.watchers.map((c) => c.address)).toContain(before.holders[0]!.address);

    const bl = await survivor.takeOver(s, 'blocklist', { ...T, lost: 'n1' });
    expect(bl.status).toBe('ok');
    expect(await blocklist()).toContain(before.holders[0]!.address);
    const br = await survivor.takeOver(s, 'break_lock', { ...T, lost: 'n1' });
    expect(br.status).toBe('ok');
    expect(JSON.parse(await rbd('lock', 'ls', 'rbd/take', '--format', 'json'))).toEqual([]);
    // the writer's next write fails: Ceph refuses a blocklisted client
    await exited(w.p);
    await rbd('export', 'rbd/take', path.join(dir, 'take.img'));
    const check = checkFiles(fs.readFileSync(path.join(dir, 'take.img')), [w.acks]);
    expect(check.acked_lost).toBe(0);
    expect(check.writers[0]!.refused).toMatch(/errno=108/);
    expect((await survivor.acquire(s, T)).status).toBe('ok');
    // idempotent: nothing left to do is ok
    expect((await survivor.takeOver(s, 'blocklist', { ...T, lost: 'n1' })).reason).toContain('no client of another node');
    expect((await survivor.takeOver(s, 'break_lock', { ...T, lost: 'n1' })).reason).toContain('no lock of another node');
    const after = (await survivor.inspect(s, T)) as Extract<StorageView, { type: 'rbd' }>;
    expect(after.holders).toEqual([]);
    expect(after.blocklisted.map((e) => e.address)).toContain(before.holders[0]!.address);
    expect(logged.join('\n')).not.toContain(fs.readFileSync(ceph.clientKeyring!, 'utf8').match(/key = (\S+)/)![1]);
  });

  it('release after the workload stopped here: its left-over lock is removed, nobody blocklisted; a clean stop leaves nothing to remove', async () => {
    const s = await image('rel');
    const w = await writer(s, 'killed');
    expect((await own.acquire(s, T)).status).toBe('ok'); // its own node's client: not in the way
    w.p.kill('SIGKILL');
    await exited(w.p);
    const bl = await blocklist();
    expect(JSON.parse(await rbd('lock', 'ls', 'rbd/rel', '--format', 'json'))).toHaveLength(1);
    const rel = await own.release(s, T);
    expect(rel.status).toBe('ok');
    expect(rel.reason).toContain("removed the stopped workload's lock");
    expect(JSON.parse(await rbd('lock', 'ls', 'rbd/rel', '--format', 'json'))).toEqual([]);
    expect(await blocklist()).toEqual(bl);
    // a writer that stops on SIGTERM closes the image: the lock goes with it (another image: the
    // killed writer's watch stays until Ceph times it out, and a close waits for its notify acks)
    const s2 = await image('rel2');
    const w2 = await writer(s2, 'clean');
    w2.p.kill('SIGTERM');
    await exited(w2.p);
    expect(JSON.parse(await rbd('lock', 'ls', 'rbd/rel2', '--format', 'json'))).toEqual([]);
    expect((await own.release(s2, T)).reason).toBeUndefined();
  });

  it('another node\'s lock is never touched by release', async () => {
    const s = await image('other');
    const w = await writer(s, 'other');
    expect((await survivor.release(s, T)).status).toBe('ok');
    expect(JSON.parse(await rbd('lock', 'ls', 'rbd/other', '--format', 'json'))).toHaveLength(1);
    w.p.kill('SIGTERM');
    await exited(w.p);
  });

  it('inspect reports an error, in time, when Ceph cannot be read', async () => {
    const conf = path.join(dir, 'nowhere.conf');
    fs.writeFileSync(conf, '[global]\nmon host = v2:127.0.0.1:9\nauth client required = none\n[client]\nadmin socket =\nlog file = /dev/null\n');
    const t0 = performance.now();
    const v = await survivor.inspect({ ...spec, cephConf: conf, user: undefined, keyring: undefined } as typeof spec, { timeoutMs: 1500 });
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(v.error).toMatch(/no answer from Ceph in time/);
    const acq = await survivor.acquire({ ...spec, cephConf: conf }, { timeoutMs: 1500 });
    expect(acq.status).toBe('timeout');
  });
});
