// npm run bench:failover -- [--runs N] [--json] [--vs-pacemaker] [--pcmk-runs N] [--idle-secs S] [--settle-secs S]
//                            [--idle-monitor-ms MS] [--cases a,b|none] [--node-args "ARGS"] [--timing JSON]
//                            [--resources N [--groups G] [--group-size S] [--scale-sample-ms MS] [--pcmk-class systemd|dummy]]
//                            [--kinds systemd,ip,...]
//
// Real tsha agents (dist/, `npm run build` first when stale) on the real-cluster harness: namespaced
// nodes, wireguard-go mesh, one `systemd --user` per node, a `sleep infinity` unit as the resource,
// scripts/fence_tsha_test as the fence device. Each run builds a fresh cluster.
//   power-loss    3 nodes, the holder powered off (every process of the node SIGKILLed)
//   link-cut      3 nodes, the holder's bridge port down
//   witness-split 2 nodes + `tsha witness`, the link between the two cut (the resource is first moved
//                 to the node that is not the coordinator, like qd-measure.sh puts it on the loser)
// Each failover: from the fault to the unit `active` on a survivor, read from outside over D-Bus
// every 20 ms by the harness sampler; overlap_ms: total sampled time two copies may have run.
// Also: agent RSS per node (VmRSS), idle CPU % per node (utime+stime over --idle-secs, default 60;
// idle_cpu_pct from --settle-secs, default 300, after the cluster formed, and
// idle_cpu_pct_first_window right after placement, which includes V8's JIT warm-up; the idle
// cluster runs the product defaults, its resource monitored every --idle-monitor-ms, default the
// default monitor interval), cold start (spawn every agent → every node's control API says
// quorate, same coordinator).
// --vs-pacemaker: the same faults on ../shared/bench's (or $TSHA_SHARED_DIR/bench) Pacemaker + Corosync cluster (its own tool,
// 100 ms polling, fencing off) in the same run; ratios = pacemaker median / tsha median. Also its
// idle CPU and RSS per node (memcpu.sh over --idle-secs, 30 s after its 3-node cluster is up).
// host.bare_timer_cpu_pct: a bare node process waking 10 times a second, measured beside the
// settled idle window: idle CPU is mostly wake-ups, whose cost differs between machines of this
// kind by 2x and more (0.1 % on some, 0.27 % on others).
// --cases rbd-power-loss (on its own, never by default): the holder of a Ceph RBD workload loses
// power; the figure is fault → the new holder's first write Ceph acknowledged, with the storage
// steps apart and the data check (test/bench/rbd.ts). No idle measurement in this mode.
// --cases none: only the idle measurement. --node-args: extra node arguments for every agent (e.g.
// "--max-semi-space-size=2"). --timing: the configuration's timing section (default: the defaults),
// e.g. '{"heartbeatIntervalMs":150}'.
//
// Scale: --resources N [--groups G] [--group-size S] [--scale-sample-ms MS] [--pcmk-class systemd|dummy]
// makes the power-loss case a scale case: 3 nodes whose configuration holds N systemd resources
// r001..rN (each its own unit `sleep infinity`, written on every node), the first G x S of them
// (default 10 groups of 3, fewer when N is small) in groups g01.., the rest lone primitives, every
// one monitored every --idle-monitor-ms (the product default) in its failover runs too. The
// resources are started once the 3 nodes have formed (configured stopped, then started by a
// reload), so that they spread over all three. Once all N are active, each on one node, and the
// placement has held for 1 s, the node holding the most is powered off; ms_last is the time from
// the fault until the LAST of its resources is active on a survivor (ms_first: the first), read
// from outside with ONE D-Bus call per node per tick (Manager.ListUnitsByPatterns, all N units)
// every --scale-sample-ms (default 20; the sampling gaps achieved are reported); overlap_ms sums,
// over every unit, the sampled time it may have run on two nodes. Cross-checks from the survivors'
// systemd (ActiveEnterTimestampMonotonic, the harness clock's CLOCK_MONOTONIC): samples_ms_systemd
// and first_ms_systemd, exact (a sampled time is its tick's start, early by up to the tick's read
// time, reported as max_sampling_read_failover_ms). groups_started_in_parallel: moved groups whose
// members the survivor's agent did not start in member order (from its `start ok` records). A run
// in which the agents fenced a node before the fault (silent while starting the N resources) is
// reported in failed_runs without a fault. The idle measurement then runs
// with the N resources too (idle_resources in the JSON). With --vs-pacemaker the same shape goes
// onto the Pacemaker cluster by test/bench/pcmk-scale.sh (systemd-class resources on a
// `systemd --user` per node, or ocf:pacemaker:Dummy with --pcmk-class dummy; the same groups), a
// fresh cluster per run: its node holding the most is killed as failover-measure kill does, and
// crm_mon -X on a survivor is polled every 100 ms until the last of them is Started there; its
// idle CPU and RSS with the N resources come from memcpu.sh (corosync + pacemaker daemons only).
// In the JSON the scale case is the cases[] entry { name: "power-loss", resources: N, median_ms and
// samples_ms (of ms_last), first_ms, overlap_ms, runs_detail (per run: ms_last, ms_first, moved,
// lost_node, placement, holder_was_coordinator, sampling gaps), idle_cpu_pct and rss_mib per node
// with N resources, pacemaker_median_ms, pacemaker_samples_ms, pacemaker_first_ms,
// pacemaker_runs_detail, pacemaker_idle_cpu_pct, pacemaker_rss_mib, ratio, … }.
// Kinds: --kinds systemd,ip,... runs only the power-loss case, --runs times per kind, with one
// resource `w` of that kind (test/bench/kinds.ts: what each node needs, and how `w` is read from
// outside the agents: a unit's ActiveState, an address on the LAN interface, ...), sampled every
// 25 ms. Each cases[] entry has `kind` besides `name`; besides the failover time (fault → w running
// on a survivor) it splits the run into detect_fence_ms (fault → the harness fence device powered
// the holder off) and start_ms (the survivor's start of w, from its agent's "plan action done"
// record), so a workload that is slow to start shows apart from detection and fencing. No idle
// measurement and no Pacemaker side in this mode.
// (Where idle CPU goes: test/bench/idle-profile.ts.)
// Progress goes to stderr; the LAST line of stdout is one JSON object.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { activeNodes, clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, samplingStats, sleep, SystemdBus, unitTimeline, type Cluster } from '../cluster/harness.js';
import { ensureBuilt, ROOT, scaleResourceSet, TshaCluster, type TshaClusterOptions } from '../cluster/tsha-cluster.js';
import { DEFAULT_MONITOR_INTERVAL_MS } from '../../src/config/options.js';
import { clockTicks, procUsage } from './proc.js';
import { benchKind, type BenchKind, type PreparedWorkload } from './kinds.js';
import { WorkloadSampler } from '../cluster/workload-sampler.js';
import { option } from './args.js';
import { rbdCaseOut, rbdRun, type RbdRun } from './rbd.js';

type CaseName = 'power-loss' | 'link-cut' | 'witness-split';
const ALL_CASES: CaseName[] = ['power-loss', 'link-cut', 'witness-split'];
/** cases run only when named, each on its own (no idle measurement, no Pacemaker side) */
const OWN_CASES = ['rbd-power-loss'];

