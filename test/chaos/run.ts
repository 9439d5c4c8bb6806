// npm run chaos -- --seed N --faults K [--runs R] [--minutes M] [--nodes 3|2w] [--recovery-bound-ms MS] [--keep] [--json]
//
// A randomized fault campaign on the real-cluster harness, judged by an outside checker (like
// Pacemaker's CTS or Jepsen). Real agents from dist/ (built first when stale), namespaced nodes on a
// wireguard-go mesh, one `systemd --user` per node, a `sleep infinity` unit as the one resource,
// scripts/fence_tsha_test as the fence device. Each run is a fresh cluster and the schedule of
// seed, seed+1, … (--runs, default 1): K faults drawn from the seed (kinds, node picks, holds,
// 1–4 s gaps), one at a time, each undone after its hold. --minutes M: start no new fault after M
// minutes of a run. --keep: keep the evidence (agent logs, timeline) of passing runs too.
// See test/chaos/checker.ts for the rules and docs/chaos.md for figures.
// Progress goes to stderr; the LAST line of stdout is one JSON object
// { runs, faults, violations: [{ seed, fault, rule, at, detail }], recovery_ms: { p50, p99, max },
//   unsettled_ms: { p50, p99, max },
//   schedule (per seed), ... }. A failing seed's schedule is printed in full: the same --seed replays it.
import os from 'node:os';
import { option } from '../bench/args.js';
import { clusterPrerequisites } from '../cluster/harness.js';
import { ensureBuilt } from '../cluster/tsha-cluster.js';
import { runCampaign, type CampaignResult, type Topology } from './campaign.js';

const args = process.argv.slice(2);
const seed = Number(option('seed') ?? 1);
const faults = Number(option('faults') ?? 30);
const runs = Number(option('runs') ?? 1);
const minutes = option('minutes') === undefined ? undefined : Number(option('minutes'));
const topology = (option('nodes') ?? '3') as Topology;
const recoveryBoundMs = Number(option('recovery-bound-ms') ?? 15_000);
const jsonOnly = args.includes('--json');
if (!Number.isInteger(seed) || seed < 0) throw new Error('--seed: want an integer >= 0');
if (!Number.isInteger(faults) || faults < 1) throw new Error('--faults: want a positive integer');
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: want a positive integer');
if (minutes !== undefined && !(minutes > 0)) throw new Error('--minutes: want a positive number');
if (topology !== '3' && topology !== '2w') throw new Error('--nodes: 3 or 2w');

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? null;
}

const pre = clusterPrerequisites();
if (!pre.ok) {
  console.error(`chaos needs root and ${pre.missing.join(', ')}`);
  process.exit(2);
}
ensureBuilt();

const results: CampaignResult[] = [];
for (let r = 0; r < runs; r++) {
  const res = await runCampaign({ seed: seed + r, faults, topology, maxMs: minutes === undefined ? undefined : minutes * 60_000, recoveryBoundMs, log, keep: args.includes('--keep') });
  results.push(res);
  log(`[chaos seed ${res.seed}] ${res.schedule.length} faults in ${Math.round(res.durationMs / 1000)} s, ${res.fences} fences, overlap ${res.overlapMs} ms, ${res.violations.length} violations${res.keptIn ? `; evidence in ${res.keptIn}` : ''}`);
  for (const v of res.violations) log(`  VIOLATION ${v.rule} seed ${v.seed} fault ${v.fault ?? '-'} at +${v.at} ms: ${v.detail}`);
  if (res.violations.length > 0) log(`  schedule of seed ${res.seed} (replay: npm run chaos -- --seed ${res.seed} --faults ${faults} --nodes ${topology}):\n${res.schedule.map((f) => `    ${JSON.stringify(f)}`).join('\n')}`);
}

const recovery = results.flatMap((r) => r.schedule.flatMap((f) => (f.recoveryMs === null ? [] : [f.recoveryMs])));
const unsettled = results.flatMap((r) => r.schedule.map((f) => f.unsettledMs));
const summary = {
  bench: 'chaos',
  topology: topology === '2w' ? '2 nodes + witness' : '3 nodes',
  runs: results.length,
  faults: results.reduce((a, r) => a + r.schedule.length, 0),
  violations: results.flatMap((r) => r.violations),
  recovery_ms: { p50: quantile(recovery, 0.5), p99: quantile(recovery, 0.99), max: recovery.length ? Math.max(...recovery) : null, bound: recoveryBoundMs },
  // per fault, sampled time without exactly one copy from the fault until the cluster settled again
  unsettled_ms: { p50: quantile(unsettled, 0.5), p99: quantile(unsettled, 0.99), max: unsettled.length ? Math.max(...unsettled) : null },
  overlap_ms: results.reduce((a, r) => a + r.overlapMs, 0),
  fences: results.reduce((a, r) => a + r.fences, 0),
  duration_s: results.map((r) => Math.round(r.durationMs / 1000)),
  // the machine is shared: timing figures (and any timing-dependent violation) are read against its load
  host: { cpus: os.cpus().length, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) },
  evidence: results.flatMap((r) => (r.keptIn ? [r.keptIn] : [])),
  schedule: Object.fromEntries(results.map((r) => [r.seed, r.schedule.map((f) => ({ i: f.i, kind: f.kind, nodes: f.nodes, at_ms: f.atMs, hold_ms: f.holdMs, gap_ms: f.gapMs, recovery_ms: f.recoveryMs, unsettled_ms: f.unsettledMs }))])),
};
if (!jsonOnly) {
  console.log(`${summary.runs} runs, ${summary.faults} faults, ${summary.violations.length} violations, recovery p50 ${summary.recovery_ms.p50} ms p99 ${summary.recovery_ms.p99} ms, ${summary.fences} fences`);
}
console.log(JSON.stringify(summary));
process.exitCode = summary.violations.length > 0 ? 1 : 0;
