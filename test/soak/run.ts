// npm run soak -- [--minutes M] [--interval-s S] [--sample-s S] [--json] [bound options]
//
// A long run of one 3-node cluster with a failover every --interval-s (default 60) for --minutes
// (default 30), watching each node's agent for growth. Real agents from dist/ (built first when
// stale), namespaced nodes on a wireguard-go mesh, one `systemd --user` per node, a `sleep
// infinity` unit as the resource, scripts/fence_tsha_test as the fence device (as test/chaos/ and
// test/bench/failover.ts run them).
// Each failover: the holder loses power (every process of the node SIGKILLed), a survivor must run
// the unit, then the node is powered on and its agent started again; except that n1 is never
// powered off, so that one agent lives through the whole soak: when n1 holds the unit, the failover
// is `tsha resource move` to n2 or n3 (then `resource clear`). Each failover is checked from
// outside by the harness's D-Bus sampler (every 50 ms while it lasts): never two copies, one stable
// copy again (recovery_ms: from the fault to the survivor's unit active), every node back in one
// quorate partition.
// Every --sample-s (default 10), per node, read from outside: the agent's VmRSS and open
// descriptors (/proc/PID/status, /proc/PID/fd), its --state-dir's size (log segments, snapshot,
// recorded scheduler inputs), its log file's size (stdout+stderr, appended across restarts), and
// the node's systemd's RSS, descriptors and log size. One more sample right after each failover
// settled: the equal-phase series (fds_settled, rss_mb_settled).
// Verdict (test/soak/summary.ts) against the bounds docs/performance.md states and explains:
//   --rss-growth-mb (default 4)      a long-lived agent's RSS growth from the middle to the last
//                                    third of its life after warm-up (summary.ts lateGrowth)
//   --rss-max-mb (default 96)        any agent's RSS
//   --fd-growth (default 4)          a long-lived agent's descriptors, and every node's at settled phases
//   --state-dir-max-kb (default 10240)
//   --log-kb-per-h (default 256)     each node's agent log, failovers included
//   --warmup-min (default 3)         of each agent's life, not judged for growth
//   --long-lived-min (default 10)    of life past warm-up before an agent's growth is judged
// Progress goes to stderr; the LAST line of stdout is one JSON object:
// { minutes, failovers, recovery_ms: {p50, p99, max}, overlap_ms, nodes: { n1: { rss_mb: {first,
//   last, max, growth, slope_mb_per_h}, fds, fds_settled, state_dir_kb, log_kb: {…, kb_per_h},
//   systemd, lifetimes }, … }, bounds, verdict: { ok, failures, unjudged }, … }.
// --node-args "ARGS": extra node arguments for every agent (e.g. "--trace-gc" or
// "--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=DIR" to look into a growth).
// --samples FILE: every sample as JSON lines too (the verdict can be recomputed from them).
// Exit status 1 when the verdict fails or a failover did not recover.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, run, sleep, type Cluster, type ClusterNode, type UnitSampler } from '../cluster/harness.js';
import { ensureBuilt, MAIN_JS, TshaCluster } from '../cluster/tsha-cluster.js';
import { outsideView, recoveredAt, STABLE_MS, type BootWindow } from '../chaos/checker.js';
import { option } from '../bench/args.js';
import { summarizeNode, verdict, type Bounds, type NodeSummary, type Sample } from './summary.js';

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const v = option(name);
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!(x > 0)) throw new Error(`--${name}: want a positive number, not ${v}`);
  return x;
};
const minutes = num('minutes', 30);
const intervalMs = num('interval-s', 60) * 1000;
const sampleMs = num('sample-s', 10) * 1000;
const jsonOnly = args.includes('--json');
const nodeArgs = option('node-args')?.split(/\s+/).filter(Boolean) ?? [];
const bounds: Bounds = {
  rssGrowthMb: num('rss-growth-mb', 4),
  rssMaxMb: num('rss-max-mb', 96),
  fdGrowth: num('fd-growth', 4),
  stateDirMaxKb: num('state-dir-max-kb', 10_240),
  logKbPerHour: num('log-kb-per-h', 256),
  warmupMs: num('warmup-min', 3) * 60_000,
  longLivedMs: num('long-lived-min', 10) * 60_000,
};
if (intervalMs < 20_000) throw new Error('--interval-s: at least 20 (a failover, its power-on and rejoin take up to ~15 s)');
/** the node never powered off: its agent lives through the whole soak */
const STEADY = 'n1';

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? null;
}

