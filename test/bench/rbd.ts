// The rbd-power-loss case of the failover benchmark (npm run bench:failover -- --cases
// rbd-power-loss): 3 nodes, the resource `w` a systemd unit running the self-checking librbd
// writer with `storage: {type: rbd}` on a real Ceph host of the LAN (test/cluster/rbd.ts), the
// holder powered off. Per run:
//   - ms: fault → the new writer's first write Ceph acknowledged (its ack log, wall clock), the
//     figure that counts for a stateful service; unit_active_ms: fault → the unit active on a
//     survivor (sampled from outside over D-Bus every 20 ms);
//   - fence_ms: fault → the harness fence device powered the holder off; blocklist_ms, lock_ms
//     (break_lock) and acquire_ms: the ms field of the survivor's agent's "storage … ok" lines;
//     open_ms: the new writer's process start → its first acknowledged write (python, librados
//     connect with cephx, image open, exclusive lock, free-slot scan, one write);
//   - overlap_ms: the unit active on two nodes at once (must be 0); data_check: acked_lost and
//     writes_after_takeover from the image and every ack log (both must be 0).

import { createCluster, firstActiveAfter, now, overlap, sleep, samplingStats } from '../cluster/harness.js';
import { ackCount, startRbdWorkload } from '../cluster/rbd.js';
import { TshaCluster } from '../cluster/tsha-cluster.js';

export interface RbdRun {
  ms: number | null;
  unitActiveMs: number | null;
  fenceMs: number | null;
  blocklistMs: number | null;
  lockMs: number | null;
  acquireMs: number | null;
  openMs: number | null;
  overlapMs: number;
  ackedLost: number;
  writesAfterTakeover: number;
  maxGapMs: number;
  note?: string;
}

const OPS = { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 20_000 }, stop: { timeoutMs: 20_000 } };

export async function rbdRun(log: (s: string) => void, timing?: Record<string, number>): Promise<RbdRun> {
  const c = await createCluster({ nodes: 3 });
  let t: TshaCluster | undefined;
  try {
    const w = await startRbdWorkload(c);
    t = new TshaCluster(c, { unit: w.unit, resourceId: 'w', logLevel: 'info', primitive: { kind: 'systemd', params: { unit: w.unit }, operations: OPS, storage: w.storage }, ...(timing ? { timing } : {}) });
    t.startAll();
    await t.waitQuorate(30_000);
    const { s, holder } = await t.sampledHolder(30_000);
    await t.waitFor('the holder\'s writer acknowledged 100 records', async () => ackCount(w, holder) >= 100, 20_000);
    const fault = await c.powerLoss(holder);
    const wallAtFault = Date.now() - (now() - fault.t);
    const tick = await s.waitUntil('the writer on a survivor', (k) => c.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), 30_000);
    const survivor = c.node(Object.entries(tick.states).find(([n, st]) => n !== holder.name && st === 'active')![0]);
    await t.waitFor(`${survivor.name}'s writer acknowledged 100 records`, async () => ackCount(w, survivor) >= 100, 20_000);
    await sleep(500); // overlap after the start counts too
    const tl = await s.stop();
    const check = await w.check();
    const writer = w.writers(survivor)[0];
    const steps = new Map<string, number>();
    for (const line of t.agents.get(survivor.name)!.output().split('\n')) {
      if (!line.includes('"msg":"storage ')) continue;
      const j = JSON.parse(line) as { step: string; ms: number; status: string };
      if (j.status === 'ok' && !steps.has(j.step)) steps.set(j.step, j.ms);
    }
    const fence = c.fenceLog.find((f) => f.plug === holder.name && f.action === 'off' && f.t >= fault.t);
    const first = firstActiveAfter(tl, fault.t, { exclude: [holder.name] });
    const r: RbdRun = {
      ms: writer?.firstAckT ? Math.round(writer.firstAckT * 1000 - wallAtFault) : null,
      unitActiveMs: first ? Math.round(first.ms) : null,
      fenceMs: fence ? Math.round(fence.t - fault.t) : null,
      blocklistMs: steps.get('blocklist') ?? null,
      lockMs: steps.get('break_lock') ?? null,
      acquireMs: steps.get('acquire') ?? null,
      openMs: writer?.firstAckT && writer.startedT ? Math.round((writer.firstAckT - writer.startedT) * 1000) : null,
      overlapMs: Math.round(overlap(tl).ms * 10) / 10,
      ackedLost: check.acked_lost,
      writesAfterTakeover: check.writes_after_takeover,
      maxGapMs: Math.round(samplingStats(tl).maxGapMs),
      ...(check.problems.length > 0 ? { note: check.problems.join('; ') } : {}),
    };
    return r;
  } catch (e) {
    if (t) log(t.logs(15));
    throw e;
  } finally {
    await c.destroy();
  }
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The cases[] entry of the rbd-power-loss case. */
export function rbdCaseOut(rs: RbdRun[]): Record<string, unknown> {
  const of = (f: (r: RbdRun) => number | null): number[] => rs.flatMap((r) => (f(r) === null ? [] : [f(r)!]));
  const samples = of((r) => r.ms);
  return {
    name: 'rbd-power-loss',
    measure: 'fault (holder power loss) → the new holder\'s first write Ceph acknowledged (the writer\'s ack log, fsync\'d)',
    median_ms: median(samples),
    min_ms: samples.length ? Math.min(...samples) : null,
    max_ms: samples.length ? Math.max(...samples) : null,
    samples_ms: samples,
    unit_active_ms: of((r) => r.unitActiveMs),
    fence_ms: of((r) => r.fenceMs),
    blocklist_ms: of((r) => r.blocklistMs),
    lock_ms: of((r) => r.lockMs),
    acquire_ms: of((r) => r.acquireMs),
    open_ms: of((r) => r.openMs),
    median_blocklist_ms: median(of((r) => r.blocklistMs)),
    median_lock_ms: median(of((r) => r.lockMs)),
    median_open_ms: median(of((r) => r.openMs)),
    runs: rs.length,
    failed_runs: rs.filter((r) => r.ms === null).map((r) => r.note ?? 'no acknowledged write of a new holder'),
    overlap_ms: Math.round(rs.reduce((a, r) => a + r.overlapMs, 0) * 10) / 10,
    data_check: { acked_lost: rs.reduce((a, r) => a + r.ackedLost, 0), writes_after_takeover: rs.reduce((a, r) => a + r.writesAfterTakeover, 0) },
    max_sampling_gap_ms: rs.length ? Math.max(...rs.map((r) => r.maxGapMs)) : null,
    notes: rs.flatMap((r) => (r.note ? [r.note] : [])),
    setup: 'single-node Ceph 16 (mon, mgr, memstore OSD, cephx) on its own host of the LAN; the writer python3-rbd (librbd, cache off, exclusive lock), a record every 5 ms; the agent runs the rbd and ceph CLIs',
  };
}
