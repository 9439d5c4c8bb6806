// `npm run bench:scheduler -- [--json] [--runs N] [--quick] ...`: tsha's schedule() against
// Pacemaker's crm_simulate on the same generated clusters (workload.ts), in the same run.
// Human-readable progress first; the LAST line of output is one JSON object with every sample.
// Run with --help for the options; test/bench/scheduler/README.md says what is measured.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACEMAKER_2_1_5, renderCib, type CibOptions } from './cib.js';
import {
  calibrate,
  findTool,
  pacemakerVersion,
  parseTransitionSummary,
  runCrmSimulate,
  verifyCib,
  type CrmRun,
} from './pacemaker.js';
import { planStarts, tshaSchedule, type ScheduleFn } from './tsha-scheduler.js';
import { renderTshaInput } from './tsha-input.js';
import { describeWorkload, generateWorkload, type Variant } from './workload.js';
import { median as medianOf } from '../stats.js';

interface Options {
  runs: number;
  warmup: number;
  crmRuns: number;
  sRuns: number;
  sTimeoutMs: number;
  crmTimeoutMs: number;
  crmBudgetMs: number;
  tshaBudgetMs: number;
  cases: { nodes: number; resources: number }[];
  seed: number;
  variant: Variant;
  probes: boolean;
  verify: boolean;
  crm: boolean;
  keep: string | null;
  json: boolean;
  quick: boolean;
}

const FULL_CASES = [3, 16, 32].flatMap((nodes) => [100, 1000, 2000].map((resources) => ({ nodes, resources })));
const QUICK_CASES = [
  { nodes: 3, resources: 100 },
  { nodes: 16, resources: 100 },
  { nodes: 3, resources: 1000 },
];