const args = process.argv.slice(2);
const runs = Number(option('runs') ?? 10);
const pcmkRuns = Number(option('pcmk-runs') ?? runs);
const idleSecs = Number(option('idle-secs') ?? 60);
const settleSecs = Number(option('settle-secs') ?? 300);
const idleMonitorMs = Number(option('idle-monitor-ms') ?? DEFAULT_MONITOR_INTERVAL_MS);
const jsonOnly = args.includes('--json');
const vsPacemaker = args.includes('--vs-pacemaker');
const cases = (option('cases') === 'none' ? [] : (option('cases')?.split(',') ?? ALL_CASES)) as CaseName[];
const nodeArgs = option('node-args')?.split(/\s+/).filter(Boolean) ?? [];
const timing = option('timing') === undefined ? undefined : (JSON.parse(option('timing')!) as Record<string, number>);
/** the scale case: this many resources (undefined: the single-resource cases only) */
const scaleN = option('resources') === undefined ? undefined : Number(option('resources'));
const groupSize = Number(option('group-size') ?? 3);
const groups = Number(option('groups') ?? Math.min(10, Math.floor((scaleN ?? 0) / groupSize)));
const scaleSampleMs = Number(option('scale-sample-ms') ?? 20);
const pcmkClass = option('pcmk-class') ?? 'systemd';
const ownCase: string | undefined = (cases as string[]).find((c) => OWN_CASES.includes(c));
if (ownCase && cases.length > 1) throw new Error(`--cases ${ownCase} runs on its own`);
for (const c of cases) if (!ALL_CASES.includes(c) && !OWN_CASES.includes(c)) throw new Error(`--cases: unknown case ${c} (have ${[...ALL_CASES, ...OWN_CASES].join(', ')})`);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: want a positive integer');
if (scaleN !== undefined) {
  if (!Number.isInteger(scaleN) || scaleN < 1) throw new Error('--resources: want a positive integer');
  if (!Number.isInteger(groups) || groups < 0 || !Number.isInteger(groupSize) || groupSize < 1) throw new Error('--groups, --group-size: want integers >= 0 and >= 1');
  if (groups * groupSize > scaleN) throw new Error(`--groups ${groups} x --group-size ${groupSize} = ${groups * groupSize} resources in groups, more than --resources ${scaleN}`);
  if (!(scaleSampleMs >= 1)) throw new Error('--scale-sample-ms: want a positive number');
  if (!['systemd', 'dummy'].includes(pcmkClass)) throw new Error(`--pcmk-class: systemd or dummy, not ${pcmkClass}`);
}
for (const o of ['groups', 'group-size', 'scale-sample-ms', 'pcmk-class']) if (option(o) !== undefined && scaleN === undefined) throw new Error(`--${o} needs --resources`);
/** --kinds: the per-kind power-loss benchmark instead of the cases */
const kinds = option('kinds')?.split(',').filter(Boolean).map(benchKind);
if (kinds && (scaleN !== undefined || vsPacemaker || option('cases') !== undefined)) throw new Error('--kinds runs power-loss per kind on its own: not with --resources, --cases or --vs-pacemaker');

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return Math.round(((s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo)) * 10) / 10;
}

const pre = clusterPrerequisites();
if (!pre.ok) {
  console.error(`bench:failover needs root and ${pre.missing.join(', ')}`);
  process.exit(2);
}
ensureBuilt();

interface RunResult {
  ms: number | null;
  overlapMs: number;
  coldStartMs: number;
  maxGapMs: number;
  /**
   * whether the holder was the coordinator when the fault hit: then a new coordinator must be
   * elected first (randomized election timeout), else the coordinator notices the silent holder
   * after the failure timeout; the two give two clusters of failover times
   */
  holderWasCoordinator: boolean;
  note?: string;
}

async function formCluster(
  nodes: number,
  witness: boolean,
  extra: TshaClusterOptions | ((c: Cluster) => TshaClusterOptions) = {},
): Promise<{ c: Cluster; t: TshaCluster; coldStartMs: number }> {
  const c = await createCluster({ nodes, witness });
  try {
    const t = new TshaCluster(c, { logLevel: 'info', nodeArgs, ...(timing ? { timing } : {}), ...(typeof extra === 'function' ? extra(c) : extra) });
    await t.installUnit();
    const t0 = now();
    t.startAll();
    await t.waitQuorate(30_000);
    const coldStartMs = now() - t0;
    return { c, t, coldStartMs };
  } catch (e) {
    await c.destroy();
    throw e;
  }
}

async function oneRun(name: CaseName): Promise<RunResult> {
  const { c, t, coldStartMs } = await formCluster(name === 'witness-split' ? 2 : 3, name === 'witness-split');
  try {
    let holder = await t.waitHolder(20_000);
    if (name === 'witness-split') {
      const coord = await t.waitQuorate(10_000);
      if (holder.name === coord) {
        await t.moveTo(c.nodes.find((n) => n.name !== coord)!);
        holder = await t.waitHolder(20_000);
      }
    }
    const s = c.sampleUnits(t.unit, { everyMs: 20 });
    holder = await t.stableHolder(s, 1000); // settled: not in the middle of a move
    const holderWasCoordinator = (await t.waitQuorate(10_000)) === holder.name;
    let faultT: number;
    if (name === 'power-loss') faultT = (await c.powerLoss(holder)).t;
    else if (name === 'link-cut') faultT = await c.cutLink(holder);
    else faultT = await c.cutPair(c.nodes[0]!, c.nodes[1]!);
    let note: string | undefined;
    try {
      await s.waitUntil('the unit active on a survivor', (k) => c.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), 20_000);
    } catch {
      note = `no survivor ran it within 20 s; holder ${holder.name} ended ${s.timeline().ticks.at(-1)?.states[holder.name]}`;
    }
    await sleep(1000); // overlap after the start counts too
    const tl = await s.stop();
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    const ov = overlap(tl);
    if (ov.ticks > 0 || !first || first.ms < 100) {
      // keep the evidence: the whole timeline and every agent's log
      const keep = fs.mkdtempSync(path.join(os.tmpdir(), `tshbench-${name}-`));
      fs.writeFileSync(path.join(keep, 'timeline.json'), JSON.stringify({ faultT, holder: holder.name, overlap: ov, timeline: tl }, null, 1));
      for (const [n, p] of t.agents) fs.copyFileSync(p.logFile, path.join(keep, `${n}.agent.log`));
      note = `${note ? `${note}; ` : ''}suspicious run kept in ${keep}`;
    }
    return { ms: first ? Math.round(first.ms * 10) / 10 : null, overlapMs: Math.round(ov.ms * 10) / 10, coldStartMs: Math.round(coldStartMs), maxGapMs: Math.round(samplingStats(tl).maxGapMs), holderWasCoordinator, note };
  } catch (e) {
    log(t.logs(15));
    throw e;
  } finally {
    await c.destroy();
  }
}

// ---------- the scale case: N resources, the node holding the most powered off ----------

/** The scale cluster's options: N resources (scaleResourceSet), started once the 3 nodes formed, the product's monitor interval. */
const scaleOptions = (c: Cluster): TshaClusterOptions => ({
  resources: scaleResourceSet(c.prefix, scaleN!, { groups, groupSize }),
  deferResources: true,
  monitorIntervalMs: idleMonitorMs,
});

/** Starts the deferred resources and waits until every unit is active on one node: node → its units, and how long that took. */
async function startScaleResources(t: TshaCluster): Promise<{ byNode: Map<string, string[]>; startAllMs: number }> {
  const t0 = now();
  await t.addResources();
  const byNode = await t.waitAllPlaced(180_000);
  return { byNode, startAllMs: Math.round(now() - t0) };
}

/** Nodes the agents fenced (power off or reboot through the harness fence agent) at or after `since`. */
function fencedNodes(c: Cluster, since = -Infinity): string[] {
  return [...new Set(c.fenceLog.filter((e) => e.t >= since && (e.action === 'off' || e.action === 'reboot')).map((e) => e.plug ?? '?'))];
}

/** The node holding the most units (ties: the lowest name). */
function mostLoaded(byNode: Map<string, string[]>): string {
  return [...byNode].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0]![0];
}

const countsOf = (byNode: Map<string, string[]>): Record<string, number> => Object.fromEntries([...byNode].map(([n, us]) => [n, us.length]));

interface ScaleRunResult {
  /** fault → the LAST of the lost node's resources active on a survivor (null: not all of them made it) */
  msLast: number | null;
  /** fault → the first of them active on a survivor */
  msFirst: number | null;
  lostNode: string;
  /** resources the lost node held, and how many of them became active on a survivor */
  lost: number;
  moved: number;
  /** resources per node at the fault */
  placement: Record<string, number>;
  holderWasCoordinator: boolean;
  /** summed over every unit: sampled time two nodes may have run it */
  overlapMs: number;
  overlapUnits: number;
  /** resources of the survivors that were not active on their node at some tick after the fault */
  disturbed: number;
  /**
   * The same two figures from the survivors' systemd itself (ActiveEnterTimestampMonotonic of each
   * moved unit, CLOCK_MONOTONIC like the harness clock): exact, not limited by the sampling gaps
   */
  msLastSystemd: number | null;
  msFirstSystemd: number | null;
  /**
   * moved groups in which the survivor's agent began a member's start before the start of the
   * member before it had finished (its `start ok` log records: end time and duration), i.e. did
   * not start them in member order. systemd's own timestamps cannot tell: it runs start jobs
   * issued together one after the other, so they come out in order a few ms apart either way.
   */
  groupsInParallel: number;
  groupsMoved: number;
  /** lost resources that, once active on a survivor, were sampled not active there again before the end (stopped or restarted after their failover) */
  bounced: number;
  coldStartMs: number;
  /** from starting the N resources until every one was active on one node */
  startAllMs: number;
  medianGapMs: number;
  maxGapMs: number;
  /** the largest sampling gap between the fault and the last resource's start: the figure's resolution */
  maxGapFailoverMs: number;
  /**
   * the longest a tick's reads took in that window: a tick's time is its start, so a sampled
   * figure may be early by up to this much (the systemd figures are not)
   */
  maxReadMsFailover: number;
  /** survivors the agents fenced after the fault (they went silent while recovering) */
  fencedSurvivors: string[];
  note?: string;
}

