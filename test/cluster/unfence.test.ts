// Unfencing on the real-cluster harness: three `tsha agent` nodes over wireguard-go, the resource a
// clone of a real systemd unit (one copy on every node), and the project's test fence agent
// (scripts/fence_tsha_test, answered by the harness's fence server) configured as a fabric-fencing
// device (`unfence = true`, as fence_scsi or fence_mpath would be). Real fence_scsi cannot run
// here: it needs shared storage with SCSI-3 persistent reservations. The order is read from the
// outside: the fence server's log of what the device was asked (with the harness clock) against
// the unit's state on every node sampled over D-Bus every 20 ms.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, now, RUNNING_STATES, type Cluster } from './harness.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn(`skipping unfence cluster test, missing: ${pre.missing.join(', ')}`);

const FORM_MS = 30_000;
const LIVENESS_MS = 20_000;

describe.skipIf(!pre.ok)('unfencing (fabric fencing) on the real-cluster harness', () => {
  let c: Cluster | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  it('a node fenced by an unfencing device, powered back on, rejoins: the device runs on for it before any copy starts there', async () => {
    c = await createCluster({ nodes: 3 });
    const t = new TshaCluster(c, { unfence: true, clone: true });
    await t.installUnit();
    const s0 = c.sampleUnits(t.unit, { everyMs: 20 });
    t.startAll();
    const coord = await t.waitQuorate(FORM_MS);
    await s0.waitUntil('a copy active on every node', (k) => c!.nodes.every((n) => k.states[n.name] === 'active'), LIVENESS_MS);
    const tl0 = await s0.stop();
    // at first start every node is unfenced (joined), each before its copy starts
    for (const n of c.nodes) {
      const on = c.fenceLog.find((e) => e.action === 'on' && e.plug === n.name && e.response.ok);
      expect(on, `${n.name}: no unfence at join; device log ${JSON.stringify(c.fenceLog)}`).toBeTruthy();
      const started = tl0.ticks.find((k) => RUNNING_STATES.has(k.states[n.name]!))?.t;
      expect(started, `${n.name}: never started`).toBeDefined();
      expect(on!.t, `${n.name}: started at ${started} before its unfence at ${on!.t}`).toBeLessThan(started!);
    }

    // a member (not the coordinator) loses power: the coordinator fences it (off), and it is down
    const victim = c.nodes.find((n) => n.name !== coord)!;
    await c.powerLoss(victim);
    await t.waitFor(`${victim.name} fenced`, async () => c!.fenceLog.some((e) => e.action === 'off' && e.plug === victim.name && e.response.ok), LIVENESS_MS, 100);
    await t.waitFor(`${victim.name} offline at the coordinator`, async () => (await t.status(coord))?.nodes.find((n) => n.name === victim.name)?.state === 'offline', LIVENESS_MS, 100);
    const offIdx = c.fenceLog.length;

    // it boots again and its agent rejoins: the device must be asked `on` for it before its copy starts
    const powerOnAt = now();
    await c.powerOn(victim);
    const s = c.sampleUnits(t.unit, { everyMs: 20 });
    t.startAgent(victim);
    await s.waitUntil(`a copy active on ${victim.name} again`, (k) => k.states[victim.name] === 'active', LIVENESS_MS + FORM_MS);
    const tl = await s.stop();
    const on = c.fenceLog.slice(offIdx).find((e) => e.action === 'on' && e.plug === victim.name);
    expect(on, `no unfence of ${victim.name} after its rejoin; device log ${JSON.stringify(c.fenceLog.slice(offIdx))}`).toBeTruthy();
    expect(on!.response.ok).toBe(true);
    const started = tl.ticks.find((k) => RUNNING_STATES.has(k.states[victim.name]!))!.t;
    expect(on!.t, `${victim.name}'s copy started at ${started.toFixed(0)}, its unfence was answered at ${on!.t.toFixed(0)}`).toBeLessThan(started);
    // the other copies ran throughout
    for (const n of c.nodes) if (n !== victim) expect(tl.ticks.every((k) => k.states[n.name] === 'active'), `${n.name}'s copy stopped`).toBe(true);

    // recorded: the fence history (executor, device), the history, both from the replicated log
    const st = (await t.status(coord))!;
    const unfence = st.fenceHistory.filter((f) => f.action === 'on' && f.target === victim.name);
    expect(unfence.length, JSON.stringify(st.fenceHistory)).toBeGreaterThanOrEqual(2); // at first start, and after the rejoin
    expect(unfence.at(-1)).toMatchObject({ status: 'ok', device: 'power', executor: coord });
    const off = st.fenceHistory.findIndex((f) => f.action === 'off' && f.target === victim.name);
    expect(off).toBeGreaterThanOrEqual(0);
    expect(st.fenceHistory.lastIndexOf(unfence.at(-1)!)).toBeGreaterThan(off);
    console.log(`[itest unfence] ${victim.name} powered on → device asked on after ${(on!.t - powerOnAt).toFixed(0)} ms, copy running ${(started - on!.t).toFixed(0)} ms after that (sampling every 20 ms)`);
  }, 180_000);
});
