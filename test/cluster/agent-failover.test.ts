// Integration tests of the real agent on the real-cluster harness: `tsha agent` (built dist/) per
// namespaced node over a wireguard-go mesh, `tsha witness`, a real systemd unit (`sleep infinity`
// under each node's own `systemd --user`) as the resource, and scripts/fence_tsha_test as the fence
// device (the stand-in for a power switch). Unit states are sampled from outside over D-Bus.
// Two fakes, because nothing real can run here: the fence device above, and (watchdog-fencing
// tests) a FAKE hardware watchdog per node (fake-watchdog.ts: a FIFO the agent feeds through its
// real watchdog adapter; no keepalive for timing.watchdogMs → the harness's powerLoss, as a reset).
//
// Safety is asserted strictly (no sampled instant with two running copies, the right side runs it);
// liveness only within generous bounds. Failover times are printed, not asserted: they live in
// `npm run bench:failover`.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, firstActiveAfter, lastRunningOn, now, overlap, samplingStats, sleep, type Cluster, type ClusterNode, type Timeline, type UnitSampler } from './harness.js';
import { FakeWatchdog } from './fake-watchdog.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn(`skipping real-agent cluster tests, missing: ${pre.missing.join(', ')}`);

const LIVENESS_MS = 15_000;
const FORM_MS = 30_000;
/** timing.watchdogMs of the watchdog-fencing tests, and the fake watchdogs' timeout */
const WD_MS = 3000;

/** Overlap with the ticks around it, for the failure message. */
function overlapReport(tl: Timeline): string {
  const ov = overlap(tl);
  const around = tl.ticks.filter((k) => ov.intervals.some((iv) => k.t >= iv.from - 200 && k.t <= iv.to + 200));
  return `${JSON.stringify(ov.intervals)}\n${around.map((k) => `${Math.round(k.t)} ${JSON.stringify(k.states)}`).join('\n')}`;
}

/** First sampled tick at or after `from` where `node` is in `state`. */
function firstStateAfter(tl: Timeline, node: string, state: string, from: number): number | undefined {
  return tl.ticks.find((k) => k.t >= from && k.states[node] === state)?.t;
}

