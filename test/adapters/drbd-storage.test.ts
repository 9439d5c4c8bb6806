// The DRBD storage driver against the FAKE DRBD 9 (test/fake-drbd: this kernel has no DRBD module):
// what acquire, release, takeOver and outdate do and refuse, and what inspect reads from
// `drbdsetup status --json`. The commands it runs through drbdadm are also given to the REAL
// drbdadm of drbd-utils in dry-run mode (`drbdadm -d`, RECIPES.md §5) with a real drbd.conf that
// uses `tsha drbd fence-peer` as its fence-peer handler: real drbdadm must accept that file and
// turn each of them into the drbdsetup call it stands for.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DrbdStorage, parseDrbdStatus } from '../../src/adapters/storage/index.js';
import type { StorageSpec } from '../../src/config/types.js';

const FAKE = path.resolve('test/fake-drbd');
const REAL_DRBDADM = '/usr/sbin/drbdadm';
const realDrbd = fs.existsSync(REAL_DRBDADM);
if (!realDrbd && process.env.CI === 'true') throw new Error('CI must run the DRBD dry-run test: install drbd-utils');

const dir = fs.mkdtempSync(path.join(tmpdir(), 'tsha-drbd-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const spec: StorageSpec = { type: 'drbd', resource: 'r0' };
const T = { timeoutMs: 10_000 };
let state = '';
let n = 0;

/** A node's view: the FAKE tools as that node, in a state directory shared with the other node. */
function node(name: string, drbdadm = path.join(FAKE, 'drbdadm')): { d: DrbdStorage; sh: (...args: string[]) => { code: number | null; out: string; err: string } } {
  const env = { FAKE_DRBD_STATE: state, TSHA_NODE: name, PATH: `${FAKE}:${process.env.PATH}` };
  const d = new DrbdStorage({ drbdadm, drbdsetup: path.join(FAKE, 'drbdsetup'), env, recordDir: path.join(state, `records-${name}`) });
  const sh = (...args: string[]) => {
    const r = spawnSync(args[0]!, args.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  return { d, sh };
}

/** A fresh resource r0 on nodes a and b (node ids 0 and 1), both up, connected, UpToDate, Secondary. */
function init(...extra: string[]): void {
  state = path.join(dir, `s${++n}`);
  fs.mkdirSync(state);
  execFileSync(path.join(FAKE, 'fake-drbdctl'), ['init', 'r0', '--nodes', 'a=10.90.0.1:7789,b=10.90.0.2:7789', ...extra], { env: { ...process.env, FAKE_DRBD_STATE: state } });
  for (const x of ['a', 'b']) expect(node(x).sh(path.join(FAKE, 'drbdadm'), 'up', 'r0').code).toBe(0);
}
const ctl = (...args: string[]) => execFileSync(path.join(FAKE, 'fake-drbdctl'), args, { env: { ...process.env, FAKE_DRBD_STATE: state }, encoding: 'utf8' });
const fakeState = () => JSON.parse(ctl('show')) as { resources: { r0: { nodes: Record<string, { role: string; disk: string }> } }; history: { event: string; node: string; exit?: number }[] };

describe('DrbdStorage against the FAKE DRBD 9', () => {
  beforeEach(() => init());

  it('acquire promotes an UpToDate Secondary; inspect reads role, disk and peers; release demotes', async () => {
    const { d } = node('a');
    expect(await d.acquire(spec, T)).toEqual({ status: 'ok' });
    expect(await d.inspect(spec, T)).toEqual({ type: 'drbd', name: 'r0', role: 'Primary', disk: 'UpToDate', peers: [{ node: 'b', connection: 'Connected', role: 'Secondary', disk: 'UpToDate' }] });
    expect(await node('b').d.inspect(spec, T)).toMatchObject({ role: 'Secondary', peers: [{ node: 'a', connection: 'Connected', role: 'Primary', disk: 'UpToDate' }] });
    expect(await d.acquire(spec, T)).toEqual({ status: 'ok', reason: 'already Primary here' });
    expect(await d.release(spec, T)).toEqual({ status: 'ok' });
    expect(fakeState().resources.r0.nodes.a!.role).toBe('Secondary');
    expect(await d.release(spec, T)).toEqual({ status: 'ok' }); // already Secondary
  });

  it('acquire refuses while a connected peer is Primary (error) and with a local disk that is not UpToDate (errorHard, saying why)', async () => {
    expect((await node('a').d.acquire(spec, T)).status).toBe('ok');
    expect(await node('b').d.acquire(spec, T)).toEqual({ status: 'error', reason: 'refusing to promote r0: the connected peer a is Primary' });
    await node('a').d.release(spec, T);
    ctl('set', 'r0', 'b', 'disk=Outdated');
    const r = await node('b').d.acquire(spec, T);
    expect(r.status).toBe('errorHard');
    expect(r.reason).toMatch(/refusing to promote r0: the local disk is Outdated, not UpToDate/);
    ctl('set', 'r0', 'b', 'disk=Inconsistent');
    expect((await node('b').d.acquire(spec, T)).reason).toMatch(/local disk is Inconsistent/);
    expect(fakeState().resources.r0.nodes.b!.role).toBe('Secondary');
  });

  it('the FAKE itself refuses what DRBD refuses, with DRBD\'s messages and exit codes', () => {
    const a = node('a');
    const b = node('b');
    const adm = path.join(FAKE, 'drbdadm');
    expect(a.sh(adm, 'primary', 'r0').code).toBe(0);
    expect(b.sh(adm, 'primary', 'r0')).toMatchObject({ code: 11, err: "r0: State change failed: (-1) Multiple primaries not allowed by config\nCommand 'drbdsetup primary r0' terminated with exit code 11\n" });
    expect(a.sh(adm, 'outdate', 'r0')).toMatchObject({ code: 17, err: expect.stringContaining('(-2) Need access to UpToDate data') });
    expect(b.sh(adm, 'outdate', 'r0')).toMatchObject({ code: 11, err: expect.stringContaining('(-6) Refusing to be Outdated while Connected') });
    ctl('set', 'r0', 'b', 'disk=Inconsistent');
    expect(a.sh(adm, 'secondary', 'r0').code).toBe(0);
    expect(b.sh(adm, 'primary', 'r0')).toMatchObject({ code: 17, err: expect.stringContaining('(-2) Need access to UpToDate data') });
    expect(a.sh(adm, 'down', 'r0').code).toBe(0);
    expect(a.sh(path.join(FAKE, 'drbdsetup'), 'status', 'r0', '--json')).toMatchObject({ code: 10, err: 'r0: No such resource\n' });
  });

  it('not up here: inspect says so, acquire is errorHard, release has nothing to give up', async () => {
    const { d, sh } = node('a');
    sh(path.join(FAKE, 'drbdadm'), 'down', 'r0');
    expect(await d.inspect(spec, T)).toMatchObject({ error: 'DRBD resource r0 is not up on this node', peers: [] });
    expect(await d.acquire(spec, T)).toMatchObject({ status: 'errorHard', reason: 'DRBD resource r0 is not up on this node' });
    expect((await d.release(spec, T)).status).toBe('ok');
  });

  it('takeOver outdate_peer: refused while DRBD still sees the lost node Connected; once it is gone, its fence is recorded for the handler', async () => {
    const { d } = node('b');
    const r = await d.takeOver(spec, 'outdate_peer', { lost: 'a', timeoutMs: 5000 });
    expect(r).toMatchObject({ status: 'error', reason: 'a was fenced but DRBD still sees it Connected on r0: not taking over' });
    expect(d.fencedPeer('r0', 'a')).toBeNull();
    ctl('power-off', 'a');
    expect(await d.takeOver(spec, 'outdate_peer', { lost: 'a', timeoutMs: 5000 })).toMatchObject({ status: 'ok' });
    expect(d.fencedPeer('r0', 'a')).toMatchObject({ resource: 'r0', peer: 'a' });
    expect(await d.inspect(spec, T)).toMatchObject({ peers: [{ node: 'a', connection: 'Connecting', role: 'Unknown', disk: 'DUnknown' }] });
    d.forgetFence('r0', 'a');
    expect(d.fencedPeer('r0', 'a')).toBeNull();
  });

  it('outdate: a disconnected Secondary outdates its disk; a Primary refuses', async () => {
    ctl('cut', 'r0', 'a', 'b');
    expect(await node('b').d.outdate(spec, 5000)).toEqual({ outcome: 'outdated', reason: 'r0: local disk outdated' });
    expect(fakeState().resources.r0.nodes.b!.disk).toBe('Outdated');
    expect(await node('a').d.acquire(spec, T)).toMatchObject({ status: 'ok' }); // dont-care fencing: no handler
    expect(await node('a').d.outdate(spec, 5000)).toEqual({ outcome: 'primary', reason: 'r0 is Primary on this node' });
    // the link back: the Outdated side resyncs from the UpToDate one
    ctl('heal', 'r0', 'a', 'b');
    expect(await node('b').d.inspect(spec, T)).toMatchObject({ disk: 'UpToDate', peers: [{ connection: 'Connected', role: 'Primary', disk: 'UpToDate' }] });
  });
});

describe('the FAKE DRBD runs the fence-peer handler with DRBD\'s environment and takes its exit code as DRBD does', () => {
  const envFile = () => path.join(state, 'handler.env');
  const handler = (exit: number) => `env | grep -E '^(DRBD_|UP_TO_DATE_NODES)' | sort > "$(dirname "$DRBD_CONF")/handler.env"; exit ${exit}`;

  it.each([
    [7, 'ok', 'Outdated', 'UpToDate'],
    [4, 'ok', 'Outdated', 'UpToDate'],
    [5, 'ok', 'Outdated', 'UpToDate'],
    [3, 'ok', 'Inconsistent', 'UpToDate'],
    [6, 'errorHard', 'DUnknown', 'Outdated'],
    [1, 'error', 'DUnknown', 'UpToDate'],
    [2, 'error', 'DUnknown', 'UpToDate'],
  ])('promotion with the peer unreachable, handler exit %i → acquire %s, peer disk %s, own disk %s', async (exit, status, peerDisk, ownDisk) => {
    init('--fencing', 'resource-and-stonith', '--fence-peer', handler(exit));
    ctl('power-off', 'a');
    const { d } = node('b');
    const r = await d.acquire(spec, T);
    expect(r.status, r.reason).toBe(status);
    if (status !== 'ok') expect(r.reason).toMatch(exit === 6 ? /Need access to UpToDate data/ : /Refusing to be Primary while peer is not outdated/);
    expect(await d.inspect(spec, T)).toMatchObject({ role: status === 'ok' ? 'Primary' : 'Secondary', disk: ownDisk, peers: [{ node: 'a', disk: peerDisk }] });
    const env = Object.fromEntries(fs.readFileSync(envFile(), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
    expect(env).toEqual({
      DRBD_CONF: path.join(state, 'state.json'), DRBD_CSTATE: 'Connecting', DRBD_MINOR_0: '0', DRBD_MY_ADDRESS: '10.90.0.2', DRBD_MY_AF: 'ipv4', DRBD_MY_NODE_ID: '1',
      DRBD_NODE_ID_0: 'a', DRBD_NODE_ID_1: 'b', DRBD_PEER_ADDRESS: '10.90.0.1', DRBD_PEER_AF: 'ipv4', DRBD_PEER_NODE_ID: '0', DRBD_RESOURCE: 'r0', DRBD_VOLUME: '0',
      UP_TO_DATE_NODES: '0x00000002',
    });
    expect(fakeState().history.filter((h) => h.event === 'fence-peer-done').map((h) => [h.node, h.exit])).toEqual([['b', exit]]);
  });

  it('a Primary that loses its link runs the handler at once (DRBD freezes I/O until it answers)', () => {
    init('--fencing', 'resource-and-stonith', '--fence-peer', handler(4));
    expect(node('a').sh(path.join(FAKE, 'drbdadm'), 'primary', 'r0').code).toBe(0);
    ctl('cut', 'r0', 'a', 'b');
    expect(fakeState().history.filter((h) => h.event === 'fence-peer-done').map((h) => [h.node, h.exit])).toEqual([['a', 4]]);
    expect(fs.readFileSync(envFile(), 'utf8')).toContain('DRBD_PEER_NODE_ID=1');
  });
});

describe.skipIf(!realDrbd)('REAL drbdadm (drbd-utils, dry run) accepts the commands the driver runs, for a drbd.conf with tsha\'s handlers', () => {
  const conf = path.join(dir, 'drbd.conf');
  const log = path.join(dir, 'dry-run.log');
  fs.writeFileSync(conf, `global { usage-count no; }
resource r0 {
  net { fencing resource-and-stonith; }
  handlers {
    fence-peer "tsha drbd fence-peer";
    after-resync-target "tsha drbd unfence-peer";
  }
  on a { node-id 0; device /dev/drbd0; disk /dev/vg0/r0; address 10.90.0.1:7789; meta-disk internal; }
  on b { node-id 1; device /dev/drbd0; disk /dev/vg0/r0; address 10.90.0.2:7789; meta-disk internal; }
  connection-mesh { hosts a b; }
}
`);
  const realEnv = (host: string) => ({ ...process.env, DRBD_DRIVER_VERSION_OVERRIDE: '9.2.0', __DRBD_NODE__: host });

  it('the drbd.conf parses, handlers included', () => {
    const dump = execFileSync(REAL_DRBDADM, ['-c', conf, 'dump', 'r0'], { env: realEnv('a'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(dump).toMatch(/fence-peer\s+"tsha drbd fence-peer";/);
    expect(dump).toMatch(/after-resync-target\s+"tsha drbd unfence-peer";/);
    expect(dump).toMatch(/fencing\s+resource-and-stonith;/);
  });

  it('primary, secondary and outdate as the driver runs them: real drbdadm -d turns each into its drbdsetup call', async () => {
    init();
    // drbdadm for the driver: the REAL one in dry-run mode first (it must accept the command for
    // this drbd.conf; what it would run is logged), then the FAKE one that changes the state
    const wrapper = path.join(dir, 'drbdadm-dry-then-fake');
    fs.writeFileSync(wrapper, `#!/bin/sh
echo "# drbdadm $*" >> ${log}
DRBD_DRIVER_VERSION_OVERRIDE=9.2.0 __DRBD_NODE__="$TSHA_NODE" ${REAL_DRBDADM} -c ${conf} -d "$@" >> ${log} 2>/dev/null || { echo "real drbdadm refused: $*" >&2; exit 20; }
exec ${path.join(FAKE, 'drbdadm')} "$@"
`, { mode: 0o755 });
    const a = node('a', wrapper);
    const b = node('b', wrapper);
    expect(await a.d.acquire(spec, T)).toEqual({ status: 'ok' });
    expect(await a.d.release(spec, T)).toEqual({ status: 'ok' });
    ctl('cut', 'r0', 'a', 'b');
    expect((await b.d.outdate(spec, 5000)).outcome).toBe('outdated');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toEqual([
      '# drbdadm primary r0', `${path.dirname(REAL_DRBDADM)}/drbdsetup primary r0`,
      '# drbdadm secondary r0', `${path.dirname(REAL_DRBDADM)}/drbdsetup secondary r0`,
      '# drbdadm outdate r0', `${path.dirname(REAL_DRBDADM)}/drbdsetup outdate r0 0`, `${path.dirname(REAL_DRBDADM)}/drbdmeta 0 v09 /dev/vg0/r0 internal outdate`,
    ]);
  });
});

describe('parseDrbdStatus', () => {
  it('takes the worst volume of a multi-volume resource unless the spec names one, and null for another resource', () => {
    const json = JSON.stringify([{
      name: 'r1', role: 'Secondary', devices: [{ volume: 0, 'disk-state': 'UpToDate' }, { volume: 1, 'disk-state': 'Inconsistent' }],
      connections: [{ name: 'b', 'peer-node-id': 1, 'connection-state': 'Connected', 'peer-role': 'Primary', peer_devices: [{ volume: 0, 'peer-disk-state': 'UpToDate' }, { volume: 1, 'peer-disk-state': 'UpToDate' }] }],
    }]);
    expect(parseDrbdStatus(json, { type: 'drbd', resource: 'r1' })).toMatchObject({ disk: 'Inconsistent', peers: [{ node: 'b', role: 'Primary', disk: 'UpToDate' }] });
    expect(parseDrbdStatus(json, { type: 'drbd', resource: 'r1', volume: 0 })).toMatchObject({ disk: 'UpToDate' });
    expect(parseDrbdStatus(json, { type: 'drbd', resource: 'r0' })).toBeNull();
  });
});
