// Ceph RBD stateful failover carried out by the running agents on the real-cluster harness: a real
// Ceph (mon, mgr, memstore OSD; cephx) on its own host on the nodes' LAN, the resource `w` a
// systemd unit running the self-checking librbd writer (test/cluster/rbd.ts) with
// `storage: {type: rbd}`, 3 nodes, fence_tsha_test as the fence device.
//   (a) the holder loses power: fence, blocklist, break lock, start on a survivor; the checker
//       finds no acknowledged record lost and no write of the old holder after the takeover;
//   (b) I/O in flight from a fenced machine: the holder's writer is paused (SIGSTOP) and taken
//       out of the node's cgroup, so the power loss (the fence) does not reach it, as when a
//       machine's fence is confirmed while a write of it is still on its way; after the failover
//       the machine's link comes back and the writer is continued: Ceph refuses its writes (it is
//       blocklisted: ConnectionShutdown, errno 108) and the checker is clean;
//   (c) a clean move (`tsha resource move`): the writer stops and closes the image, release has
//       nothing to remove, and no blocklist entry is added.
// One copy of the unit is checked from outside (D-Bus, 20 ms); the storage steps from the agents'
// logs and their tsha_storage_steps_total metrics.

import fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cephMissing } from '../helpers/ceph.js';
import { cgroupRoots, createCgroup, removeCgroup } from './cgroup.js';
import { clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, sleep, type Cluster, type ClusterNode } from './harness.js';
import { ackCount, startRbdWorkload, type RbdWorkload } from './rbd.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
const missing = [...pre.missing, ...cephMissing()];
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`CI must run the RBD cluster tests; missing: ${missing.join(', ')}`);
if (missing.length > 0) console.warn(`skipping RBD cluster tests: missing ${missing.join(', ')}`);

const METRICS_PORT = 9464;
const OPS = { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 20_000 }, stop: { timeoutMs: 20_000 } };

/** The agent's tsha_storage_steps_total samples ("step status" → count, the failure series exported at 0 from the start left out), read inside the node. */
async function storageSteps(n: ClusterNode): Promise<Record<string, number>> {
  const r = await n.exec([process.execPath, '-e', `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`]);
  const out: Record<string, number> = {};
  for (const m of r.stdout.matchAll(/^tsha_storage_steps_total\{([^}]*)\} (\S+)$/gm)) {
    const l = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Number(m[2]) > 0) out[`${l.step} ${l.status}`] = Number(m[2]);
  }
  return out;
}