async function scaleRun(): Promise<ScaleRunResult> {
  const { c, t, coldStartMs } = await formCluster(3, false, scaleOptions);
  try {
    const { startAllMs } = await startScaleResources(t);
    const set = { units: t.units };
    const s = c.sampleUnitSet(t.units, { everyMs: scaleSampleMs });
    const before = await t.stablePlacement(s, 1000); // settled: nothing in the middle of a start or move
    // A node fenced while the N resources were being started (its agent silent past the failure
    // timeout) leaves 2 nodes: powering off one more would measure a minority. Such a run is
    // reported as failed, with the reason and the agents' logs.
    const fencedEarly = fencedNodes(c);
    if (fencedEarly.length > 0 || c.nodes.some((n) => n.power !== 'up')) {
      await s.stop();
      const keep = fs.mkdtempSync(path.join(os.tmpdir(), 'tshbench-scale-'));
      for (const [n, p] of t.agents) fs.copyFileSync(p.logFile, path.join(keep, `${n}.agent.log`));
      return {
        msLast: null, msFirst: null, msLastSystemd: null, msFirstSystemd: null, lostNode: '', lost: 0, moved: 0, placement: countsOf(before),
        holderWasCoordinator: false, overlapMs: 0, overlapUnits: 0, disturbed: 0, groupsInParallel: 0, groupsMoved: 0, bounced: 0,
        coldStartMs: Math.round(coldStartMs), startAllMs, medianGapMs: 0, maxGapMs: 0, maxGapFailoverMs: 0, maxReadMsFailover: 0, fencedSurvivors: [],
        note: `no fault injected: ${fencedEarly.join(', ') || 'a node'} fenced while the ${scaleN} resources were being started (agent silent past the failure timeout); logs kept in ${keep}`,
      };
    }
    const lostNode = mostLoaded(before);
    const lostUnits = before.get(lostNode)!;
    const holderWasCoordinator = (await t.waitQuorate(10_000)) === lostNode;
    const faultWall = Date.now(); // the agents' log records carry wall-clock times
    const faultT = (await c.powerLoss(lostNode)).t;
    // the harness clock (performance.now) and CLOCK_MONOTONIC (process.hrtime, systemd's *Monotonic) differ by a constant
    const monoOffsetMs = Number(process.hrtime.bigint()) / 1e6 - now();
    let note: string | undefined;
    try {
      await s.waitUntil(`all ${lostUnits.length} resources of ${lostNode} active on a survivor`, (k) => {
        const on = activeNodes(set, k);
        return lostUnits.every((u) => on.get(u)!.some((n) => n !== lostNode));
      }, 60_000, true);
    } catch {
      note = `not every resource of ${lostNode} was active on a survivor within 60 s`;
    }
    await sleep(1000); // overlap after the starts counts too
    const tl = await s.stop();
    const firsts = lostUnits.map((u) => firstActiveAfter(unitTimeline(tl, u), faultT, { exclude: [lostNode] }));
    const bounced = lostUnits.filter((u, i) => {
      const f = firsts[i];
      return f !== undefined && unitTimeline(tl, u).ticks.some((k) => k.t > f.t && k.states[f.node] !== 'active');
    }).length;
    const ms = firsts.flatMap((f) => (f ? [f.ms] : []));
    let overlapMs = 0;
    let overlapUnits = 0;
    let disturbed = 0;
    for (const u of t.units) {
      const utl = unitTimeline(tl, u);
      const ov = overlap(utl);
      overlapMs += ov.ms;
      if (ov.ticks > 0) overlapUnits++;
      const home = [...before].find(([, us]) => us.includes(u))![0];
      if (home !== lostNode && utl.ticks.some((k) => k.t >= faultT && k.states[home] !== 'active')) disturbed++;
    }
    // the survivors' systemd: when each moved unit began starting and became active there
    const started = new Map<string, { startMs: number; activeMs: number }>();
    await Promise.all(
      lostUnits.map(async (u, i) => {
        const on = firsts[i]?.node;
        if (!on) return;
        const bus = new SystemdBus(c.node(on).busAddress);
        try {
          const st = await bus.unitStartTimes(u, 2000);
          if (st.activeMs > 0) started.set(u, { startMs: st.startMs - monoOffsetMs - faultT, activeMs: st.activeMs - monoOffsetMs - faultT });
        } catch {
          /* left out of the exact figures */
        } finally {
          bus.close();
        }
      }),
    );
    const exact = [...started.values()].map((x) => x.activeMs);
    // Group members start in member order: from the survivors' agents' `start ok` records after the
    // fault, each member's start [end - ms, end] against the one before it.
    const starts = new Map<string, { begin: number; end: number }>();
    for (const [n, p] of t.agents) {
      if (n === lostNode) continue;
      for (const line of p.output().split('\n')) {
        if (!line.includes('"start ok"')) continue;
        try {
          const e = JSON.parse(line) as { msg?: string; resource?: string; ms?: number; time?: string };
          const end = Date.parse(e.time ?? '');
          if (e.msg === 'start ok' && e.resource && typeof e.ms === 'number' && end >= faultWall) starts.set(e.resource, { begin: end - e.ms, end });
        } catch {
          /* not a log record */
        }
      }
    }
    const movedGroups = t.opts.resources!.groups.map((g) => g.members).filter((ms) => ms.every((m) => starts.has(m)));
    const groupsInParallel = movedGroups.filter((ms) => ms.some((m, i) => i > 0 && starts.get(m)!.begin < starts.get(ms[i - 1]!)!.end - 1)).length;
    const stats = samplingStats(tl);
    const lastT = ms.length === lostUnits.length ? faultT + Math.max(...ms) : (tl.ticks.at(-1)?.t ?? faultT);
    const during = tl.ticks.filter((k) => k.t >= faultT - 1 && k.t <= lastT + 1);
    const maxGapFailoverMs = samplingStats({ ticks: during }).maxGapMs;
    const maxReadMsFailover = Math.max(0, ...during.map((k) => k.dt));
    const fencedSurvivors = fencedNodes(c, faultT).filter((n) => n !== lostNode);
    if (overlapMs > 0 || ms.length < lostUnits.length || disturbed > 0 || bounced > 0 || fencedSurvivors.length > 0) {
      const keep = fs.mkdtempSync(path.join(os.tmpdir(), 'tshbench-scale-'));
      fs.writeFileSync(path.join(keep, 'timeline.json'), JSON.stringify({ faultT, lostNode, before: [...before], timeline: tl }));
      for (const [n, p] of t.agents) fs.copyFileSync(p.logFile, path.join(keep, `${n}.agent.log`));
      note = `${note ? `${note}; ` : ''}${overlapMs > 0 ? 'overlap; ' : ''}${disturbed > 0 ? `${disturbed} survivors' resources disturbed; ` : ''}${bounced > 0 ? `${bounced} moved resources stopped again; ` : ''}${fencedSurvivors.length > 0 ? `survivors fenced: ${fencedSurvivors.join(', ')}; ` : ''}run kept in ${keep}`;
    }
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    return {
      msLast: ms.length === lostUnits.length ? r1(Math.max(...ms)) : null,
      msFirst: ms.length ? r1(Math.min(...ms)) : null,
      lostNode,
      lost: lostUnits.length,
      moved: ms.length,
      placement: countsOf(before),
      holderWasCoordinator,
      msLastSystemd: exact.length === lostUnits.length ? r1(Math.max(...exact)) : null,
      msFirstSystemd: exact.length ? r1(Math.min(...exact)) : null,
      overlapMs: r1(overlapMs),
      overlapUnits,
      disturbed,
      groupsInParallel,
      groupsMoved: movedGroups.length,
      bounced,
      coldStartMs: Math.round(coldStartMs),
      startAllMs,
      medianGapMs: r1(stats.medianGapMs),
      maxGapMs: r1(stats.maxGapMs),
      maxGapFailoverMs: r1(maxGapFailoverMs),
      maxReadMsFailover: r1(maxReadMsFailover),
      fencedSurvivors,
      note,
    };
  } catch (e) {
    log(t.logs(15));
    throw e;
  } finally {
    await c.destroy();
  }
}

