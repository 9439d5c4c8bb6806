// npm run bench:failover -- [--runs N] [--json] [--vs-pacemaker] [--pcmk-runs N] [--idle-secs S] [--settle-secs S]
//                            [--idle-monitor-ms MS] [--cases a,b|none] [--node-args "ARGS"] [--timing JSON]
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
// --cases none: only the idle measurement. --node-args: extra node arguments for every agent (e.g.
// "--max-semi-space-size=2"). --timing: the configuration's timing section (default: the defaults),
// e.g. '{"heartbeatIntervalMs":150}'.
// (Where idle CPU goes: test/bench/idle-profile.ts.)
// Progress goes to stderr; the LAST line of stdout is one JSON object.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, samplingStats, sleep, type Cluster } from '../cluster/harness.js';
import { ensureBuilt, ROOT, TshaCluster, type TshaClusterOptions } from '../cluster/tsha-cluster.js';
import { DEFAULT_MONITOR_INTERVAL_MS } from '../../src/config/options.js';
import { clockTicks, procUsage } from './proc.js';
import { option } from './args.js';

type CaseName = 'power-loss' | 'link-cut' | 'witness-split';
const ALL_CASES: CaseName[] = ['power-loss', 'link-cut', 'witness-split'];

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
for (const c of cases) if (!ALL_CASES.includes(c)) throw new Error(`--cases: unknown case ${c} (have ${ALL_CASES.join(', ')})`);
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: want a positive integer');

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