/** The agent's "storage … ok" lines: step → the step's ms. */
function storageLines(t: TshaCluster, n: ClusterNode): { step: string; ms: number; status: string }[] {
  const out: { step: string; ms: number; status: string }[] = [];
  for (const line of t.agents.get(n.name)?.output().split('\n') ?? []) {
    if (!line.includes('"storage')) continue;
    try {
      const j = JSON.parse(line) as { step?: string; ms?: number; status?: string; msg?: string };
      if (j.step && j.msg?.startsWith('storage ')) out.push({ step: j.step, ms: j.ms ?? -1, status: j.status ?? '' });
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

describe.skipIf(missing.length > 0)('Ceph RBD failover on the real-cluster harness', () => {
  let c: Cluster | undefined;
  let stray: { pid: number; cgroup: string } | undefined;

  beforeAll(() => ensureBuilt(), 180_000);

  afterEach(async () => {
    if (stray) {
      try {
        process.kill(stray.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (let i = 0; i < 100 && fs.existsSync(`/proc/${stray.pid}`); i++) await sleep(20);
      removeCgroup(stray.cgroup);
      stray = undefined;
    }
    await c?.destroy();
    c = undefined;
  });

  async function setUp(): Promise<{ cl: Cluster; t: TshaCluster; w: RbdWorkload; holder: ClusterNode; s: ReturnType<Cluster['sampleUnits']> }> {
    const cl = (c = await createCluster({ nodes: 3 }));
    const w = await startRbdWorkload(cl);
    const t = new TshaCluster(cl, {
      unit: w.unit,
      resourceId: 'w',
      primitive: { kind: 'systemd', params: { unit: w.unit }, operations: OPS, storage: w.storage },
      agentArgs: () => ['--metrics-address', `127.0.0.1:${METRICS_PORT}`],
    });
    t.startAll();
    await t.waitQuorate(30_000);
    const { s, holder } = await t.sampledHolder(30_000);
    await t.waitFor('the holder\'s writer acknowledged 100 records', async () => ackCount(w, holder) >= 100, 20_000);
    return { cl, t, w, holder, s };
  }

  /** The survivor running the writer after the fault, and its writer's first acknowledged record. */
  async function takenOver(t: TshaCluster, w: RbdWorkload, s: ReturnType<Cluster['sampleUnits']>, lost: ClusterNode, fault: number) {
    const tick = await s.waitUntil('the writer on a survivor', (k) => Object.entries(k.states).some(([n, st]) => n !== lost.name && st === 'active'), 30_000);
    const survivor = t.c.node(Object.entries(tick.states).find(([n, st]) => n !== lost.name && st === 'active')![0]);
    await t.waitFor(`${survivor.name}'s writer acknowledged 100 records`, async () => ackCount(w, survivor) >= 100, 20_000);
    const first = w.writers(survivor)[0]!;
    const tl = s.timeline();
    return { survivor, first, active: firstActiveAfter(tl, fault, { exclude: [lost.name] }) };
  }

  it('(a) power loss of the holder: fence, blocklist, break lock, start on a survivor; no acknowledged write lost, none after the takeover', async () => {
    const { cl, t, w, holder, s } = await setUp();
    const fault = await cl.powerLoss(holder);
    const wall = Date.now() - (now() - fault.t);
    const { survivor, first, active } = await takenOver(t, w, s, holder, fault.t);
    const tl = await s.stop();
    expect(overlap(tl).ticks).toBe(0);
    expect(cl.fenceLog.some((f) => f.plug === holder.name && f.action === 'off')).toBe(true);
    // the survivor's agent: blocklist, break_lock, then acquire inside its start, each ok
    const steps = storageLines(t, survivor);
    expect(steps.map((x) => `${x.step} ${x.status}`).slice(0, 3)).toEqual(['blocklist ok', 'break_lock ok', 'acquire ok']);
    const m = await storageSteps(survivor);
    expect(m['blocklist ok']).toBe(1);
    expect(m['break_lock ok']).toBe(1);
    expect(m['acquire ok']).toBe(1);
    // the old holder's client is on Ceph's blocklist; the lock is the survivor's writer's
    const old = w.writers(holder).at(-1)!;
    expect(await w.blocklist()).toContain(old.address);
    const check = await w.check();
    expect(check.problems).toEqual([]);
    expect(check.acked_lost).toBe(0);
    expect(check.writes_after_takeover).toBe(0);
    expect(first.startSlot).toBeGreaterThanOrEqual(old.acked.at(-1)!.slot + 1);
    const status = await t.status(survivor);
    expect(status?.fenceHistory.some((f) => f.target === holder.name && f.status === 'ok')).toBe(true);
    // tsha status: the committed takeover steps, and the image as the survivor reads it (read in the
    // background once a status asks: the first answer may come before the first reading)
    expect(status?.storageHistory.filter((h) => h.lost === holder.name && h.status === 'ok').map((h) => `${h.step} on ${h.node}`))
      .toEqual([`blocklist on ${survivor.name}`, `break_lock on ${survivor.name}`]);
    const image = await t.waitFor('the image in tsha status', async () => (await t.status(survivor))?.storage.find((x) => x.type === 'rbd' && x.lockHolders.length > 0), 20_000, 250);
    expect(image.lockHolders.map((h) => h.node)).toEqual([survivor.name]);
    expect(image.blocklisted.map((b) => b.address)).toContain(old.address);
    console.log(`rbd power loss: unit active on ${survivor.name} ${active?.ms.toFixed(0)} ms, first acknowledged write ${(first.firstAckT! * 1000 - wall).toFixed(0)} ms after the fault; storage steps ${JSON.stringify(steps)}`);
  });

  it('(b) I/O in flight from a fenced machine: the old writer, paused through the failover and continued after, is refused by Ceph (blocklisted); checker clean', async () => {
    const { cl, t, w, holder, s } = await setUp();
    const pid = await t.mainPid(holder);
    expect(pid).toBeGreaterThan(0);
    // paused, then out of the node's cgroup: the fence (power loss) kills the node's tree, not it
    process.kill(pid, 'SIGSTOP');
    const cg = `${cl.prefix}-xstray`;
    createCgroup(cg);
    stray = { pid, cgroup: cg };
    for (const root of cgroupRoots()) fs.writeFileSync(`${root}/${cg}/cgroup.procs`, String(pid));
    const fault = await cl.powerLoss(holder);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    const { survivor } = await takenOver(t, w, s, holder, fault.t);
    const tl = await s.stop();
    expect(overlap(tl).ticks).toBe(0);
    // the machine's link is back (powered on; its agent is not started), and its writer goes on
    await cl.powerOn(holder);
    const before = ackCount(w, holder);
    process.kill(pid, 'SIGCONT');
    const refused = await t.waitFor('the old writer\'s write refused', async () => w.writers(holder).at(-1)?.refused, 60_000, 100);
    expect(refused).toMatch(/errno=108 ConnectionShutdown/);
    // a write sent just before the pause was applied by Ceph before the takeover; its reply is
    // read after the SIGCONT: at most that one is acknowledged late, in a slot before the
    // survivor's first (the checker below finds it in the image, and nothing of the old writer after)
    const lateCount = ackCount(w, holder) - before;
    const late = lateCount > 0 ? w.writers(holder).at(-1)!.acked.slice(-lateCount) : [];
    expect(late.length).toBeLessThanOrEqual(1);
    for (const a of late) expect(a.slot).toBeLessThan(w.writers(survivor)[0]!.startSlot);
    await t.waitFor(`${survivor.name}'s writer still writing`, async () => ackCount(w, survivor) >= 200, 20_000);
    const check = await w.check();
    expect(check.problems).toEqual([]);
    expect(check.acked_lost).toBe(0);
    expect(check.writes_after_takeover).toBe(0);
    expect(storageLines(t, survivor).map((x) => `${x.step} ${x.status}`).slice(0, 3)).toEqual(['blocklist ok', 'break_lock ok', 'acquire ok']);
  });

  it('(c) a clean move releases the lock: no blocklist entry, no takeover step, checker clean', async () => {
    const { cl, t, w, holder, s } = await setUp();
    const target = cl.nodes.find((n) => n !== holder)!;
    const listed = await w.blocklist();
    await t.moveTo(target);
    await t.waitFor(`${target.name}'s writer acknowledged 100 records`, async () => ackCount(w, target) >= 100, 20_000);
    const tl = await s.stop();
    expect(overlap(tl).ticks).toBe(0);
    expect(await w.blocklist()).toEqual(listed);
    const old = w.writers(holder).at(-1)!;
    expect(old.done).toBe(true); // stopped by SIGTERM: the image closed, the lock released
    expect(await storageSteps(holder)).toEqual({ 'acquire ok': 1, 'release ok': 1 });
    expect(await storageSteps(target)).toEqual({ 'acquire ok': 1 });
    const check = await w.check();
    expect(check.problems).toEqual([]);
    expect(check.acked_lost).toBe(0);
    expect(check.writes_after_takeover).toBe(0);
  });
});