interface IdleResult {
  rss: Record<string, number>;
  /** CPU % per node over idleSecs once settled (settleSecs after the cluster formed) */
  cpu: Record<string, number>;
  /** the same over the first idleSecs after the resource was placed: includes V8's JIT warm-up */
  cpuFirst: Record<string, number>;
  /** CPU % of a bare `node -e "setInterval(() => {}, 100)"` over the settled window: what ten empty wake-ups a second cost on this machine */
  bareTimerPct: number;
  coldStartMs: number;
  /** who was coordinator and who held the resource at the end of the settled window (the coordinator costs the most); with N resources, the node holding the most */
  roles: { coordinator: string; holder: string };
  /** with N resources: how many each node held */
  placement?: Record<string, number>;
}

/** The bare-timer yardstick starts this long before the settled idle window. */
const BARE_TIMER_LEAD_MS = 5000;

/**
 * RSS and idle CPU of a 3-node cluster with the product's defaults (timing, and the resource
 * monitored every DEFAULT_MONITOR_INTERVAL_MS): CPU over the first idleSecs after placement, and
 * over idleSecs once settleSecs have passed since the cluster formed. The first window includes
 * V8 compiling and optimizing the code paths a heartbeat takes, a one-time cost: at 10 messages a
 * second that takes minutes, not seconds.
 */
async function idleAndRss(): Promise<IdleResult> {
  const { c, t, coldStartMs } = await formCluster(3, false, scaleN === undefined ? { monitorIntervalMs: idleMonitorMs } : scaleOptions);
  const formedAt = now();
  try {
    let holder: string;
    let placement: Record<string, number> | undefined;
    if (scaleN === undefined) holder = (await t.waitHolder(20_000)).name;
    else {
      const { byNode } = await startScaleResources(t);
      holder = mostLoaded(byNode);
      placement = countsOf(byNode);
      const fenced = fencedNodes(c);
      if (fenced.length > 0) throw new Error(`idle with ${scaleN} resources: ${fenced.join(', ')} fenced while they were being started (agent silent past the failure timeout); no idle figure for it`);
    }
    await sleep(2000);
    const clk = clockTicks();
    const pids = new Map<string, number>();
    for (const n of c.all) {
      const pid = t.agentPid(n);
      if (pid === undefined) throw new Error(`no agent process found for ${n.name}`);
      pids.set(n.name, pid);
    }
    const window = async (): Promise<Record<string, number>> => {
      const t0 = now();
      const before = new Map([...pids].map(([n, p]) => [n, procUsage(p).ticks]));
      await sleep(idleSecs * 1000);
      const secs = (now() - t0) / 1000;
      const cpu: Record<string, number> = {};
      for (const [n, p] of pids) cpu[n] = Math.round((((procUsage(p).ticks - before.get(n)!) / clk / secs) * 100) * 100) / 100;
      return cpu;
    };
    const cpuFirst = await window();
    log(`idle CPU % over the first ${idleSecs} s: ${JSON.stringify(cpuFirst)}; settling until ${settleSecs} s after forming`);
    // the machine's own yardstick in the same window: a bare node process waking 10 times a second,
    // started BARE_TIMER_LEAD_MS early (its start-up is not what is measured)
    const wait = settleSecs * 1000 - BARE_TIMER_LEAD_MS - (now() - formedAt);
    if (wait > 0) await sleep(wait);
    const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 100)'], { stdio: 'ignore' });
    let cpu: Record<string, number>;
    try {
      await sleep(BARE_TIMER_LEAD_MS);
      pids.set('bare_timer', bare.pid!);
      cpu = await window();
    } finally {
      bare.kill();
      pids.delete('bare_timer');
    }
    const bareTimerPct = cpu.bare_timer!;
    delete cpu.bare_timer;
    const rss: Record<string, number> = {};
    for (const [n, p] of pids) rss[n] = Math.round((procUsage(p).rssKiB / 1024) * 10) / 10;
    const coordinator = await t.waitQuorate(10_000);
    return { rss, cpu, cpuFirst, bareTimerPct, coldStartMs: Math.round(coldStartMs), roles: { coordinator, holder }, ...(placement ? { placement } : {}) };
  } finally {
    await c.destroy();
  }
}

// ---------- Pacemaker, through ../shared/bench (its tools, its 100 ms polling) ----------

/** ../shared/bench beside the repo (CI's layout); else the nearest ancestor's shared/bench (a worktree); $TSHA_SHARED_DIR wins. */
function sharedBench(): string {
  if (process.env.TSHA_SHARED_DIR) return path.join(process.env.TSHA_SHARED_DIR, 'bench');
  for (let d = path.resolve(ROOT, '..'); ; d = path.dirname(d)) {
    const b = path.join(d, 'shared', 'bench');
    if (fs.existsSync(path.join(b, 'pcmk-cluster.sh'))) return b;
    if (d === path.dirname(d)) return path.resolve(ROOT, '..', 'shared', 'bench');
  }
}
const SHARED_BENCH = sharedBench();

function pcmk(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): string {
  log(`[pacemaker] ${argv.map((a) => path.basename(a)).join(' ')}`);
  const t0 = now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  log(`[pacemaker]   (${((now() - t0) / 1000).toFixed(1)} s)`);
  const out = `${r.stdout ?? ''}`;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').split('\n').slice(-10).join('\n')}\n${out.slice(-2000)}`);
  return out;
}

function parseSeconds(out: string): number[] {
  return [...out.matchAll(/seconds=([0-9.]+)/g)].map((m) => Math.round(Number(m[1]) * 1000));
}

/** memcpu.sh's `TOTAL nX rss=… kB (… MiB) pss=… cpu=…% of one core` lines → per node. */
function parseMemCpu(out: string): { cpu: Record<string, number>; rss: Record<string, number> } {
  const cpu: Record<string, number> = {};
  const rss: Record<string, number> = {};
  for (const m of out.matchAll(/^TOTAL (\S+)\s+rss=\d+ kB \(([0-9.]+) MiB\).*cpu=([0-9.]+)%/gm)) {
    rss[m[1]!] = Math.round(Number(m[2]) * 10) / 10;
    cpu[m[1]!] = Math.round(Number(m[3]) * 100) / 100;
  }
  return { cpu, rss };
}

/**
 * memcpu.sh's per-process lines (`node pid daemon rss_kB pss_kB cpu%`) summed per node over the
 * processes `keep` accepts: with systemd-class resources each node also runs the systemd and
 * dbus-daemon that pcmk-scale.sh started, which are not Pacemaker (tsha's figures do not count
 * its nodes' systemd either).
 */
function parseMemCpuProcesses(out: string, keep: (daemon: string) => boolean): { cpu: Record<string, number>; rss: Record<string, number> } {
  const cpu: Record<string, number> = {};
  const rss: Record<string, number> = {};
  for (const m of out.matchAll(/^(n\d+)\s+\d+\s+(\S+)\s+(\d+)\s+\d+\s+([0-9.]+)\s*$/gm)) {
    if (!keep(m[2]!)) continue;
    rss[m[1]!] = (rss[m[1]!] ?? 0) + Number(m[3]) / 1024;
    cpu[m[1]!] = (cpu[m[1]!] ?? 0) + Number(m[4]);
  }
  for (const n of Object.keys(rss)) {
    rss[n] = Math.round(rss[n]! * 10) / 10;
    cpu[n] = Math.round(cpu[n]! * 100) / 100;
  }
  return { cpu, rss };
}

interface PcmkScaleRun {
  msLast: number | null;
  msFirst: number | null;
  lostNode: string;
  lost: number;
  moved: number;
  placement: string;
  holderWasDc: boolean;
  polls: number;
  medianGapMs: number;
  maxGapMs: number;
  /** how long pcmk-cluster.sh kill-node took (inside msFirst and msLast, as in failover-measure) */
  killMs: number | null;
  /** systemd class: how many of the lost resources the survivors' systemd said were active once crm_mon showed them all Started */
  systemdActive: number | null;
}