/** Apparent size of every file under dir (0 when absent), and how many files. */
function treeSize(dir: string, match: (name: string) => boolean = () => true): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return { bytes, files };
  }
  for (const e of ents) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      const sub = treeSize(p, match);
      bytes += sub.bytes;
      files += sub.files;
    } else if (match(e.name)) {
      try {
        bytes += fs.statSync(p).size;
        files++;
      } catch {
        /* removed meanwhile (compaction, recorder rotation) */
      }
    }
  }
  return { bytes, files };
}

const fileSize = (p: string): number => {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
};

/** VmRSS (KiB) and open descriptors of a process, or undefined when it is gone. */
function procMem(pid: number): { rssKiB: number; fds: number } | undefined {
  try {
    const rss = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { rssKiB: Number(rss?.[1] ?? NaN), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** The node's `systemd --user` process (comm "systemd" in its cgroup tree). */
function systemdPid(n: ClusterNode): number | undefined {
  for (const pid of n.pids()) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd') return pid;
    } catch {
      /* gone */
    }
  }
  return undefined;
}

const pre = clusterPrerequisites();
if (!pre.ok) {
  console.error(`soak needs root and ${pre.missing.join(', ')}`);
  process.exit(2);
}
ensureBuilt();

interface Failover {
  readonly i: number;
  readonly kind: 'power-loss' | 'move';
  readonly from: string;
  readonly to: string | null;
  readonly at_s: number;
  readonly recovery_ms: number | null;
  readonly overlap_ms: number;
  readonly rejoined: boolean;
  readonly note?: string;
}

const c: Cluster = await createCluster({ nodes: 3 });
const samples: Sample[] = [];
const failovers: Failover[] = [];
let t0 = now();
const firstSeen = new Map<number, number>();
let sampling: Promise<void> = Promise.resolve();

try {
  const t = new TshaCluster(c, { logLevel: 'info', nodeArgs });
  await t.installUnit();
  t.startAll();
  await t.waitQuorate(30_000);
  await t.waitHolder(20_000);
  t0 = now();
  log(`[soak] 3 nodes up; ${minutes} min, a failover every ${intervalMs / 1000} s, samples every ${sampleMs / 1000} s (cluster ${c.prefix}, dir ${c.dir})`);

  const sampleAll = (settled: boolean): void => {
    const at = now() - t0;
    for (const n of c.nodes) {
      if (n.power !== 'up') continue;
      const pid = t.agentPid(n);
      if (pid === undefined) continue;
      const m = procMem(pid);
      if (!m) continue;
      if (!firstSeen.has(pid)) firstSeen.set(pid, at);
      const stateDir = path.join(n.dir, 'state');
      const sdPid = systemdPid(n);
      const sd = sdPid === undefined ? undefined : procMem(sdPid);
      samples.push({
        t: Math.round(at),
        node: n.name,
        pid,
        age: Math.round(at - firstSeen.get(pid)!),
        rssKiB: m.rssKiB,
        fds: m.fds,
        stateDirBytes: treeSize(stateDir).bytes,
        logSegBytes: treeSize(path.join(stateDir, 'log')).bytes,
        snapshotBytes: fileSize(path.join(stateDir, 'snapshot')),
        ...(() => {
          const r = treeSize(path.join(stateDir, 'scheduler-inputs'), (f) => f.endsWith('.json'));
          return { inputsBytes: r.bytes, inputsCount: r.files };
        })(),
        agentLogBytes: fileSize(t.agents.get(n.name)!.logFile),
        ...(sd ? { systemdPid: sdPid, systemdRssKiB: sd.rssKiB, systemdFds: sd.fds, systemdLogBytes: fileSize(path.join(n.logDir, 'systemd.log')) } : {}),
        settled,
      });
    }
  };

  // the periodic sampler: its own loop, beside the failovers
  let stop = false;
  sampling = (async () => {
    while (!stop) {
      sampleAll(false);
      const wait = sampleMs - ((now() - t0) % sampleMs);
      await sleep(wait);
    }
  })();

  const boots: BootWindow[] = [];
  let moveTarget = 0;
  const end = t0 + minutes * 60_000;
  for (let i = 0; ; i++) {
    const at = t0 + (i + 1) * intervalMs;
    if (at > end) break;
    await sleep(Math.max(0, at - now()));
    const s: UnitSampler = c.sampleUnits(t.unit, { everyMs: 50 });
    let f: Failover;
    try {
      const holder = await t.stableHolder(s, STABLE_MS, 30_000);
      const faultAt = now();
      if (holder.name === STEADY) {
        const others = c.nodes.filter((n) => n.name !== STEADY);
        const target = others[moveTarget++ % others.length]!;
        const cli = (a: string[]) => run([process.execPath, MAIN_JS, 'resource', ...a, '--socket', t.socket(target)], { timeoutMs: 20_000 });
        const r = await cli(['move', t.resourceId, target.name]);
        if (r.code !== 0) throw new Error(`tsha resource move: ${r.stderr.trim()}`);
        const rAt = await waitRecovered(s, faultAt, boots, (k) => k.states[target.name] === 'active', 30_000);
        await cli(['clear', t.resourceId]);
        const tl = s.timeline();
        f = { i, kind: 'move', from: holder.name, to: target.name, at_s: Math.round((faultAt - t0) / 1000), recovery_ms: rAt === undefined ? null : Math.round(firstActiveAfter(tl, faultAt, { exclude: [holder.name] })?.ms ?? rAt - faultAt), overlap_ms: 0, rejoined: true };
      } else {
        const cut = await c.powerLoss(holder);
        const rAt = await waitRecovered(s, cut.t, boots, (k) => k.states[holder.name] !== 'active', 30_000);
        const tl = s.timeline();
        const first = firstActiveAfter(tl, cut.t, { exclude: [holder.name] });
        const to = first?.node ?? null;
        // power on again, start its agent, and wait for every node in one quorate partition with one copy
        for (let again = 0; again < 3; again++) {
          for (const n of c.nodes) {
            if (n.power !== 'down') continue;
            const from = now();
            await c.powerOn(n);
            boots.push({ node: n.name, from, to: now() });
          }
          for (const n of c.nodes) if (!t.agents.get(n.name)?.running()) t.startAgent(n);
          if (c.nodes.every((n) => n.power === 'up')) break;
        }
        const rejoined = await t.waitQuorate(30_000).then(() => true, () => false);
        f = { i, kind: 'power-loss', from: holder.name, to, at_s: Math.round((cut.t - t0) / 1000), recovery_ms: rAt === undefined ? null : Math.round(first?.ms ?? rAt - cut.t), overlap_ms: 0, rejoined, ...(rAt === undefined ? { note: 'no stable single copy within 30 s' } : {}) };
      }
      // one stable copy with every node back, then the equal-phase sample
      await waitRecovered(s, now(), boots, () => true, 30_000);
    } catch (e) {
      f = { i, kind: 'power-loss', from: '?', to: null, at_s: Math.round((now() - t0) / 1000), recovery_ms: null, overlap_ms: 0, rejoined: false, note: (e as Error).message.split('\n')[0] };
    }
    const tl = await s.stop();
    const cuts = c.events.filter((e) => e.kind === 'power-loss' && e.node !== undefined).map((e) => ({ node: e.node!, t: e.t }));
    f = { ...f, overlap_ms: Math.round(overlap(outsideView(tl, boots, cuts)).ms) };
    failovers.push(f);
    sampleAll(true);
    const last = Object.fromEntries(c.nodes.map((n) => [n.name, samples.filter((x) => x.node === n.name).at(-1)]));
    log(`[soak +${f.at_s} s] failover ${i + 1} ${f.kind} ${f.from} → ${f.to ?? 'nowhere'}: ${f.recovery_ms ?? 'NO RECOVERY'} ms, overlap ${f.overlap_ms} ms, rejoined ${f.rejoined}${f.note ? ` (${f.note})` : ''}; RSS MB ${c.nodes.map((n) => `${n.name} ${last[n.name] ? Math.round(last[n.name]!.rssKiB / 102.4) / 10 : '-'}`).join(' ')}; fds ${c.nodes.map((n) => last[n.name]?.fds ?? '-').join('/')}`);
  }
  stop = true;
  await sampling;
} finally {
  await c.destroy();
}

/** Until exactly one copy (on a node `where` accepts) held STABLE_MS after `from`; undefined after timeoutMs. */
async function waitRecovered(s: UnitSampler, from: number, boots: readonly BootWindow[], where: (k: { states: Readonly<Record<string, string>> }) => boolean, timeoutMs: number): Promise<number | undefined> {
  const endAt = now() + timeoutMs;
  for (;;) {
    const tl = s.timeline();
    const cuts = c.events.filter((e) => e.kind === 'power-loss' && e.node !== undefined).map((e) => ({ node: e.node!, t: e.t }));
    const view = outsideView({ ...tl, ticks: tl.ticks.filter((k) => k.t >= from) }, boots, cuts);
    const r = recoveredAt(view, from);
    if (r !== undefined && where(view.ticks.at(-1)!)) return r;
    if (now() > endAt) return undefined;
    await sleep(100);
  }
}

const samplesFile = option('samples');
if (samplesFile) fs.writeFileSync(samplesFile, samples.map((x) => JSON.stringify(x)).join('\n') + '\n');
const nodes: Record<string, NodeSummary> = Object.fromEntries(c.nodes.map((n) => [n.name, summarizeNode(samples.filter((s) => s.node === n.name), bounds)]));
const v = verdict(nodes, bounds);
const recovery = failovers.flatMap((f) => (f.recovery_ms === null ? [] : [f.recovery_ms]));
const failed = failovers.filter((f) => f.recovery_ms === null || !f.rejoined || f.overlap_ms > 0);
const summary = {
  bench: 'soak',
  minutes,
  interval_s: intervalMs / 1000,
  sample_s: sampleMs / 1000,
  failovers: failovers.length,
  failovers_by_kind: { 'power-loss': failovers.filter((f) => f.kind === 'power-loss').length, move: failovers.filter((f) => f.kind === 'move').length },
  failed_failovers: failed,
  recovery_ms: { p50: quantile(recovery, 0.5), p99: quantile(recovery, 0.99), max: recovery.length ? Math.max(...recovery) : null },
  overlap_ms: failovers.reduce((a, f) => a + f.overlap_ms, 0),
  fences: c.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot').length,
  steady_node: STEADY,
  nodes,
  bounds: { rss_growth_mb: bounds.rssGrowthMb, rss_max_mb: bounds.rssMaxMb, fd_growth: bounds.fdGrowth, state_dir_max_kb: bounds.stateDirMaxKb, log_kb_per_h: bounds.logKbPerHour, warmup_min: bounds.warmupMs / 60_000, long_lived_min: bounds.longLivedMs / 60_000 },
  verdict: { ...v, ok: v.ok && failed.length === 0 },
  host: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) },
  failover_log: failovers,
};
if (!jsonOnly) {
  console.log(`${summary.failovers} failovers in ${minutes} min (${failed.length} failed), recovery p50 ${summary.recovery_ms.p50} ms p99 ${summary.recovery_ms.p99} ms, overlap ${summary.overlap_ms} ms`);
  for (const [name, n] of Object.entries(nodes)) {
    console.log(`${name}: ${n.agent_lifetimes} agent lifetimes; RSS MB ${JSON.stringify(n.rss_mb)}; fds ${JSON.stringify(n.fds)}; state dir KB ${JSON.stringify(n.state_dir_kb)}; log KB ${JSON.stringify(n.log_kb)}`);
  }
  console.log(`verdict: ${summary.verdict.ok ? 'ok' : 'FAIL'}${v.failures.map((x) => `\n  ${x}`).join('')}${v.unjudged.map((x) => `\n  unjudged: ${x}`).join('')}`);
}
console.log(JSON.stringify(summary));
process.exitCode = summary.verdict.ok ? 0 : 1;