describe.skipIf(!pre.ok)('tsha agents on the real-cluster harness', () => {
  let c: Cluster | undefined;
  let fakes: FakeWatchdog[] = [];
  beforeAll(() => {
    ensureBuilt();
  }, 180_000);
  afterEach(async () => {
    for (const f of fakes) await f.stop();
    fakes = [];
    await c?.destroy();
    c = undefined;
  }, 60_000);

  /**
   * Which survivors logged "host alive, agent gone" evidence about `victim` (a refused TCP connect to
   * its mesh port). A power loss of a namespaced node kills its wireguard-go too, and a cut link
   * drops everything: neither may produce it, or their failover would wait for the crash grace.
   */
  function crashEvidence(t: TshaCluster, victim: string, since: Map<string, number>): string[] {
    const about = (line: string): boolean => line.includes('"msg":"agent-down-evidence"') && line.includes(`"to":"${victim}"`);
    return [...t.agents].filter(([n, p]) => n !== victim && p.output().slice(since.get(n) ?? 0).split('\n').some(about)).map(([n]) => n);
  }

  /** Where each agent's log stands now (crashEvidence looks only at what follows). */
  function logMarks(t: TshaCluster): Map<string, number> {
    return new Map([...t.agents].map(([n, p]) => [n, p.output().length]));
  }

  async function up(opts: { nodes: number; witness: boolean }): Promise<{ c: Cluster; t: TshaCluster }> {
    c = await createCluster(opts);
    const t = new TshaCluster(c);
    await t.installUnit();
    t.startAll();
    await t.waitQuorate(FORM_MS);
    return { c, t };
  }

  /** Three nodes, NO fence device: fencing.watchdog, each agent feeding its own FAKE watchdog. */
  async function upWatchdogFencing(): Promise<{ c: Cluster; t: TshaCluster; wds: Map<string, FakeWatchdog> }> {
    c = await createCluster({ nodes: 3 });
    const wds = new Map<string, FakeWatchdog>();
    for (const n of c.nodes) {
      const f = await FakeWatchdog.start(c, n, WD_MS);
      fakes.push(f);
      wds.set(n.name, f);
    }
    const t = new TshaCluster(c, { fenceDevice: false, watchdogFencing: true, timing: { watchdogMs: WD_MS }, watchdogDevice: (n: ClusterNode) => wds.get(n.name)!.path });
    await t.installUnit();
    t.startAll();
    await t.waitQuorate(FORM_MS);
    return { c, t, wds };
  }

  it('holder power loss: the unit becomes active on a survivor, never on two nodes; the fenced node rejoins without a second copy', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const marks = logMarks(t);
    const { t: faultT } = await c.powerLoss(holder);
    await s.waitUntil('unit active on a survivor', (tick) => c.nodes.some((n) => n !== holder && tick.states[n.name] === 'active'), LIVENESS_MS);
    await sleep(1000); // and it stays on one node
    const tl = await s.stop();
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    expect(first).toBeTruthy();
    expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
    expect(c.fenceLog.some((e) => e.action === 'off' && e.plug === holder.name)).toBe(true);
    expect(crashEvidence(t, holder.name, marks)).toEqual([]); // a dead host answers no probe: no crash grace
    console.log(`[itest power-loss] ${holder.name} off → active on ${first?.node} after ${first?.ms.toFixed(0)} ms (sampling ${JSON.stringify(samplingStats(tl))})`);

    // The fenced node boots again (empty /run, units stopped) and its agent rejoins: the cluster
    // sees every node online, and at no sampled instant do two copies run meanwhile (moved here
    // from test/agent/harness-failover.test.ts, which repeated this file's power-loss and link-cut
    // tests).
    // (Sampled from when its systemd is up: while it boots it answers nothing and would count as
    // 'unknown', though a booting node starts no unit; its agent is what could start a stale copy.)
    const onAt = now();
    await c.powerOn(holder);
    const s2 = c.sampleUnits(t.unit);
    t.startAgent(holder);
    await t.waitFor(`${holder.name} back online at the coordinator`, async () => {
      const st = await t.status(first!.node);
      const coord = st?.coordinator ? await t.status(st.coordinator) : null;
      return coord?.nodes.every((x) => x.state === 'online') ?? false;
    }, FORM_MS, 100);
    const rejoinMs = now() - onAt;
    await sleep(1000);
    const tl2 = await s2.stop();
    expect(overlap(tl2).ticks, overlapReport(tl2)).toBe(0);
    expect(Object.values(tl2.ticks.at(-1)!.states).filter((x) => x === 'active')).toHaveLength(1);
    console.log(`[itest power-loss] ${holder.name} powered on → online at the coordinator after ${rejoinMs.toFixed(0)} ms; overlap 0`);
  }, 120_000);

  it('minority partition WITH a fence device: the majority fences the cut-off holder (its copy is gone) before it starts the unit', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const marks = logMarks(t);
    const faultT = await c.cutLink(holder);
    await s.waitUntil('unit active in the majority', (tick) => c.nodes.some((n) => n !== holder && tick.states[n.name] === 'active'), LIVENESS_MS);
    await sleep(1000);
    const tl = await s.stop();
    expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    expect(first).toBeTruthy();
    // The minority side is not running it at the end (stopped by quorum loss, or fenced).
    const last = tl.ticks.at(-1)!;
    expect(['inactive', 'failed', 'down']).toContain(last.states[holder.name]);
    // the minority's copy was gone before the majority's first active sample
    expect(lastRunningOn(tl, holder.name) ?? 0).toBeLessThan(first!.t);
    const st = await t.status(first!.node, 2000);
    expect(st?.quorum?.quorate).toBe(true);
    expect(crashEvidence(t, holder.name, marks)).toEqual([]);
    console.log(`[itest link-cut-fenced] ${holder.name} cut → active on ${first?.node} after ${first?.ms.toFixed(0)} ms, minority ended ${last.states[holder.name]}`);
  }, 120_000);

  it('minority partition WITHOUT a fence device (watchdog fencing, FAKE watchdog): the cut-off holder\'s own agent stops its copy, then the majority runs it', async () => {
    const { c, t, wds } = await upWatchdogFencing();
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    for (const [n, f] of wds) expect(f.isArmed, `${n}'s agent feeds its watchdog`).toBe(true);
    const faultT = await c.cutLink(holder);
    await s.waitUntil('unit active in the majority', (tick) => c.nodes.some((n) => n !== holder && tick.states[n.name] === 'active'), LIVENESS_MS);
    await sleep(1000);
    const tl = await s.stop();
    expect(overlap(tl).ticks, overlapReport(tl)).toBe(0);
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    expect(first).toBeTruthy();
    // The minority stopped its copy itself: its systemd still answers (not 'down': nobody powered
    // it off; there is no fence device and its watchdog never fired), and the unit is inactive.
    const stoppedAt = firstStateAfter(tl, holder.name, 'inactive', faultT);
    expect(stoppedAt, 'the holder\'s unit became inactive').toBeDefined();
    expect(lastRunningOn(tl, holder.name) ?? 0).toBeLessThan(first!.t);
    expect(stoppedAt!).toBeLessThan(first!.t);
    expect(tl.ticks.at(-1)!.states[holder.name]).toBe('inactive');
    expect(holder.power).toBe('up');
    expect(c.fenceLog).toEqual([]);
    expect(wds.get(holder.name)!.resets).toEqual([]);
    expect(t.agents.get(holder.name)!.output()).toContain('no-quorum policy: stop');
    const st = await t.status(first!.node, 2000);
    expect(st?.quorum?.quorate).toBe(true);
    console.log(
      `[itest link-cut-watchdog] ${holder.name} cut → its own agent stopped the unit after ${(stoppedAt! - faultT).toFixed(0)} ms; ` +
        `majority (${first!.node}) active after ${first!.ms.toFixed(0)} ms (lease + drift + watchdog ${WD_MS} ms); fences 0, watchdog resets 0 (sampling ${JSON.stringify(samplingStats(tl))})`,
    );
  }, 120_000);

  /**
   * Starts the holder's agent again (after a crash or a SIGTERM) and checks the re-adoption: back in
   * the quorate partition with the unit, then 3 s more (longer than the failure timeout and the
   * lease, so nobody fences it afterwards either); the unit kept its MainPID, was sampled active the
   * whole time, nothing was fenced since `fencesBefore`, never two copies.
   */
  async function restartKeepsUnit(c: Cluster, t: TshaCluster, s: UnitSampler, holder: ClusterNode, was: { mainPid: number; fencesBefore: number; t0: number }) {
    t.startAgent(holder);
    await t.waitBackWithResource(holder, FORM_MS);
    const backMs = performance.now() - was.t0;
    await sleep(3000);
    const tl = await s.stop();
    expect(await t.mainPid(holder)).toBe(was.mainPid);
    expect(c.fenceLog.slice(was.fencesBefore).filter((e) => e.action === 'off' || e.action === 'reboot'), JSON.stringify(c.fenceLog)).toEqual([]);
    expect(tl.ticks.every((k) => k.states[holder.name] === 'active')).toBe(true);
    expect(overlap(tl).ticks).toBe(0);
    return { tl, backMs };
  }

  /**
   * SIGSTOP of the holder's agent for 5 s, until the unit runs on a survivor, then 1 s more: never
   * two copies, and the holder's copy gone before the survivor's first active sample.
   */
  async function sigstopHolderUntilFailover(c: Cluster, t: TshaCluster, s: UnitSampler, holder: ClusterNode) {
    const pid = t.agentPid(holder);
    expect(pid).toBeGreaterThan(0);
    const faultT = now();
    const paused = c.pause(pid!, 5000);
    await s.waitUntil('unit active on a survivor', (tick) => c.nodes.some((n) => n !== holder && tick.states[n.name] === 'active'), LIVENESS_MS);
    await paused;
    const contT = now();
    await sleep(1000);
    const tl = await s.stop();
    expect(overlap(tl).ticks, overlapReport(tl)).toBe(0);
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    expect(first).toBeTruthy();
    expect(lastRunningOn(tl, holder.name) ?? 0).toBeLessThan(first!.t);
    return { tl, first: first!, faultT, contT };
  }

  it('holder agent SIGSTOP for 5 s WITH a fence device: fenced and failed over, never two active, nothing resurrected after SIGCONT', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const { tl, first, contT } = await sigstopHolderUntilFailover(c, t, s, holder);
    const fence = c.fenceLog.find((e) => e.action === 'off' && e.plug === holder.name);
    expect(fence, JSON.stringify(c.fenceLog)).toBeDefined();
    // after the SIGCONT: the holder runs nothing (it was powered off while stopped)
    expect(tl.ticks.filter((k) => k.t >= contT).every((k) => k.states[holder.name] === 'down')).toBe(true);
    console.log(`[itest sigstop-fenced] ${holder.name}'s agent stopped → fenced, active on ${first!.node} after ${first!.ms.toFixed(0)} ms; after SIGCONT ${holder.name} ${tl.ticks.at(-1)!.states[holder.name]}`);
  }, 120_000);

  it('holder agent SIGSTOP for 5 s WITHOUT a fence device: its FAKE watchdog, no longer fed, resets the node before the majority starts the unit', async () => {
    const { c, t, wds } = await upWatchdogFencing();
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const wd = wds.get(holder.name)!;
    expect(wd.isArmed).toBe(true);
    const { tl, first, faultT } = await sigstopHolderUntilFailover(c, t, s, holder);
    expect(wd.resets).toHaveLength(1);
    const reset = wd.resets[0]!;
    expect(reset.t).toBeLessThan(first!.t);
    expect(tl.ticks.at(-1)!.states[holder.name]).toBe('down');
    expect(c.fenceLog).toEqual([]);
    for (const [n, f] of wds) if (n !== holder.name) expect(f.resets, `${n} was not reset`).toEqual([]);
    console.log(
      `[itest sigstop-watchdog] ${holder.name}'s agent stopped; last keepalive ${(reset.lastKeepaliveAt - faultT).toFixed(0)} ms, FAKE watchdog reset after ${(reset.t - faultT).toFixed(0)} ms; ` +
        `majority (${first!.node}) active after ${first!.ms.toFixed(0)} ms; fences 0 (sampling ${JSON.stringify(samplingStats(tl))})`,
    );
  }, 120_000);

  it('graceful agent restart (SIGTERM) with watchdog fencing and the FAKE watchdog: closed armed, fed again by the next agent in time; the node is not reset, same MainPID', async () => {
    const { t, wds } = await upWatchdogFencing();
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const wd = wds.get(holder.name)!;
    const before = await t.mainPid(holder);
    const agent = t.agents.get(holder.name)!;
    const t0 = now();
    agent.kill('SIGTERM');
    await agent.exited;
    expect(agent.output()).toContain('watchdog device closed ARMED');
    expect(wd.isArmed).toBe(true); // no magic close: the unit keeps running without an agent
    t.startAgent(holder);
    await t.waitBackWithResource(holder, FORM_MS);
    await sleep(WD_MS + 500); // longer than the watchdog timeout: it is being fed again
    const tl = await s.stop();
    const gapMs = Math.max(...wd.keepaliveGaps(t0));
    expect(wd.resets).toEqual([]);
    expect(await t.mainPid(holder)).toBe(before);
    expect(tl.ticks.every((k) => k.states[holder.name] === 'active')).toBe(true);
    expect(overlap(tl).ticks).toBe(0);
    console.log(`[itest graceful-restart-watchdog] ${holder.name}: longest keepalive gap across the restart ${gapMs.toFixed(0)} ms (timeout ${WD_MS} ms); resets 0, same MainPID`);
  }, 120_000);

  it('2 nodes + witness, link between the two cut: exactly one side runs the unit, never both (20 ms sampling)', async () => {
    const { c, t } = await up({ nodes: 2, witness: true });
    let holder = await t.waitHolder(LIVENESS_MS);
    const coord = await t.waitQuorate(FORM_MS);
    if (holder.name === coord) {
      // put it on the node that is not the coordinator, so that the side holding it may lose (like qd-measure.sh)
      await t.moveTo(c.nodes.find((n) => n.name !== coord)!);
      holder = await t.waitHolder(LIVENESS_MS);
    }
    const [a, b] = c.nodes as [typeof holder, typeof holder];
    const s = c.sampleUnits(t.unit, { everyMs: 20 });
    holder = await t.stableHolder(s);
    const faultT = await c.cutPair(a, b);
    // settle: whichever side the witness sides with ends up running it, alone
    await sleep(3000);
    await s.waitUntil('unit active on exactly one side', (tick) => [a, b].filter((n) => tick.states[n.name] === 'active').length === 1, LIVENESS_MS);
    await sleep(1000);
    const tl = await s.stop();
    const ov = overlap(tl);
    expect(ov.ticks, JSON.stringify(ov.intervals)).toBe(0);
    const last = tl.ticks.at(-1)!;
    const running = [a, b].filter((n) => last.states[n.name] === 'active').map((n) => n.name);
    expect(running).toHaveLength(1);
    // the right side: the one that runs it is in the quorate partition (with the witness's vote)
    const st = await t.status(running[0]!, 2000);
    expect(st?.quorum?.quorate, JSON.stringify(st?.quorum)).toBe(true);
    console.log(`[itest witness-split] holder ${holder.name}; after the cut ${running[0]} runs it (${tl.ticks.length} ticks since ${faultT.toFixed(0)}, sampling ${JSON.stringify(samplingStats(tl))})`);
  }, 120_000);

  it('agent kill -9 and restart with DEFAULT timing, of the coordinator and of another holder: same MainPID, never stopped, nothing fenced (crash grace)', async () => {
    // Default timing (failure timeout 500 ms, crash grace 10 s). The holder's host's kernel answers
    // the probes of its mesh port with RST while the agent is away, so the coordinator commits a
    // `restarting` entry on its behalf instead of fencing it. Both orders matter: a crashed
    // coordinator's grace comes from the newly elected one; a crashed follower's from the coordinator.
    const { c, t } = await up({ nodes: 3, witness: false });
    let holder = await t.waitHolder(LIVENESS_MS);
    let coordinator = await t.waitQuorate(FORM_MS);
    const cases: boolean[] = [];
    // a node crashed once is not crashed again here: a second crash within 60 s is a crash loop,
    // which is fenced on purpose
    const crashed = new Set<string>();
    for (const wantCoordinator of holder.name === coordinator ? [true, false] : [false, true]) {
      // the previous crash may have moved the coordinator role (a crashed coordinator is replaced)
      coordinator = await t.waitQuorate(FORM_MS);
      if ((holder.name === coordinator) !== wantCoordinator || crashed.has(holder.name)) {
        await t.moveTo(wantCoordinator ? c.node(coordinator) : c.nodes.find((n) => n.name !== coordinator && !crashed.has(n.name))!);
        holder = await t.waitHolder(LIVENESS_MS);
      }
      const s = c.sampleUnits(t.unit);
      holder = await t.stableHolder(s);
      coordinator = await t.waitQuorate(FORM_MS);
      const wasCoordinator = holder.name === coordinator;
      cases.push(wasCoordinator);
      crashed.add(holder.name);
      const before = await t.mainPid(holder);
      expect(before).toBeGreaterThan(0);
      const marks = logMarks(t);
      const fencesBefore = c.fenceLog.length;
      const agent = t.agents.get(holder.name)!;
      const t0 = performance.now();
      agent.kill('SIGKILL');
      await agent.exited;
      // as systemd would: the NixOS module's unit has Restart=on-failure, RestartSec=1s. The agent is
      // thus away for well over the failure timeout (500 ms): without the grace it would be fenced.
      // Meanwhile the coordinator's `tsha status` shows the node in its crash grace. When the
      // coordinator survived, the restart waits (at most 3 s, inside the 10 s grace) until it does;
      // a newly elected coordinator may decide only after the restart.
      let graceSeen: number | null = null;
      const survivor = c.nodes.find((n) => n !== holder && (wasCoordinator || n.name === coordinator))!;
      while (performance.now() - t0 < 1000 || (!wasCoordinator && graceSeen === null && performance.now() - t0 < 3000)) {
        const st = await t.status(survivor, 200).catch(() => null);
        const ns = st?.nodes.find((n) => n.name === holder.name);
        if (ns && ns.restartGraceRemainingMs > 0 && ns.restartGraceCause === 'crash') graceSeen ??= ns.restartGraceRemainingMs;
        await sleep(50);
      }
      if (!wasCoordinator) expect(graceSeen ?? 0, `${coordinator}'s status shows ${holder.name} in its crash grace`).toBeGreaterThan(0);
      const restartedAt = performance.now() - t0;
      const { tl, backMs } = await restartKeepsUnit(c, t, s, holder, { mainPid: before, fencesBefore, t0 });
      const graced = [...t.agents]
        .filter(([n, p]) => n !== holder.name && p.output().slice(marks.get(n) ?? 0).includes('crash grace: agent down on a live host'))
        .map(([n]) => n);
      expect(graced, 'one survivor (the coordinator) logged the crash grace decision').toHaveLength(1);
      // whether the coordinator saw the new agent's port accept before it heard the agent (it then
      // holds the grace until it does): timing-dependent, shown, not asserted
      const listening = t.agents.get(graced[0]!)!.output().slice(marks.get(graced[0]!) ?? 0).split('\n')
        .some((l) => l.includes('"msg":"agent-listening-evidence"') && l.includes(`"to":"${holder.name}"`));
      console.log(
        `[itest crash-restart] ${holder.name}${wasCoordinator ? ' (the coordinator)' : ` (coordinator ${coordinator})`}: kill -9, restarted after ${restartedAt.toFixed(0)} ms, back with the resource after ${backMs.toFixed(0)} ms; grace by ${graced[0]} (status showed it: ${graceSeen === null ? 'not before the restart' : `${graceSeen} ms left`}; listening seen before heard: ${listening}); fences 0; ${tl.ticks.length} samples all active (sampling ${JSON.stringify(samplingStats(tl))})`,
      );
    }
    expect(cases.sort()).toEqual([false, true]);
  }, 180_000);

  it('agent kill -9 and NO restart: fenced once the crash grace expires, the unit recovered on a survivor', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const agent = t.agents.get(holder.name)!;
    const t0 = performance.now();
    agent.kill('SIGKILL');
    await agent.exited;
    const killT = now();
    await sleep(3000); // inside the grace (10 s from its commit): not fenced, still running there
    expect(c.fenceLog, JSON.stringify(c.fenceLog)).toEqual([]);
    expect(await holder.unitState(t.unit)).toBe('active');
    await s.waitUntil('unit active on a survivor', (tick) => c.nodes.some((n) => n !== holder && tick.states[n.name] === 'active'), LIVENESS_MS);
    await sleep(1000);
    const tl = await s.stop();
    const fence = c.fenceLog.find((e) => e.action === 'off' && e.plug === holder.name);
    expect(fence, JSON.stringify(c.fenceLog)).toBeTruthy();
    const first = firstActiveAfter(tl, killT, { exclude: [holder.name] });
    expect(first).toBeTruthy();
    expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
    expect(lastRunningOn(tl, holder.name) ?? 0).toBeLessThan(first!.t);
    console.log(
      `[itest crash-no-restart] ${holder.name}: kill -9 → fenced after ${(fence!.t - killT).toFixed(0)} ms, active on ${first!.node} after ${first!.ms.toFixed(0)} ms (${(performance.now() - t0).toFixed(0)} ms test time; sampling ${JSON.stringify(samplingStats(tl))})`,
    );
  }, 120_000);

  it('graceful agent restart (SIGTERM) with DEFAULT timing: same MainPID, nothing fenced, never stopped', async () => {
    // Default timing (failure timeout 500 ms): an agent restart takes longer than that, so without the
    // committed `restarting` entry the holder would be fenced. With it, the coordinator waits.
    const { c, t } = await up({ nodes: 3, witness: false });
    const { s, holder } = await t.sampledHolder(LIVENESS_MS);
    const before = await t.mainPid(holder);
    expect(before).toBeGreaterThan(0);
    const agent = t.agents.get(holder.name)!;
    const t0 = performance.now();
    agent.kill('SIGTERM');
    await agent.exited;
    const exitMs = performance.now() - t0;
    expect(agent.output()).toContain('graceful restart announced and committed');
    const { backMs } = await restartKeepsUnit(c, t, s, holder, { mainPid: before, fencesBefore: 0, t0 });
    console.log(`[itest graceful-restart] ${holder.name}: SIGTERM → exit ${exitMs.toFixed(0)} ms, back with the resource after ${backMs.toFixed(0)} ms; fences 0`);
  }, 120_000);
});