interface PacemakerResult {
  samples: Partial<Record<CaseName, number[]>>;
  /** idle CPU % and RSS MiB per node (corosync + the pacemaker daemons) over idleSecs, after PCMK_IDLE_SETTLE_SECS; with N resources when --resources */
  idle?: { cpu: Record<string, number>; rss: Record<string, number> };
  /** the scale case (--resources): one run per fresh cluster */
  scale?: { runs: PcmkScaleRun[]; startAllMs: number[]; nodeManager?: { cpu: Record<string, number>; rss: Record<string, number> } };
  error?: string;
}

/** Pacemaker's idle window starts this long after its cluster is up (C daemons: nothing to warm up). */
const PCMK_IDLE_SETTLE_SECS = 30;

/** `result from=n1 dc=n3 holder_was_dc=no lost=34 moved=34 ms_first=… ms_last=… polls=… median_gap_ms=… max_gap_ms=… placement="…"` */
function parseScaleResult(out: string): PcmkScaleRun {
  const line = out.split('\n').find((l) => l.startsWith('result '));
  if (!line) throw new Error(`pcmk-scale.sh measure printed no result line:\n${out.slice(-1000)}`);
  const f = Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]));
  const num = (k: string): number | null => (f[k] === undefined || f[k] === 'none' ? null : Math.round(Number(f[k]) * 10) / 10);
  return {
    msLast: num('ms_last'),
    msFirst: num('ms_first'),
    lostNode: f.from ?? '?',
    lost: Number(f.lost),
    moved: Number(f.moved),
    placement: (f.placement ?? '').trim(),
    holderWasDc: f.holder_was_dc === 'yes',
    polls: Number(f.polls),
    medianGapMs: num('median_gap_ms') ?? 0,
    maxGapMs: num('max_gap_ms') ?? 0,
    killMs: num('kill_ms'),
    systemdActive: num('systemd_active'),
  };
}

/**
 * The scale case on Pacemaker, one fresh 3-node cluster per run (as tsha's): N resources of the
 * same shape added by pcmk-scale.sh, all started and the cluster settled, the node holding the
 * most killed and a survivor's crm_mon polled every 100 ms. The first cluster also gives the idle
 * CPU and RSS with N resources when `withIdle` (with runs = 0, a cluster for that alone).
 */