async function formCluster(nodes: number, witness: boolean, extra: TshaClusterOptions = {}): Promise<{ c: Cluster; t: TshaCluster; coldStartMs: number }> {
  const c = await createCluster({ nodes, witness });
  try {
    const t = new TshaCluster(c, { logLevel: 'info', nodeArgs, ...(timing ? { timing } : {}), ...extra });
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

interface IdleResult {
  rss: Record<string, number>;
  /** CPU % per node over idleSecs once settled (settleSecs after the cluster formed) */
  cpu: Record<string, number>;
  /** the same over the first idleSecs after the resource was placed: includes V8's JIT warm-up */
  cpuFirst: Record<string, number>;
  /** CPU % of a bare `node -e "setInterval(() => {}, 100)"` over the settled window: what ten empty wake-ups a second cost on this machine */
  bareTimerPct: number;
  coldStartMs: number;
  /** who was coordinator and who held the resource at the end of the settled window (the coordinator costs the most) */
  roles: { coordinator: string; holder: string };
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
  const { c, t, coldStartMs } = await formCluster(3, false, { monitorIntervalMs: idleMonitorMs });
  const formedAt = now();
  try {
    const holder = (await t.waitHolder(20_000)).name;
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
    return { rss, cpu, cpuFirst, bareTimerPct, coldStartMs: Math.round(coldStartMs), roles: { coordinator, holder } };
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
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
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

interface PacemakerResult {
  samples: Partial<Record<CaseName, number[]>>;
  /** idle CPU % and RSS MiB per node (corosync + the pacemaker daemons) over idleSecs, after PCMK_IDLE_SETTLE_SECS */
  idle?: { cpu: Record<string, number>; rss: Record<string, number> };
  error?: string;
}

/** Pacemaker's idle window starts this long after its cluster is up (C daemons: nothing to warm up). */
const PCMK_IDLE_SETTLE_SECS = 30;

function pacemakerRuns(): PacemakerResult {
  const script = path.join(SHARED_BENCH, 'pcmk-cluster.sh');
  if (!fs.existsSync(script)) return { samples: {}, error: `${script} not found` };
  const busy = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.startsWith('pcmk-'));
  if (busy) return { samples: {}, error: 'pcmk-* namespaces exist already (someone else runs the Pacemaker cluster); not touching them' };
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'tshpcmk-'));
  const env = { BASE: base };
  const samples: Partial<Record<CaseName, number[]>> = {};
  let idle: PacemakerResult['idle'];
  try {
    // the 3-node cluster: its idle CPU and RSS on this machine (the same window length as the
    // agents'), then the failover cases
    pcmk([script, 'setup', '3node'], env, 300_000);
    spawnSync('sleep', [String(PCMK_IDLE_SETTLE_SECS)]);
    idle = parseMemCpu(pcmk([path.join(SHARED_BENCH, 'memcpu.sh'), String(idleSecs), 'n1', 'n2', 'n3'], env, (idleSecs + 60) * 1000));
    log(`[pacemaker] idle CPU % per node over ${idleSecs} s: ${JSON.stringify(idle.cpu)}; RSS MiB ${JSON.stringify(idle.rss)}`);
    if (cases.includes('power-loss')) samples['power-loss'] = parseSeconds(pcmk([script, 'failover-measure', String(pcmkRuns), 'kill'], env, pcmkRuns * 120_000));
    if (cases.includes('link-cut')) samples['link-cut'] = parseSeconds(pcmk([script, 'failover-measure', String(pcmkRuns), 'cut'], env, pcmkRuns * 120_000));
    pcmk([script, 'teardown'], env, 120_000);
    if (cases.includes('witness-split')) {
      pcmk([script, 'setup', 'qdevice'], env, 300_000);
      samples['witness-split'] = parseSeconds(pcmk([path.join(SHARED_BENCH, 'qd-measure.sh'), String(pcmkRuns), 'split'], env, pcmkRuns * 120_000));
      pcmk([script, 'teardown'], env, 120_000);
    }
    return { samples, idle };
  } catch (e) {
    spawnSync(script, ['teardown'], { env: { ...process.env, ...env }, timeout: 120_000 });
    return { samples, idle, error: (e as Error).message };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

// ---------- main ----------

const results = new Map<CaseName, RunResult[]>();
const coldStarts: number[] = [];
for (const name of cases) {
  const rs: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await oneRun(name);
    rs.push(r);
    coldStarts.push(r.coldStartMs);
    log(`${name} run ${i + 1}/${runs}: failover ${r.ms ?? 'none'} ms (holder ${r.holderWasCoordinator ? 'was' : 'was not'} the coordinator), overlap ${r.overlapMs} ms, cold start ${r.coldStartMs} ms, largest sampling gap ${r.maxGapMs} ms${r.note ? ` (${r.note})` : ''}`);
  }
  results.set(name, rs);
}
log(`idle: 3 nodes, ${idleSecs} s after placement and ${idleSecs} s from ${settleSecs} s after forming`);
const idle = await idleAndRss();
log(`idle CPU % from ${settleSecs} s: ${JSON.stringify(idle.cpu)} (coordinator ${idle.roles.coordinator}, holder ${idle.roles.holder}); bare 10 Hz timer ${idle.bareTimerPct} %`);
coldStarts.push(idle.coldStartMs);

const pm = vsPacemaker ? pacemakerRuns() : null;
if (pm?.error) log(`[pacemaker] ERROR: ${pm.error}`);

/** the failover times of the runs that had one */
const msOf = (rs: RunResult[]): number[] => rs.flatMap((r) => (r.ms === null ? [] : [r.ms]));

const caseOut = cases.map((name) => {
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

const nodesOnly = (o: Record<string, number>): number[] => Object.entries(o).filter(([k]) => k !== 'witness').map(([, v]) => v);
/** a per-node record with the largest node's value added as max_node (the witness is not a node) */
const withMaxNode = (o: Record<string, number>): Record<string, number> => ({ ...o, max_node: Math.max(...nodesOnly(o)) });
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
    ? { tool: '../shared/bench pcmk-cluster.sh failover-measure (kill|cut), qd-measure.sh split; Pacemaker 2.1 + Corosync 3, fencing off, ocf:pacemaker:Dummy, 100 ms polling (their tool, as-is)', runs: pcmkRuns, error: pm?.error ?? null }
    : null,
  host: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10), bare_timer_cpu_pct: idle.bareTimerPct },
};

if (!jsonOnly) {
  console.log('case           median    p95     min     max   overlap  pacemaker  ratio');
  for (const c of caseOut) {
    const f = (x: number | null): string => (x === null ? '-' : `${x}`).padStart(7);
    console.log(`${c.name.padEnd(13)} ${f(c.median_ms)} ${f(c.p95_ms)} ${f(c.min_ms)} ${f(c.max_ms)} ${f(c.overlap_ms)}  ${f(c.pacemaker_median_ms)}  ${c.ratio === null ? '-' : `${c.ratio}x`}`);
  }
  console.log(`RSS MiB ${JSON.stringify(idle.rss)}; idle CPU % over ${idleSecs} s from ${settleSecs} s ${JSON.stringify(idle.cpu)} (first ${idleSecs} s: ${JSON.stringify(idle.cpuFirst)}); cold start median ${summary.cold_start_ms} ms`);
  console.log(`a bare node process waking 10 times a second: ${idle.bareTimerPct} % CPU on this machine${pm?.idle ? `; Pacemaker + Corosync idle CPU % ${JSON.stringify(pm.idle.cpu)}, RSS MiB ${JSON.stringify(pm.idle.rss)}` : ''}`);
}
console.log(JSON.stringify(summary));
