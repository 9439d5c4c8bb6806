// Integration tests of the real agent on the real-cluster harness: `tsha agent` (built dist/) per
// namespaced node over a wireguard-go mesh, `tsha witness`, a real systemd unit (`sleep infinity`
// under each node's own `systemd --user`) as the resource, and scripts/fence_tsha_test as the fence
// device (the stand-in for a power switch). Unit states are sampled from outside over D-Bus.
//
// Safety is asserted strictly (no sampled instant with two running copies, the right side runs it);
// liveness only within generous bounds. Failover times are printed, not asserted: they live in
// `npm run bench:failover`.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, firstActiveAfter, lastRunningOn, now, overlap, samplingStats, sleep, type Cluster } from './harness.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn(`skipping real-agent cluster tests, missing: ${pre.missing.join(', ')}`);

const LIVENESS_MS = 15_000;
const FORM_MS = 30_000;

describe.skipIf(!pre.ok)('tsha agents on the real-cluster harness', () => {
  let c: Cluster | undefined;
  beforeAll(() => {
    ensureBuilt();
  }, 180_000);
  afterEach(async () => {
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

  it('holder power loss: the unit becomes active on a survivor, never on two nodes', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    await t.waitHolder(LIVENESS_MS);
    const s = c.sampleUnits(t.unit);
    const holder = await t.stableHolder(s);
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
  }, 120_000);

  it('minority partition: the cut-off holder stops its copy before the majority starts one, and the majority runs it', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    await t.waitHolder(LIVENESS_MS);
    const s = c.sampleUnits(t.unit);
    const holder = await t.stableHolder(s);
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
    console.log(`[itest link-cut] ${holder.name} cut → active on ${first?.node} after ${first?.ms.toFixed(0)} ms, minority ended ${last.states[holder.name]}`);
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
    // Default timing (failure timeout 500 ms, crash grace 5 s). The holder's host's kernel answers
    // the probes of its mesh port with RST while the agent is away, so the coordinator commits a
    // `restarting` entry on its behalf instead of fencing it. Both orders matter: a crashed
    // coordinator's grace comes from the newly elected one; a crashed follower's from the coordinator.
    const { c, t } = await up({ nodes: 3, witness: false });
    let holder = await t.waitHolder(LIVENESS_MS);
    let coordinator = await t.waitQuorate(FORM_MS);
    const cases: boolean[] = [];
    for (const wantCoordinator of holder.name === coordinator ? [true, false] : [false, true]) {
      if ((holder.name === coordinator) !== wantCoordinator) {
        await t.moveTo(wantCoordinator ? c.node(coordinator) : c.nodes.find((n) => n.name !== coordinator)!);
        holder = await t.waitHolder(LIVENESS_MS);
      }
      const s = c.sampleUnits(t.unit);
      holder = await t.stableHolder(s);
      coordinator = await t.waitQuorate(FORM_MS);
      const wasCoordinator = holder.name === coordinator;
      cases.push(wasCoordinator);
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
      await sleep(1000);
      const restartedAt = performance.now() - t0;
      t.startAgent(holder);
      await t.waitFor(`${holder.name} back in the quorate partition with the resource started`, async () => {
        const st = await t.status(holder);
        return st?.quorum?.quorate && st.resources.find((r) => r.id === t.resourceId)?.nodes.includes(holder.name) ? st : null;
      }, FORM_MS, 100);
      const backMs = performance.now() - t0;
      await sleep(3000); // longer than the failure timeout and the lease: nobody fences it afterwards either
      const tl = await s.stop();
      expect(await t.mainPid(holder)).toBe(before);
      expect(c.fenceLog.slice(fencesBefore).filter((e) => e.action === 'off' || e.action === 'reboot'), JSON.stringify(c.fenceLog)).toEqual([]);
      expect(tl.ticks.every((k) => k.states[holder.name] === 'active')).toBe(true); // sampled active the whole time
      expect(overlap(tl).ticks).toBe(0);
      const graced = [...t.agents]
        .filter(([n, p]) => n !== holder.name && p.output().slice(marks.get(n) ?? 0).includes('crash grace: agent down on a live host'))
        .map(([n]) => n);
      expect(graced, 'one survivor (the coordinator) logged the crash grace decision').toHaveLength(1);
      console.log(
        `[itest crash-restart] ${holder.name}${wasCoordinator ? ' (the coordinator)' : ` (coordinator ${coordinator})`}: kill -9, restarted after ${restartedAt.toFixed(0)} ms, back with the resource after ${backMs.toFixed(0)} ms; grace by ${graced[0]}; fences 0; ${tl.ticks.length} samples all active (sampling ${JSON.stringify(samplingStats(tl))})`,
      );
    }
    expect(cases.sort()).toEqual([false, true]);
  }, 180_000);

  it('agent kill -9 and NO restart: fenced once the crash grace expires, the unit recovered on a survivor', async () => {
    const { c, t } = await up({ nodes: 3, witness: false });
    const holder = await t.waitHolder(LIVENESS_MS);
    const s = c.sampleUnits(t.unit);
    await t.stableHolder(s);
    const agent = t.agents.get(holder.name)!;
    const t0 = performance.now();
    agent.kill('SIGKILL');
    await agent.exited;
    const killT = now();
    await sleep(3000); // inside the grace (5 s from its commit): not fenced, still running there
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
    const holder = await t.waitHolder(LIVENESS_MS);
    const s = c.sampleUnits(t.unit);
    await t.stableHolder(s);
    const before = await t.mainPid(holder);
    expect(before).toBeGreaterThan(0);
    const agent = t.agents.get(holder.name)!;
    const t0 = performance.now();
    agent.kill('SIGTERM');
    await agent.exited;
    const exitMs = performance.now() - t0;
    expect(agent.output()).toContain('graceful restart announced and committed');
    t.startAgent(holder);
    await t.waitFor(`${holder.name} back in the quorate partition with the resource started`, async () => {
      const st = await t.status(holder);
      return st?.quorum?.quorate && st.resources.find((r) => r.id === t.resourceId)?.nodes.includes(holder.name) ? st : null;
    }, FORM_MS, 100);
    const backMs = performance.now() - t0;
    await sleep(3000); // longer than the failure timeout and the lease: nobody fences it afterwards either
    const tl = await s.stop();
    expect(await t.mainPid(holder)).toBe(before);
    expect(c.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot'), JSON.stringify(c.fenceLog)).toEqual([]);
    expect(tl.ticks.every((k) => k.states[holder.name] === 'active')).toBe(true); // never stopped meanwhile
    expect(overlap(tl).ticks).toBe(0);
    console.log(`[itest graceful-restart] ${holder.name}: SIGTERM → exit ${exitMs.toFixed(0)} ms, back with the resource after ${backMs.toFixed(0)} ms; fences 0`);
  }, 120_000);
});
