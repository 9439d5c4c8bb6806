// DRBD promotion and DRBD's fence-peer hook carried out by the real agents on the real-cluster
// harness (2 nodes + witness, wireguard-go mesh, systemd --user, scripts/fence_tsha_test), over the
// FAKE DRBD 9 of test/fake-drbd (this kernel has no DRBD module: nothing is replicated; the FAKE
// keeps each node's role, disk and connection state in one state file of the test and runs the
// fence-peer handler as DRBD does). The resource is what a user writes: a promotable clone of an
// `exec` primitive (`drbdadm up/down`) holding DRBD storage r0, and a systemd unit `web` ordered
// after the promote and colocated with the promoted role. DRBD's handler is `tsha drbd fence-peer`.
//
// - Power loss of the Primary's node: the survivor promotes only after the fence (the FAKE's history
//   against the harness's fence log: its handler answered 7, then it became Primary), and web starts
//   there after the promote; never two Primaries, web never on two nodes.
// - The Secondary's DRBD stuck (the FAKE's freeze: it cannot outdate itself), the replication link
//   cut: the Primary's handler asks its agent, then the Secondary's node drops off the network; the
//   peer is lost but not fenced yet, so the handler waits for the cluster's own fencing and answers
//   7 after it; the workload on the Primary never stops.
// - The replication link cut while both nodes live: the Primary's handler gets the peer outdated
//   through the cluster (exit 4), the peer's disk shows Outdated, and once the Primary's node goes
//   to standby the peer refuses to be promoted, with the reason in `tsha status` failed actions.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/adapters/grpc/control-client.js';
import { clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, samplingStats, sleep, type Cluster, type ClusterNode } from './harness.js';
import { ensureBuilt, MAIN_JS, ROOT, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the DRBD cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn('skipping DRBD cluster tests: needs the real-cluster harness');

const FAKE = path.join(ROOT, 'test/fake-drbd');
const FORM_MS = 30_000;
const LIVENESS_MS = 20_000;
const run = promisify(execFile);

interface FakeNode { role: string; disk: string; up: boolean }
interface FakeEvent { t: number; node: string; event: string; role?: string; disk?: string; exit?: number; outcome?: string; peer?: string; stdout?: string; stderr?: string }
interface FakeState { resources: { r0: { nodes: Record<string, FakeNode> } }; history: FakeEvent[] }

describe.skipIf(!pre.ok)('DRBD (FAKE DRBD 9) promotion and fence-peer hook on the real-cluster harness', () => {
  let c: Cluster | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  let stateDir = '';
  /** The FAKE's control (async: the handler it may run talks to an agent this process must keep serving). */
  const ctl = async (...args: string[]): Promise<string> => (await run(path.join(FAKE, 'fake-drbdctl'), args, { env: { ...process.env, FAKE_DRBD_STATE: stateDir } })).stdout;
  const fake = (): FakeState => JSON.parse(fs.readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as FakeState;
  const primaries = (): string[] => Object.entries(fake().resources.r0.nodes).filter(([, n]) => n.up && n.role === 'Primary').map(([name]) => name);

  async function up(): Promise<{ t: TshaCluster; cl: Cluster }> {
    const cl = await createCluster({ nodes: 2, witness: true });
    c = cl;
    stateDir = path.join(cl.dir, 'fake-drbd');
    fs.mkdirSync(stateDir);
    // the handler DRBD would run from drbd.conf; the FAKE fills in the node it runs as ({node}), so
    // each node's handler reaches its own agent's control socket
    const handler = `${process.execPath} ${MAIN_JS} drbd fence-peer --timeout 30 --socket ${path.join(cl.dir, 'nodes', '{node}', 'agent.sock')}`;
    await ctl('init', 'r0', '--nodes', cl.nodes.map((n) => `${n.name}=${n.underlayIp}:7789`).join(','), '--fencing', 'resource-and-stonith', '--fence-peer', handler);
    const t = new TshaCluster(cl, { resourceId: 'web', agentEnv: { PATH: `${FAKE}:${process.env.PATH}`, FAKE_DRBD_STATE: stateDir } });
    const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
    const web = cfg.resources!.web as Record<string, unknown>;
    cfg.resources = {
      r0: {
        kind: 'exec',
        params: { start: 'drbdadm up r0', stop: 'drbdadm down r0', monitor: 'drbdsetup status r0 >/dev/null 2>&1 || exit 7' },
        storage: { type: 'drbd', resource: 'r0' },
        operations: { monitor: { intervalMs: 1000, timeoutMs: 10_000 }, start: { timeoutMs: 10_000 }, stop: { timeoutMs: 10_000 }, promote: { timeoutMs: 40_000 }, demote: { timeoutMs: 10_000 } },
      },
      web: { ...web, colocation: [{ with: 'r0-clone', withRole: 'promoted', score: 'INFINITY' }], order: [{ after: 'r0-clone', firstAction: 'promote', thenAction: 'start' }] },
    };
    cfg.clones = { 'r0-clone': { child: 'r0', promotable: true, promotedMax: 1 } };
    fs.writeFileSync(t.configFile, JSON.stringify(cfg, null, 2));
    await t.installUnit();
    t.startAll();
    await t.waitQuorate(FORM_MS);
    return { t, cl };
  }

  /** One Primary, web active there only, both steady for a second: returns the Primary's node. */
  async function steady(t: TshaCluster, cl: Cluster): Promise<ClusterNode> {
    const holder = await t.waitFor('one DRBD Primary with web on it', async () => {
      const p = primaries();
      const on = await t.activeOn();
      return p.length === 1 && on.length === 1 && on[0] === p[0] && Object.values(fake().resources.r0.nodes).every((n) => n.up && n.disk === 'UpToDate') ? p[0] : null;
    }, LIVENESS_MS, 100);
    await sleep(1000);
    expect(primaries()).toEqual([holder]);
    // the FAKE does not hear of a fence the harness carried out: a node fenced while the cluster
    // formed would leave its DRBD side "up" there, and the test would not test what it says
    expect(cl.fenceLog, `a node was fenced while the cluster formed:\n${t.logs(60)}`).toEqual([]);
    expect(cl.nodes.every((n) => n.power === 'up')).toBe(true);
    return cl.node(holder!);
  }

  /** Every moment of the FAKE's history with two Primaries at once (replayed from its events). */
  function twoPrimaries(h: FakeEvent[]): FakeEvent[] {
    const role = new Map<string, string>();
    const bad: FakeEvent[] = [];
    for (const e of h) {
      if (e.role !== undefined) role.set(e.node, e.event === 'down' || e.event === 'power-off' ? 'Secondary' : e.role);
      if ([...role.values()].filter((r) => r === 'Primary').length > 1) bad.push(e);
    }
    return bad;
  }

  it('power loss of the Primary\'s node: fenced, then the survivor\'s handler answers 7 and it promotes, then web starts there', async () => {
    const { t, cl } = await up();
    const primary = await steady(t, cl);
    const survivor = cl.nodes.find((n) => n !== primary)!;
    const s = cl.sampleUnits(t.unit);
    try {
      await sleep(300);
      const t0 = now();
      // the machine goes: its DRBD side with it (the FAKE's kernel state), and every process
      await ctl('power-off', primary.name);
      const { t: faultT } = await cl.powerLoss(primary);
      await s.waitUntil('web on the survivor', (k) => k.t >= faultT && k.states[survivor.name] === 'active', LIVENESS_MS);
      await sleep(1000);
      const tl = await s.stop();
      const h = fake().history.filter((e) => e.t >= t0);
      const fence = cl.fenceLog.find((e) => e.action === 'off' && e.plug === primary.name && e.t >= t0);
      expect(fence, JSON.stringify(cl.fenceLog)).toBeDefined();
      const promoted = h.find((e) => e.node === survivor.name && e.event === 'primary');
      expect(promoted, JSON.stringify(h)).toBeDefined();
      const handled = h.filter((e) => e.node === survivor.name && e.event === 'fence-peer-done');
      expect(handled.map((e) => [e.peer, e.exit, e.outcome]), JSON.stringify(handled)).toEqual([[primary.name, 7, 'peer was stonithed']]);
      // ordering, from outside: fence confirmed → handler answered 7 → Primary → web active
      expect(handled[0]!.t).toBeGreaterThan(fence!.t);
      expect(promoted!.t).toBeGreaterThan(handled[0]!.t);
      const first = firstActiveAfter(tl, faultT, { exclude: [primary.name] })!;
      expect(first.node).toBe(survivor.name);
      expect(first.t).toBeGreaterThan(promoted!.t);
      expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
      expect(twoPrimaries(fake().history)).toEqual([]);
      expect(fake().resources.r0.nodes[survivor.name]).toMatchObject({ role: 'Primary', disk: 'UpToDate' });
      const st = await t.status(survivor);
      expect(st?.resources.filter((r) => r.clone === 'r0-clone' && r.state === 'promoted').flatMap((r) => r.nodes)).toEqual([survivor.name]);
      console.log(`[itest drbd-power-loss] ${primary.name} (Primary) off → fenced after ${Math.round(fence!.t - faultT)} ms, ${survivor.name}'s fence-peer handler answered 7 after ${Math.round(handled[0]!.t - faultT)} ms (${handled[0]!.stdout ?? ''}), Primary after ${Math.round(promoted!.t - faultT)} ms, web active after ${Math.round(first.ms)} ms (sampling ${JSON.stringify(samplingStats(tl))})`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('the Secondary\'s DRBD stuck, then its node cut off: the Primary\'s handler waits for the cluster to fence it and answers 7; web never stops', async () => {
    const { t, cl } = await up();
    const primary = await steady(t, cl);
    const secondary = cl.nodes.find((n) => n !== primary)!;
    const s = cl.sampleUnits(t.unit);
    try {
      await sleep(300);
      const t0 = now();
      // the Secondary's DRBD is stuck (its commands wait), so it cannot carry out an outdate request;
      // the replication link goes and the Primary's DRBD runs its handler, which asks the agent
      const frozen = await ctl('freeze', secondary.name).then(() => now());
      const primaryLog = t.agents.get(primary.name)!;
      const askedCount = (): number => primaryLog.output().split('DRBD fence-peer handler: settling the peer').length - 1;
      const before = askedCount(); // a promotion while the cluster formed may have run the handler too
      const cut = ctl('cut', 'r0', primary.name, secondary.name);
      await t.waitFor('the Primary\'s agent asked by its handler', async () => askedCount() > before, LIVENESS_MS, 20);
      const asked = now();
      // then the Secondary's node drops off the network: lost, not fenced yet; the handler waits for
      // the cluster's own fencing, which powers the node off
      await cl.cutLink(secondary);
      await cut;
      const h = fake().history.filter((e) => e.t >= t0);
      const started = h.find((e) => e.event === 'fence-peer-start');
      const handled = h.filter((e) => e.event === 'fence-peer-done');
      expect(handled.map((e) => [e.node, e.peer, e.exit, e.outcome]), JSON.stringify(handled)).toEqual([[primary.name, secondary.name, 7, 'peer was stonithed']]);
      const fence = cl.fenceLog.find((e) => e.action === 'off' && e.plug === secondary.name && e.t >= t0);
      expect(fence, JSON.stringify(cl.fenceLog)).toBeDefined();
      // the handler was waiting when the fence was confirmed, and answered after it
      expect(started!.t).toBeGreaterThan(frozen);
      expect(asked).toBeLessThan(fence!.t);
      expect(handled[0]!.t).toBeGreaterThan(fence!.t);
      expect(handled[0]!.stdout).toMatch(new RegExp(`r0 ${secondary.name}: fenced \\(exit 7\\): ${secondary.name} is down \\(fenced, log index \\d+\\) after [1-9]\\d* ms`));
      await sleep(1000);
      const tl = await s.stop();
      expect(tl.ticks.filter((k) => k.t >= t0).every((k) => k.states[primary.name] === 'active')).toBe(true);
      expect(fake().resources.r0.nodes[primary.name]).toMatchObject({ role: 'Primary', disk: 'UpToDate' });
      expect(fake().resources.r0.nodes[primary.name]).not.toHaveProperty('suspended');
      expect(twoPrimaries(fake().history)).toEqual([]);
      console.log(`[itest drbd-secondary-cut-off] ${secondary.name} (Secondary) cut off; ${primary.name}'s handler asked its agent at ${Math.round(asked - t0)} ms, fence confirmed at ${Math.round(fence!.t - t0)} ms, handler answered 7 at ${Math.round(handled[0]!.t - t0)} ms; web kept running on ${primary.name}`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('replication link cut with both nodes up: the Primary\'s handler gets the peer outdated (exit 4); the peer then refuses promotion, saying why in tsha status', async () => {
    const { t, cl } = await up();
    const primary = await steady(t, cl);
    const peer = cl.nodes.find((n) => n !== primary)!;
    const s = cl.sampleUnits(t.unit);
    try {
      const t0 = now();
      // the FAKE's DRBD on the Primary loses the peer and runs its handler (I/O frozen until it answers)
      await ctl('cut', 'r0', primary.name, peer.name);
      const h = fake().history.filter((e) => e.t >= t0);
      const handled = h.filter((e) => e.event === 'fence-peer-done');
      expect(handled.map((e) => [e.node, e.peer, e.exit, e.outcome]), JSON.stringify(handled)).toEqual([[primary.name, peer.name, 4, 'peer was fenced']]);
      expect(handled[0]!.stdout).toMatch(new RegExp(`tsha drbd fence-peer r0 ${peer.name}: outdated \\(exit 4\\)`));
      const outdated = h.find((e) => e.node === peer.name && e.event === 'outdate');
      expect(outdated, JSON.stringify(h)).toBeDefined();
      expect(outdated!.t).toBeLessThan(handled[0]!.t);
      const r0 = fake().resources.r0.nodes;
      expect(r0[peer.name]).toMatchObject({ role: 'Secondary', disk: 'Outdated' });
      expect(r0[primary.name]).toMatchObject({ role: 'Primary', disk: 'UpToDate' });
      expect(cl.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot')).toEqual([]);
      const handlerMs = Math.round(handled[0]!.t - t0);

      // the Primary's node goes to standby: the cluster demotes it and tries the peer, whose DRBD disk is Outdated
      const cli = new ControlClient({ socketPath: t.socket(primary), commandTimeoutMs: 10_000 });
      try {
        await cli.nodeCommand({ node: primary.name, action: 'standby', requestedBy: 'test' });
      } finally {
        cli.close();
      }
      const st = await t.waitFor('the refused promotion in tsha status', async () => {
        const x = await t.status(peer);
        return x?.failedActions.some((a) => a.node === peer.name && a.operation === 'promote') ? x : null;
      }, LIVENESS_MS, 200);
      const failed = st.failedActions.find((a) => a.node === peer.name && a.operation === 'promote')!;
      expect(failed).toMatchObject({ status: 'errorHard' });
      expect(failed.exitReason).toContain('storage r0 acquire: refusing to promote r0: the local disk is Outdated, not UpToDate');
      await sleep(1000);
      const tl = await s.stop();
      expect(primaries()).toEqual([]);
      expect(fake().resources.r0.nodes[peer.name]).toMatchObject({ role: 'Secondary', disk: 'Outdated' });
      expect(fake().history.filter((e) => e.node === peer.name && e.event === 'primary' && e.t >= t0)).toEqual([]);
      // web follows the promoted role: it ran on the Primary only, and nowhere once that was demoted
      expect(tl.ticks.filter((k) => k.t >= t0).some((k) => k.states[peer.name] === 'active')).toBe(false);
      expect(tl.ticks.at(-1)!.states[primary.name]).toBe('inactive');
      expect(twoPrimaries(fake().history)).toEqual([]);
      console.log(`[itest drbd-link-cut] link ${primary.name}–${peer.name} cut: ${primary.name}'s handler answered 4 after ${handlerMs} ms (${peer.name} outdated through the cluster); standby ${primary.name} → ${peer.name} refused promotion: ${failed.exitReason}`);
    } finally {
      await s.stop();
    }
  }, 120_000);
});