function pacemakerScale(script: string, base: string, runs: number, withIdle: boolean, out: NonNullable<PacemakerResult['scale']> & { idle?: PacemakerResult['idle'] }): void {
  const scale = path.join(ROOT, 'test/bench/pcmk-scale.sh');
  const env = { BASE: base, PCMK: script, TSHBENCH_ID: path.basename(base).replace(/^tshbench-pcmk-/, '') };
  const nodes = ['n1', 'n2', 'n3'];
  for (let i = 0; i < Math.max(runs, withIdle ? 1 : 0); i++) {
    let leftover: string | undefined;
    pcmk([script, 'setup', '3node'], env, 300_000);
    try {
      if (pcmkClass === 'systemd') pcmk([scale, 'systemd-up', ...nodes], env, 60_000);
      const t0 = now();
      pcmk([scale, 'add', String(scaleN), String(groups), String(groupSize), pcmkClass], env, 60_000);
      pcmk([scale, 'wait-started', String(scaleN), '600'], env, 660_000);
      out.startAllMs.push(Math.round(now() - t0));
      if (i === 0 && withIdle) {
        spawnSync('sleep', [String(PCMK_IDLE_SETTLE_SECS)]);
        const mc = pcmk([path.join(SHARED_BENCH, 'memcpu.sh'), String(idleSecs), ...nodes], env, (idleSecs + 60) * 1000);
        out.idle = parseMemCpuProcesses(mc, (d) => /^(corosync|pacemaker)/.test(d));
        out.nodeManager = parseMemCpuProcesses(mc, (d) => !/^(corosync|pacemaker)/.test(d));
        log(`[pacemaker] ${scaleN} resources: idle CPU % per node over ${idleSecs} s: ${JSON.stringify(out.idle.cpu)}; RSS MiB ${JSON.stringify(out.idle.rss)} (their systemd + dbus: ${JSON.stringify(out.nodeManager)})`);
      }
      if (i < runs) {
        const r = parseScaleResult(pcmk([scale, 'measure', '0.1'], env, 400_000));
        out.runs.push(r);
        log(`[pacemaker] scale run ${i + 1}/${runs}: last ${r.msLast ?? 'none'} ms, first ${r.msFirst ?? 'none'} ms, ${r.moved}/${r.lost} resources of ${r.lostNode} moved (${r.holderWasDc ? 'was' : 'was not'} the DC), placement ${r.placement}, crm_mon polls every ${r.medianGapMs} ms (largest gap ${r.maxGapMs} ms), kill-node took ${r.killMs} ms${r.systemdActive === null ? '' : `, then ${r.systemdActive} of them active in the survivors' systemd`}`);
      }
    } finally {
      // maintenance mode first: pacemakerd then exits without stopping N resources one by one,
      // and teardown kills them with the node's other processes; then what is left of the
      // nodes' systemd (by PID) and their cgroups
      const opts = { env: { ...process.env, ...env }, encoding: 'utf8' as const, timeout: 600_000 };
      // (on a node still up: the measured one was killed)
      const inMaintenance = nodes.some((n) => spawnSync(script, ['x', n, 'crm_attribute', '-t', 'crm_config', '-n', 'maintenance-mode', '-v', 'true'], { ...opts, timeout: 30_000 }).status === 0);
      if (!inMaintenance) log('[pacemaker] could not set maintenance-mode: teardown will stop every resource first (slow)');
      const t0 = now();
      const td = spawnSync(script, ['teardown'], opts);
      log(`[pacemaker] teardown (${((now() - t0) / 1000).toFixed(1)} s)`);
      if (td.status !== 0) log(`[pacemaker] teardown exited ${td.status ?? td.signal}: ${(td.stderr ?? '').slice(-500)}`);
      if (pcmkClass === 'systemd') {
        const sd = spawnSync(scale, ['systemd-down', ...nodes], { ...opts, timeout: 60_000 });
        if (sd.status !== 0) {
          leftover = `pcmk-scale.sh systemd-down failed: ${(sd.stderr ?? '').slice(-500)}`;
          log(`[pacemaker] ${leftover}`);
        }
      }
    }
    if (leftover) throw new Error(leftover);
  }
}

function pacemakerRuns(): PacemakerResult {
  const script = path.join(SHARED_BENCH, 'pcmk-cluster.sh');
  if (!fs.existsSync(script)) return { samples: {}, error: `${script} not found` };
  const busy = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.startsWith('pcmk-'));
  if (busy) return { samples: {}, error: 'pcmk-* namespaces exist already (someone else runs the Pacemaker cluster); not touching them' };
  const base = fs.mkdtempSync(path.join(os.tmpdir(), scaleN === undefined ? 'tshpcmk-' : 'tshbench-pcmk-'));
  const env = { BASE: base };
  const samples: Partial<Record<CaseName, number[]>> = {};
  let idle: PacemakerResult['idle'];
  let scale: PacemakerResult['scale'];
  // with --resources, power-loss and the idle figures are the scale case's
  const single = cases.filter((c) => !(scaleN !== undefined && c === 'power-loss'));
  try {
    if (scaleN !== undefined) {
      const r: Parameters<typeof pacemakerScale>[4] = { runs: [], startAllMs: [] };
      scale = r; // partial results survive an error in a later run
      try {
        pacemakerScale(script, base, cases.includes('power-loss') ? pcmkRuns : 0, true, r);
      } finally {
        idle = r.idle;
        delete r.idle;
      }
    }
    if (scaleN === undefined || single.includes('power-loss') || single.includes('link-cut')) {
      // the 3-node cluster: its idle CPU and RSS on this machine (the same window length as the
      // agents'), then the failover cases
      pcmk([script, 'setup', '3node'], env, 300_000);
      if (scaleN === undefined) {
        spawnSync('sleep', [String(PCMK_IDLE_SETTLE_SECS)]);
        idle = parseMemCpu(pcmk([path.join(SHARED_BENCH, 'memcpu.sh'), String(idleSecs), 'n1', 'n2', 'n3'], env, (idleSecs + 60) * 1000));
        log(`[pacemaker] idle CPU % per node over ${idleSecs} s: ${JSON.stringify(idle.cpu)}; RSS MiB ${JSON.stringify(idle.rss)}`);
      }
      if (single.includes('power-loss')) samples['power-loss'] = parseSeconds(pcmk([script, 'failover-measure', String(pcmkRuns), 'kill'], env, pcmkRuns * 120_000));
      if (single.includes('link-cut')) samples['link-cut'] = parseSeconds(pcmk([script, 'failover-measure', String(pcmkRuns), 'cut'], env, pcmkRuns * 120_000));
      pcmk([script, 'teardown'], env, 120_000);
    }
    if (single.includes('witness-split')) {
      pcmk([script, 'setup', 'qdevice'], env, 300_000);
      samples['witness-split'] = parseSeconds(pcmk([path.join(SHARED_BENCH, 'qd-measure.sh'), String(pcmkRuns), 'split'], env, pcmkRuns * 120_000));
      pcmk([script, 'teardown'], env, 120_000);
    }
    return { samples, idle, scale };
  } catch (e) {
    spawnSync(script, ['teardown'], { env: { ...process.env, ...env }, timeout: 600_000 });
    return { samples, idle, scale, error: (e as Error).message };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

// ---------- the kinds: one resource of each kind, its holder powered off ----------

interface KindRunResult {
  ms: number | null;
  overlapMs: number;
  /** fault → the fence device powered the holder off (failure detection, election when needed, fencing) */
  detectFenceMs: number | null;
  /** the survivor's start of w: its agent's "plan action done" record (endedAt - beganAt) */
  startMs: number | null;
  holderWasCoordinator: boolean;
  maxGapMs: number;
  note?: string;
}

interface PlanDone { msg?: string; key?: string; beganAt?: number; endedAt?: number; status?: string }

/** How long `node`'s agent took for its last successful start of w (from its log). */
function startMsOf(t: TshaCluster, node: string): number | null {
  const done = (t.agents.get(node)?.output() ?? '').split('\n').flatMap((l): PlanDone[] => {
    try {
      const j = JSON.parse(l) as PlanDone;
      return j.msg === 'plan action done' && j.key === `start w ${node}` && j.status === 'ok' ? [j] : [];
    } catch {
      return [];
    }
  });
  const last = done.at(-1);
  return last?.beganAt !== undefined && last.endedAt !== undefined ? Math.round(last.endedAt - last.beganAt) : null;
}

/** what each kind's reader looked at, for the JSON */
const r0Sampled = new Map<string, string>();

async function kindRun(bk: BenchKind): Promise<KindRunResult> {
  const c = await createCluster({ nodes: 3 });
  let w: PreparedWorkload | undefined;
  let t: TshaCluster | undefined;
  try {
    w = await bk.prepare(c);
    r0Sampled.set(bk.kind, w.sampled);
    t = new TshaCluster(c, { logLevel: 'info', nodeArgs, ...(timing ? { timing } : {}) });
    const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Record<string, unknown>;
    cfg.resources = { w: w.resource };
    fs.writeFileSync(t.configFile, JSON.stringify(cfg, null, 2));
    t.startAll();
    await t.waitQuorate(30_000);
    const waitMs = w.waitMs ?? 60_000;
    const s = new WorkloadSampler(c.nodes, w.read, bk.kind, w.everyMs ?? 25);
    const holderName = await s.stableHolder(1000, waitMs);
    const holder = c.node(holderName);
    const holderWasCoordinator = (await t.waitQuorate(10_000)) === holder.name;
    const faultT = (await c.powerLoss(holder)).t;
    let note: string | undefined;
    try {
      await s.waitUntil('w running on a survivor', (k) => c.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), waitMs);
    } catch {
      note = `no survivor ran it within ${waitMs / 1000} s`;
    }
    await sleep(1000); // overlap after the start counts too
    const tl = await s.stop();
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    const ov = overlap(tl);
    const fence = c.fenceLog.find((e) => e.t >= faultT && e.plug === holder.name && (e.action === 'off' || e.action === 'reboot') && e.response.ok);
    if (ov.ticks > 0 || !first) {
      const keep = fs.mkdtempSync(path.join(os.tmpdir(), `tshbench-${bk.kind}-`));
      fs.writeFileSync(path.join(keep, 'timeline.json'), JSON.stringify({ faultT, holder: holder.name, overlap: ov, timeline: tl }, null, 1));
      for (const [n, p] of t.agents) fs.copyFileSync(p.logFile, path.join(keep, `${n}.agent.log`));
      note = `${note ? `${note}; ` : ''}suspicious run kept in ${keep}`;
    }
    return {
      ms: first ? Math.round(first.ms * 10) / 10 : null,
      overlapMs: Math.round(ov.ms * 10) / 10,
      detectFenceMs: fence ? Math.round(fence.t - faultT) : null,
      startMs: first ? startMsOf(t, first.node) : null,
      holderWasCoordinator,
      maxGapMs: Math.round(samplingStats(tl).maxGapMs),
      ...(note ? { note } : {}),
    };
  } catch (e) {
    if (t) log(t.logs(15));
    throw e;
  } finally {
    await w?.close();
    await c.destroy();
  }
}

async function kindsBench(list: readonly BenchKind[]): Promise<void> {
  const out: Record<string, unknown>[] = [];
  for (const bk of list) {
    const rs: KindRunResult[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await kindRun(bk);
      rs.push(r);
      log(`power-loss, kind ${bk.kind}, run ${i + 1}/${runs}: failover ${r.ms ?? 'none'} ms (detection and fence ${r.detectFenceMs ?? 'none'} ms, start on the survivor ${r.startMs ?? 'none'} ms; holder ${r.holderWasCoordinator ? 'was' : 'was not'} the coordinator), overlap ${r.overlapMs} ms, largest sampling gap ${r.maxGapMs} ms${r.note ? ` (${r.note})` : ''}`);
    }
    const nums = (f: (r: KindRunResult) => number | null): number[] => rs.flatMap((r) => (f(r) === null ? [] : [f(r)!]));
    const samples = nums((r) => r.ms);
    out.push({
      name: 'power-loss',
      kind: bk.kind,
      median_ms: quantile(samples, 0.5),
      p95_ms: quantile(samples, 0.95),
      min_ms: samples.length ? Math.min(...samples) : null,
      max_ms: samples.length ? Math.max(...samples) : null,
      samples_ms: samples,
      detect_fence_median_ms: quantile(nums((r) => r.detectFenceMs), 0.5),
      detect_fence_samples_ms: nums((r) => r.detectFenceMs),
      start_median_ms: quantile(nums((r) => r.startMs), 0.5),
      start_samples_ms: nums((r) => r.startMs),
      holder_was_coordinator: rs.map((r) => r.holderWasCoordinator),
      runs: rs.length,
      failed_runs: rs.filter((r) => r.ms === null).map((r) => r.note),
      overlap_ms: Math.round(rs.reduce((a, r) => a + r.overlapMs, 0) * 10) / 10,
      max_sampling_gap_ms: Math.max(...rs.map((r) => r.maxGapMs)),
      sampled: r0Sampled.get(bk.kind) ?? null,
    });
  }
  if (!jsonOnly) {
    console.log('kind        median    p95    detect+fence  start  overlap');
    for (const c of out) console.log(`${String(c.kind).padEnd(10)} ${String(c.median_ms).padStart(7)} ${String(c.p95_ms).padStart(7)} ${String(c.detect_fence_median_ms).padStart(12)} ${String(c.start_median_ms).padStart(6)} ${String(c.overlap_ms).padStart(7)}`);
  }
  console.log(JSON.stringify({
    bench: 'failover',
    mode: 'kinds',
    agent: 'tsha agent from dist/ (node), 3 nodes, harness namespaces + wireguard-go, one systemd --user per node, one resource w per cluster',
    sampler: 'per kind, from outside the agents (test/bench/kinds.ts)',
    runs,
    timing: timing ?? 'defaults',
    cases: out,
    host: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) },
  }));
}

// ---------- main ----------

if (kinds) {
  await kindsBench(kinds);
  process.exit(0);
}