const HELP = `npm run bench:scheduler -- [options]

Times tsha's schedule(snapshot, config, now) in-process and Pacemaker's crm_simulate as a
subprocess on the same generated clusters; prints progress, then one JSON line (last line).

  --json               accepted for the issue's command line; the last line is always the JSON
  --runs N             timed schedule() calls per case (default 20, --quick 10)
  --warmup N           untimed schedule() calls first (default 5)
  --crm-runs N         timed 'crm_simulate -R' runs per case (default 3, --quick 1)
  --s-runs N           timed 'crm_simulate -S' runs per case (default 1, 0 = none)
  --s-timeout SECS     kill a 'crm_simulate -S' run after this long, report it as timed out (default 10)
  --crm-timeout SECS   same for 'crm_simulate -R' (default 300)
  --crm-budget SECS    fewer 'crm_simulate -R' runs (at least 1) when the next would take a case past this (default 150)
  --tsha-budget SECS   fewer schedule() runs (at least 3) when one takes so long the case would exceed this (default 60)
  --quick              3x100, 16x100, 3x1000 only, fewer runs (well under a minute)
  --cases LIST         e.g. 3x100,32x2000 (default: 3, 16, 32 nodes x 100, 1000, 2000 resources)
  --seed N             workload seed (default 1)
  --variant V          node-lost (default: last node lost uncleanly) or steady
  --no-probes          CIB without the stopped-probe history; enable-startup-probes=false instead
  --verify             also run crm_verify -x on each generated CIB (about one more -R run per case;
                       npm test checks the generator's CIBs with crm_verify already)
  --tsha-only          skip Pacemaker (profiling tsha alone)
  --keep DIR           write the CIBs and tsha inputs there instead of a temporary directory
`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    runs: 20,
    warmup: 5,
    crmRuns: 3,
    sRuns: 1,
    sTimeoutMs: 10_000,
    crmTimeoutMs: 300_000,
    crmBudgetMs: 150_000,
    tshaBudgetMs: 60_000,
    cases: FULL_CASES,
    seed: 1,
    variant: 'node-lost',
    probes: true,
    verify: false,
    crm: true,
    keep: null,
    json: false,
    quick: false,
  };
  const explicit = new Set<string>();
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${flag}: need a number ≥ ${min}, got ${v}`);
    explicit.add(flag);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--json': o.json = true; break;
      case '--quick': o.quick = true; break;
      case '--no-probes': o.probes = false; break;
      case '--verify': o.verify = true; break;
      case '--tsha-only': o.crm = false; break;
      case '--runs': o.runs = Math.floor(num(a, v, 1)); i++; break;
      case '--warmup': o.warmup = Math.floor(num(a, v, 0)); i++; break;
      case '--crm-runs': o.crmRuns = Math.floor(num(a, v, 1)); i++; break;
      case '--s-runs': o.sRuns = Math.floor(num(a, v, 0)); i++; break;
      case '--s-timeout': o.sTimeoutMs = num(a, v, 0.1) * 1000; i++; break;
      case '--crm-timeout': o.crmTimeoutMs = num(a, v, 0.1) * 1000; i++; break;
      case '--crm-budget': o.crmBudgetMs = num(a, v, 0) * 1000; i++; break;
      case '--tsha-budget': o.tshaBudgetMs = num(a, v, 0.1) * 1000; i++; break;
      case '--seed': o.seed = Math.floor(num(a, v, 0)); i++; break;
      case '--variant':
        if (v !== 'node-lost' && v !== 'steady') throw new Error(`--variant: node-lost or steady, got ${v}`);
        o.variant = v;
        i++;
        break;
      case '--cases':
        o.cases = (v ?? '').split(',').map((c) => {
          const m = /^(\d+)x(\d+)$/.exec(c.trim());
          if (m === null) throw new Error(`--cases: expected NODESxRESOURCES[,...], got "${c}"`);
          return { nodes: Number(m[1]), resources: Number(m[2]) };
        });
        explicit.add(a);
        i++;
        break;
      case '--keep': o.keep = v ?? null; i++; break;
      case '--help': case '-h': process.stdout.write(HELP); process.exit(0); break;
      default: throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (o.quick) {
    if (!explicit.has('--cases')) o.cases = QUICK_CASES;
    if (!explicit.has('--runs')) o.runs = 10;
    if (!explicit.has('--crm-runs')) o.crmRuns = 1;
  }
  return o;
}

const median = (xs: number[]): number | null => (xs.length === 0 ? null : medianOf(xs));
const round = (x: number | null, digits = 3): number | null => (x === null ? null : Number(x.toFixed(digits)));
const fmt = (ms: number | null): string => (ms === null ? '—' : ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);
const log = (s: string): void => void process.stdout.write(`${s}\n`);

/** how many starts both sides agree on, counted per primitive (clone instance numbers dropped) */
function compareStarts(tsha: string[] | null, crm: string[] | null): Record<string, number | null> {
  if (tsha === null || crm === null) {
    return { tsha: tsha?.length ?? null, crm_simulate: crm?.length ?? null, both: null, only_tsha: null, only_crm_simulate: null };
  }
  const count = (xs: string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const a = count(tsha);
  const b = count(crm);
  let both = 0;
  for (const [k, n] of a) both += Math.min(n, b.get(k) ?? 0);
  return { tsha: tsha.length, crm_simulate: crm.length, both, only_tsha: tsha.length - both, only_crm_simulate: crm.length - both };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const dir = opts.keep ?? mkdtempSync(join(tmpdir(), 'tsha-bench-scheduler-'));
  mkdirSync(dir, { recursive: true });

  const crmSimulate = opts.crm ? findTool('crm_simulate') : null;
  const crmVerify = findTool('crm_verify');
  let cib: CibOptions = PACEMAKER_2_1_5;
  let pcmkVersion: string | null = null;
  if (crmSimulate === null) {
    log('crm_simulate not found: Pacemaker side skipped (apt-get install --no-install-recommends pacemaker pacemaker-cli-utils)');
  } else {
    pcmkVersion = pacemakerVersion(crmSimulate);
    cib = calibrate(crmSimulate, 10_000, 20_000);
    log(`Pacemaker ${pcmkVersion}: feature set ${cib.featureSet}, Dummy digests ${cib.digestOneShot} / ${cib.digestMonitor}`);
  }
  log(
    `${opts.cases.length} cases, variant ${opts.variant}, seed ${opts.seed}, probes ${opts.probes ? 'recorded' : 'off'}; ` +
      `tsha ${opts.warmup} warm-up + ${opts.runs} runs; crm_simulate -R ${opts.crmRuns} runs, -S ${opts.sRuns} run(s) ≤ ${opts.sTimeoutMs / 1000} s`,
  );

  const cases: Record<string, unknown>[] = [];
  for (const c of opts.cases) {
    const label = `${c.nodes} nodes × ${c.resources} resources`;
    const w = generateWorkload({ nodes: c.nodes, resources: c.resources, seed: opts.seed, variant: opts.variant });
    const input = renderTshaInput(w);
    const cibFile = join(dir, `cib-${c.nodes}x${c.resources}-${opts.variant}.xml`);
    writeFileSync(cibFile, renderCib(w, { ...cib, probes: opts.probes }));
    if (opts.keep !== null) writeFileSync(join(dir, `tsha-${c.nodes}x${c.resources}-${opts.variant}.json`), JSON.stringify(input));
    log(`\n== ${label} (${opts.variant}): ${JSON.stringify(describeWorkload(w))}`);

    // tsha, in-process
    const samples: number[] = [];
    let tshaStarts: string[] | null = null;
    let tshaError: string | null = null;
    let tshaLeftStopped: number | null = null;
    {
      const r = timeTsha(tshaSchedule, input, opts);
      samples.push(...r.samples);
      tshaStarts = r.starts;
      tshaError = r.error;
      tshaLeftStopped = r.leftStopped;
      log(
        r.error !== null
          ? `  tsha: FAILED ${r.error}`
          : `  tsha schedule(): median ${fmt(median(samples))} over ${samples.length} runs (min ${fmt(Math.min(...samples))}, max ${fmt(Math.max(...samples))}); ${tshaStarts?.length ?? '?'} starts`,
      );
    }

    // Pacemaker, subprocess
    let verify: { ok: boolean; ms: number; output: string } | null = null;
    const crmSamples: number[] = [];
    const sSamples: number[] = [];
    let sTimedOut = 0;
    let crmStarts: string[] | null = null;
    let crmVerbs: Record<string, number> | null = null;
    let crmError: string | null = null;
    if (crmSimulate !== null) {
      if (opts.verify && crmVerify !== null) {
        verify = verifyCib(crmVerify, cibFile);
        log(`  crm_verify -x: ${verify.ok ? 'valid' : `INVALID: ${verify.output.slice(0, 500)}`} (${fmt(verify.ms)})`);
      }
      for (let i = 0; i < opts.crmRuns; i++) {
        const run: CrmRun = await runCrmSimulate(crmSimulate, '-R', cibFile, opts.crmTimeoutMs);
        if (run.ms === null || run.exitCode !== 0) {
          crmError = run.ms === null ? `timed out after ${opts.crmTimeoutMs / 1000} s` : `exit code ${run.exitCode}`;
          break;
        }
        crmSamples.push(run.ms);
        if (i === 0) {
          const summary = parseTransitionSummary(run.stdout);
          crmStarts = summary.starts;
          crmVerbs = summary.verbs;
        }
        const spent = crmSamples.reduce((s, x) => s + x, 0);
        if (spent + run.ms > opts.crmBudgetMs) break;
      }
      log(
        crmError !== null
          ? `  crm_simulate -R: FAILED ${crmError}`
          : `  crm_simulate -R: median ${fmt(median(crmSamples))} over ${crmSamples.length} runs; summary ${JSON.stringify(crmVerbs)}`,
      );
      for (let i = 0; i < opts.sRuns; i++) {
        const run = await runCrmSimulate(crmSimulate, '-S', cibFile, opts.sTimeoutMs);
        if (run.ms === null) {
          sTimedOut++;
          break; // a second try would time out too
        }
        if (run.exitCode !== 0) break;
        sSamples.push(run.ms);
      }
      if (opts.sRuns > 0) {
        log(
          sTimedOut > 0
            ? `  crm_simulate -S: did not finish within ${opts.sTimeoutMs / 1000} s (killed)`
            : `  crm_simulate -S: median ${fmt(median(sSamples))} over ${sSamples.length} run(s)`,
        );
      }
    }

    const med = median(samples);
    const crmMed = median(crmSamples);
    const ratio = med !== null && crmMed !== null && med > 0 ? crmMed / med : null;
    const starts = compareStarts(tshaStarts, crmStarts);
    if (ratio !== null) log(`  ratio crm_simulate -R / tsha = ${ratio.toFixed(1)}×; starts ${JSON.stringify(starts)}`);
    cases.push({
      nodes: c.nodes,
      resources: c.resources,
      variant: opts.variant,
      median_ms: round(med),
      crm_simulate_median_ms: round(crmMed),
      min_ms: round(samples.length > 0 ? Math.min(...samples) : null),
      crm_simulate_min_ms: round(crmSamples.length > 0 ? Math.min(...crmSamples) : null),
      ratio: round(ratio, 2),
      samples_ms: samples.map((x) => round(x)),
      crm_simulate_samples_ms: crmSamples.map((x) => round(x)),
      crm_simulate_S_median_ms: round(median(sSamples)),
      crm_simulate_S_samples_ms: sSamples.map((x) => round(x)),
      crm_simulate_S_timed_out: sTimedOut > 0 ? opts.sTimeoutMs : null,
      crm_verify: verify === null ? null : { ok: verify.ok, ms: round(verify.ms) },
      starts,
      crm_simulate_summary: crmVerbs,
      tsha_left_stopped: tshaLeftStopped,
      errors: { tsha: tshaError, crm_simulate: crmError },
      workload: describeWorkload(w),
    });
  }
  if (opts.keep === null) rmSync(dir, { recursive: true, force: true });

  const totalS = (performance.now() - started) / 1000;
  if (!opts.json) {
    log('\nnodes  resources   tsha median   crm_simulate -R median   ratio   starts tsha/crm');
    for (const c of cases) {
      const s = c['starts'] as Record<string, number | null>;
      log(
        `${String(c['nodes']).padStart(5)}  ${String(c['resources']).padStart(9)}   ${fmt(c['median_ms'] as number | null).padStart(11)}   ` +
          `${fmt(c['crm_simulate_median_ms'] as number | null).padStart(22)}   ${String(c['ratio'] ?? '—').padStart(5)}   ${s['tsha'] ?? '—'}/${s['crm_simulate'] ?? '—'}`,
      );
    }
  }
  log(`\ntotal ${totalS.toFixed(0)} s`);
  const result = {
    bench: 'scheduler',
    measured: {
      median_ms:
        `tsha schedule(snapshot, config, now) called in-process on prebuilt inputs (no parsing), ` +
        `timed with performance.now() around the call, after ${opts.warmup} untimed warm-up calls; each call gets its own structuredClone of the inputs, all made before timing`,
      crm_simulate_median_ms:
        'wall time (process.hrtime, spawn to exit) of `crm_simulate -R -x cib.xml`, stdout drained: process start, reading and ' +
        'schema-checking the CIB, unpacking config and status, scheduling, printing status and transition summary',
      ratio: 'crm_simulate_median_ms / median_ms (how many times tsha is faster than crm_simulate -R)',
      min_ms: 'fastest sample of each side (the machine may be shared; the median is the headline figure)',
      tsha_left_stopped: 'managed resources tsha leaves stopped, with a reason in plan.stopped',
      crm_simulate_S:
        '`crm_simulate -S -x cib.xml` wall time: -R plus simulating every action through a file-backed CIB and printing the revised status; ' +
        `killed after crm_simulate_S_timed_out ms when set`,
      starts:
        'start actions in each plan, per primitive (clone instance numbers dropped): both = agreed, only_* = started by one side only; ' +
        'Pacemaker: Start, Move, Recover and Restart lines of the transition summary',
    },
    setup: {
      seed: opts.seed,
      variant: opts.variant,
      probes: opts.probes,
      fencing: 'off on both sides (CIB stonith-enabled=false; tsha fencing.enabled=false)',
      pacemaker: pcmkVersion,
      node: process.version,
      cpus: availableParallelism(),
      cpu_model: cpus()[0]?.model ?? null,
      tsha_scheduler: 'schedule() from src/core/scheduler/index.ts',
      runs: opts.runs,
      warmup: opts.warmup,
      crm_runs: opts.crmRuns,
      crm_budget_ms: opts.crmBudgetMs,
      s_runs: opts.sRuns,
      s_timeout_ms: opts.sTimeoutMs,
    },
    total_s: round(totalS, 1),
    cases,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function timeTsha(
  schedule: ScheduleFn,
  input: ReturnType<typeof renderTshaInput>,
  opts: Options,
): { samples: number[]; starts: string[] | null; leftStopped: number | null; error: string | null } {
  const samples: number[] = [];
  let starts: string[] | null = null;
  let leftStopped: number | null = null;
  try {
    // Fresh copies of the inputs, made before timing so that the bench's own allocation is not
    // collected inside a timed call. No forced GC between calls: measured here, a full gc() before
    // each call made schedule() about twice as slow (a shrunk heap grows again inside the call),
    // which is not how a long-running coordinator runs it.
    const copies = Array.from({ length: opts.warmup + opts.runs }, () => structuredClone(input));
    for (let i = 0; i < copies.length; i++) {
      const { snapshot, config, now } = copies[i]!;
      copies[i] = undefined as unknown as typeof input;
      const t0 = performance.now();
      const plan = schedule(snapshot, config, now);
      const ms = performance.now() - t0;
      if (i === 0) {
        starts = planStarts(plan);
        leftStopped = plan.stopped.length;
        if (JSON.stringify({ config, snapshot, now }) !== JSON.stringify({ config: input.config, snapshot: input.snapshot, now: input.now })) {
          return { samples, starts, leftStopped, error: 'schedule() modified its inputs' };
        }
      }
      if (i >= opts.warmup) samples.push(ms);
      // keep a slow scheduler within its budget, but never below 3 samples
      const spent = samples.reduce((s, x) => s + x, 0);
      if (samples.length >= 3 && spent + ms > opts.tshaBudgetMs) break;
    }
  } catch (e) {
    return { samples, starts, leftStopped, error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e) };
  }
  return { samples, starts, leftStopped, error: null };
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