if (ownCase === 'rbd-power-loss') {
  const rs: RbdRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await rbdRun(log, timing);
    rs.push(r);
    log(`rbd-power-loss run ${i + 1}/${runs}: first acknowledged write of the new holder ${r.ms ?? 'none'} ms (unit active ${r.unitActiveMs ?? 'none'} ms; fence ${r.fenceMs} ms, blocklist ${r.blocklistMs} ms, break lock ${r.lockMs} ms, acquire ${r.acquireMs} ms, writer start → first acked write ${r.openMs} ms), overlap ${r.overlapMs} ms, acked_lost ${r.ackedLost}, writes_after_takeover ${r.writesAfterTakeover}${r.note ? ` (${r.note})` : ''}`);
  }
  console.log(JSON.stringify({
    bench: 'failover',
    mode: 'rbd',
    agent: 'tsha agent from dist/ (node), 3 nodes, harness namespaces + wireguard-go, systemd --user units, fence_tsha_test',
    sampler: 'harness D-Bus sampler, every 20 ms, from outside the nodes; the writers\' ack logs',
    runs,
    timing: timing ?? 'defaults',
    cases: [rbdCaseOut(rs)],
    host: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) },
  }));
  process.exit(0);
}

const results = new Map<CaseName, RunResult[]>();
const coldStarts: number[] = [];
const scaleResults: ScaleRunResult[] = [];
for (const name of cases) {
  if (name === 'power-loss' && scaleN !== undefined) {
    for (let i = 0; i < runs; i++) {
      const r = await scaleRun();
      scaleResults.push(r);
      log(`power-loss, ${scaleN} resources, run ${i + 1}/${runs}: last ${r.msLast ?? 'none'} ms, first ${r.msFirst ?? 'none'} ms (systemd's timestamps: ${r.msLastSystemd ?? 'none'} and ${r.msFirstSystemd ?? 'none'} ms), ${r.moved}/${r.lost} resources of ${r.lostNode} moved (${r.lostNode} ${r.holderWasCoordinator ? 'was' : 'was not'} the coordinator; placement ${JSON.stringify(r.placement)}), overlap ${r.overlapMs} ms over ${r.overlapUnits} units, ${r.disturbed} survivors' resources disturbed, ${r.groupsInParallel} of ${r.groupsMoved} moved groups started in parallel, ${r.bounced} moved resources stopped again after their first start, all ${scaleN} started in ${r.startAllMs} ms, sampling gaps median ${r.medianGapMs} ms, largest ${r.maxGapMs} ms (during the failover ${r.maxGapFailoverMs} ms, reads up to ${r.maxReadMsFailover} ms)${r.fencedSurvivors.length ? `, survivors fenced: ${r.fencedSurvivors.join(', ')}` : ''}${r.note ? ` (${r.note})` : ''}`);
    }
    continue;
  }
  const rs: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun(name);
    rs.push(r);
    coldStarts.push(r.coldStartMs);
    log(`${name} run ${i + 1}/${runs}: failover ${r.ms ?? 'none'} ms (holder ${r.holderWasCoordinator ? 'was' : 'was not'} the coordinator), overlap ${r.overlapMs} ms, cold start ${r.coldStartMs} ms, largest sampling gap ${r.maxGapMs} ms${r.note ? ` (${r.note})` : ''}`);
  }
  results.set(name, rs);
}
log(`idle: 3 nodes${scaleN === undefined ? '' : `, ${scaleN} resources`}, ${idleSecs} s after placement and ${idleSecs} s from ${settleSecs} s after forming`);
const idle = await idleAndRss();
log(`idle CPU % from ${settleSecs} s: ${JSON.stringify(idle.cpu)} (coordinator ${idle.roles.coordinator}, holder ${idle.roles.holder}); bare 10 Hz timer ${idle.bareTimerPct} %`);
coldStarts.push(idle.coldStartMs);

const pm = vsPacemaker ? pacemakerRuns() : null;
if (pm?.error) log(`[pacemaker] ERROR: ${pm.error}`);

/** the failover times of the runs that had one */
const msOf = (rs: RunResult[]): number[] => rs.flatMap((r) => (r.ms === null ? [] : [r.ms]));

const nodesOnly = (o: Record<string, number>): number[] => Object.entries(o).filter(([k]) => k !== 'witness').map(([, v]) => v);
/** a per-node record with the largest node's value added as max_node (the witness is not a node) */
const withMaxNode = (o: Record<string, number>): Record<string, number> => ({ ...o, max_node: Math.max(...nodesOnly(o)) });
const median = (xs: number[]): number | null => quantile(xs, 0.5);

/** What the text table reads from every entry of cases[]. */
interface CaseOutRow {
  name: CaseName;
  resources?: number;
  median_ms: number | null;
  p95_ms: number | null;
  min_ms: number | null;
  max_ms: number | null;
  overlap_ms: number;
  pacemaker_median_ms: number | null;
  ratio: number | null;
}

/** The scale case's entry in cases[]: ms_last is the failover figure (median_ms, samples_ms). */
function scaleCaseOut(): CaseOutRow & Record<string, unknown> {
  const rs = scaleResults;
  const last = rs.flatMap((r) => (r.msLast === null ? [] : [r.msLast]));
  const lastBy = (coord: boolean): number[] => rs.filter((r) => r.holderWasCoordinator === coord).flatMap((r) => (r.msLast === null ? [] : [r.msLast]));
  const pRuns = pm?.scale?.runs ?? [];
  const pLast = pRuns.flatMap((r) => (r.msLast === null ? [] : [r.msLast]));
  const med = median(last);
  const pMed = pLast.length > 0 ? median(pLast) : null;
  return {
    name: 'power-loss',
    resources: scaleN!,
    groups: { count: groups, size: groupSize },
    median_ms: med,
    p95_ms: quantile(last, 0.95),
    min_ms: last.length ? Math.min(...last) : null,
    max_ms: last.length ? Math.max(...last) : null,
    samples_ms: last,
    first_ms: rs.flatMap((r) => (r.msFirst === null ? [] : [r.msFirst])),
    // the same from the survivors' systemd timestamps (exact; the sampled figures above are what an outside observer saw)
    samples_ms_systemd: rs.flatMap((r) => (r.msLastSystemd === null ? [] : [r.msLastSystemd])),
    first_ms_systemd: rs.flatMap((r) => (r.msFirstSystemd === null ? [] : [r.msFirstSystemd])),
    // moved groups whose members the survivor's agent started in parallel, not in member order (from its start records)
    groups_started_in_parallel: rs.map((r) => r.groupsInParallel),
    groups_moved: rs.map((r) => r.groupsMoved),
    median_first_ms: median(rs.flatMap((r) => (r.msFirst === null ? [] : [r.msFirst]))),
    moved: rs.map((r) => r.moved),
    samples_ms_holder_coordinator: lastBy(true),
    samples_ms_holder_member: lastBy(false),
    runs: rs.length,
    failed_runs: rs.filter((r) => r.msLast === null).map((r) => r.note),
    overlap_ms: Math.round(rs.reduce((a, r) => a + r.overlapMs, 0) * 10) / 10,
    overlap_units: rs.reduce((a, r) => a + r.overlapUnits, 0),
    disturbed: rs.reduce((a, r) => a + r.disturbed, 0),
    runs_detail: rs.map((r) => ({
      ms_last: r.msLast,
      ms_first: r.msFirst,
      ms_last_systemd: r.msLastSystemd,
      ms_first_systemd: r.msFirstSystemd,
      lost_node: r.lostNode,
      lost: r.lost,
      moved: r.moved,
      placement: r.placement,
      holder_was_coordinator: r.holderWasCoordinator,
      overlap_ms: r.overlapMs,
      overlap_units: r.overlapUnits,
      disturbed: r.disturbed,
      groups_moved: r.groupsMoved,
      groups_started_in_parallel: r.groupsInParallel,
      bounced: r.bounced,
      start_all_ms: r.startAllMs,
      cold_start_ms: r.coldStartMs,
      sampling_median_gap_ms: r.medianGapMs,
      sampling_max_gap_ms: r.maxGapMs,
      sampling_max_gap_failover_ms: r.maxGapFailoverMs,
      sampling_max_read_failover_ms: r.maxReadMsFailover,
      fenced_survivors: r.fencedSurvivors,
      ...(r.note ? { note: r.note } : {}),
    })),
    sampler: `one ListUnitsByPatterns D-Bus call per node per tick for all ${scaleN} units, every ${scaleSampleMs} ms requested, from outside the nodes`,
    sampling_interval_ms: scaleSampleMs,
    median_sampling_gap_ms: median(rs.map((r) => r.medianGapMs)),
    max_sampling_gap_ms: rs.length ? Math.max(...rs.map((r) => r.maxGapMs)) : null,
    max_sampling_gap_failover_ms: rs.length ? Math.max(...rs.map((r) => r.maxGapFailoverMs)) : null,
    // a tick's time is its start: a sampled figure may be early by up to its tick's read time
    max_sampling_read_failover_ms: rs.length ? Math.max(...rs.map((r) => r.maxReadMsFailover)) : null,
    monitor_interval_ms: idleMonitorMs,
    start_all_ms: rs.map((r) => r.startAllMs),
    // the idle cluster with the same N resources (see idle_resources at the top level)
    idle_cpu_pct: withMaxNode(idle.cpu),
    rss_mib: withMaxNode(idle.rss),
    idle_roles: idle.roles,
    idle_placement: idle.placement ?? null,
    pacemaker_median_ms: pMed,
    pacemaker_samples_ms: pm ? pLast : null,
    pacemaker_first_ms: pm ? pRuns.flatMap((r) => (r.msFirst === null ? [] : [r.msFirst])) : null,
    pacemaker_runs_detail: pm
      ? pRuns.map((r) => ({
          ms_last: r.msLast,
          ms_first: r.msFirst,
          lost_node: r.lostNode,
          lost: r.lost,
          moved: r.moved,
          placement: r.placement,
          holder_was_dc: r.holderWasDc,
          polls: r.polls,
          poll_median_gap_ms: r.medianGapMs,
          poll_max_gap_ms: r.maxGapMs,
          kill_ms: r.killMs,
          systemd_active: r.systemdActive,
        }))
      : null,
    pacemaker_start_all_ms: pm?.scale?.startAllMs ?? null,
    pacemaker_resource_class: pm ? (pcmkClass === 'systemd' ? 'systemd (a systemd --user per node as its system manager)' : 'ocf:pacemaker:Dummy') : null,
    pacemaker_idle_cpu_pct: pm?.idle ? withMaxNode(pm.idle.cpu) : null,
    pacemaker_rss_mib: pm?.idle ? withMaxNode(pm.idle.rss) : null,
    // the nodes' systemd + dbus-daemon that pcmk-scale.sh adds (not in the figures above)
    pacemaker_node_manager: pm?.scale?.nodeManager ?? null,
    ratio: pMed !== null && med ? Math.round((pMed / med) * 10) / 10 : null,
  };
}

const caseOut = cases.map((name): CaseOutRow & Record<string, unknown> => {
  if (name === 'power-loss' && scaleN !== undefined) return scaleCaseOut();
  const rs = results.get(name)!;
  const samples = msOf(rs);
  const pSamples = pm?.samples[name] ?? null;
  const median = quantile(samples, 0.5);
  const pMedian = pSamples && pSamples.length > 0 ? quantile(pSamples, 0.5) : null;
  return {
    name,
    median_ms: median,
    p95_ms: quantile(samples, 0.95),
    min_ms: samples.length ? Math.min(...samples) : null,
    max_ms: samples.length ? Math.max(...samples) : null,
    samples_ms: samples,
    // the same samples by the holder's role at the fault (see RunResult.holderWasCoordinator)
    samples_ms_holder_coordinator: msOf(rs.filter((r) => r.holderWasCoordinator)),
    samples_ms_holder_member: msOf(rs.filter((r) => !r.holderWasCoordinator)),
    runs: rs.length,
    failed_runs: rs.filter((r) => r.ms === null).map((r) => r.note),
    overlap_ms: Math.round(rs.reduce((a, r) => a + r.overlapMs, 0) * 10) / 10,
    max_sampling_gap_ms: Math.max(...rs.map((r) => r.maxGapMs)),
    pacemaker_median_ms: pMedian,
    pacemaker_samples_ms: pSamples,
    ratio: pMedian !== null && median ? Math.round((pMedian / median) * 10) / 10 : null,
  };
});

const summary = {
  bench: 'failover',
  agent: 'tsha agent from dist/ (node), 3 nodes or 2 + witness, harness namespaces + wireguard-go, systemd --user units',
  sampler: 'harness D-Bus sampler, every 20 ms, from outside the nodes',
  runs,
  timing: timing ?? 'defaults',
  cases: caseOut,
  rss_mib: withMaxNode(idle.rss),
  idle_cpu_pct: withMaxNode(idle.cpu),
  idle_roles: idle.roles,
  idle_cpu_pct_first_window: withMaxNode(idle.cpuFirst),
  // how many resources the idle cluster ran (--resources N: the scale case's N, else the one `web`)
  idle_resources: scaleN ?? 1,
  // Pacemaker + Corosync on this machine, same window length (with --vs-pacemaker): idle CPU
  // costs differ between machines of this kind by 2x and more (host.bare_timer_cpu_pct)
  pacemaker_idle_cpu_pct: pm?.idle ? withMaxNode(pm.idle.cpu) : null,
  pacemaker_rss_mib: pm?.idle ? withMaxNode(pm.idle.rss) : null,
  idle_secs: idleSecs,
  idle_settle_secs: settleSecs,
  idle_monitor_interval_ms: idleMonitorMs,
  cold_start_ms: quantile(coldStarts, 0.5),
  cold_start_samples_ms: coldStarts,
  targets: { failover_median_ms: 1500, rss_mib: 80, idle_cpu_pct: 1, cold_start_ms: 3000, overlap_ms: 0 },
  pacemaker: vsPacemaker
    ? {
        tool: '../shared/bench pcmk-cluster.sh failover-measure (kill|cut), qd-measure.sh split; Pacemaker 2.1 + Corosync 3, fencing off, ocf:pacemaker:Dummy, 100 ms polling (their tool, as-is)',
        ...(scaleN === undefined
          ? {}
          : {
              scale_tool: `test/bench/pcmk-scale.sh on pcmk-cluster.sh setup 3node, a fresh cluster per run: ${scaleN} ${pcmkClass === 'systemd' ? 'systemd-class resources (a systemd --user per node)' : 'ocf:pacemaker:Dummy resources'} in ${groups} groups of ${groupSize} + lone primitives, monitor 10 s, kill -9 of the node holding the most (pcmk-cluster.sh kill-node), crm_mon -X on a survivor every 100 ms; idle with the ${scaleN} resources by memcpu.sh, corosync + pacemaker daemons only`,
            }),
        runs: pcmkRuns,
        error: pm?.error ?? null,
      }
    : null,
  host: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10), bare_timer_cpu_pct: idle.bareTimerPct },
};

if (!jsonOnly) {
  console.log('case           median    p95     min     max   overlap  pacemaker  ratio');
  for (const c of caseOut) {
    const f = (x: number | null): string => (x === null ? '-' : `${x}`).padStart(7);
    console.log(`${(c.resources === undefined ? c.name : `${c.name} x${c.resources}`).padEnd(13)} ${f(c.median_ms)} ${f(c.p95_ms)} ${f(c.min_ms)} ${f(c.max_ms)} ${f(c.overlap_ms)}  ${f(c.pacemaker_median_ms)}  ${c.ratio === null ? '-' : `${c.ratio}x`}`);
  }
  if (scaleN !== undefined && cases.includes('power-loss')) {
    const sc = caseOut.find((c) => c.resources !== undefined)!;
    console.log(`${scaleN} resources: the first of the lost node's resources active on a survivor after ${JSON.stringify(sc.first_ms)} ms (Pacemaker ${JSON.stringify(sc.pacemaker_first_ms)}), the last after ${JSON.stringify(sc.samples_ms)} ms (Pacemaker ${JSON.stringify(sc.pacemaker_samples_ms)}); sampling gaps median ${String(sc.median_sampling_gap_ms)} ms, largest ${String(sc.max_sampling_gap_ms)} ms`);
  }
  console.log(`${scaleN === undefined ? '' : `idle with ${scaleN} resources: `}RSS MiB ${JSON.stringify(idle.rss)}; idle CPU % over ${idleSecs} s from ${settleSecs} s ${JSON.stringify(idle.cpu)} (first ${idleSecs} s: ${JSON.stringify(idle.cpuFirst)}); cold start median ${summary.cold_start_ms} ms`);
  console.log(`a bare node process waking 10 times a second: ${idle.bareTimerPct} % CPU on this machine${pm?.idle ? `; Pacemaker + Corosync idle CPU % ${JSON.stringify(pm.idle.cpu)}, RSS MiB ${JSON.stringify(pm.idle.rss)}` : ''}`);
}
console.log(JSON.stringify(summary));
