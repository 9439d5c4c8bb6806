// npm run sim -- --seeds N [--scenario NAME] [--from SEED] [--json] [--trace] [--list] [--progress]
//
// Runs N seeds (seed s runs scenario s mod count, unless --scenario picks one), prints runs,
// violations with the seed that replays each, and the simulated failover distribution. With
// --json the last line is one JSON object: { runs, violations: [{seed, scenario, rule, detail}],
// failover_ms: {p50, p99} (3-node holder crash), failover_by_scenario, events, wall_ms }.
// The first seed comes from --from, else TSHA_SEED, else 1. --trace prints every decision of one
// seed (use with --scenario and --from).
import { parseArgs } from 'node:util';
import type { UnsafeSwitches } from '../../src/core/cluster/types.js';
import { percentile, runScenario, runSeeds } from './run.js';
import { findScenario, scenarios } from './scenarios.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    from: { type: 'string' },
    scenario: { type: 'string' },
    json: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    unsafe: { type: 'string' },
    progress: { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const s of scenarios) console.log(`${s.name.padEnd(28)} ${s.description}`);
  process.exit(0);
}

const from = Number(values.from ?? process.env.TSHA_SEED ?? 1);
const seeds = Number(values.seeds);
if (!Number.isInteger(from) || !Number.isInteger(seeds) || seeds < 1) {
  console.error('--seeds and --from / TSHA_SEED must be integers (seeds ≥ 1)');
  process.exit(2);
}
// test-only: --unsafe skipFenceWait|acceptStaleVotes|startBeforeLeaseExpiry|ignoreFoundCopies shows the checker firing
const unsafe: UnsafeSwitches | undefined = values.unsafe ? { [values.unsafe]: true } : undefined;

if (values.trace) {
  if (!values.scenario) {
    console.error('--trace needs --scenario NAME (and --from SEED)');
    process.exit(2);
  }
  const r = runScenario(findScenario(values.scenario), from, unsafe, (line) => console.log(line));
  console.log(JSON.stringify({ seed: from, scenario: values.scenario, violations: r.violations, failovers: r.failovers }));
  process.exit(r.violations.length > 0 ? 1 : 0);
}

const t0 = performance.now();
let done = 0;
const s = runSeeds({
  seeds,
  from,
  scenario: values.scenario,
  unsafe,
  // --progress: stream violations and a progress line to stderr (long background runs)
  onResult: values.progress
    ? (r) => {
        for (const v of r.violations) console.error(`VIOLATION ${v.rule} in ${r.scenario} seed ${r.seed}: ${v.detail}`);
        if (++done % 5000 === 0) console.error(`progress ${done}/${seeds} seeds, ${Math.round(performance.now() - t0)} ms`);
      }
    : undefined,
});
const wall = Math.round(performance.now() - t0);
const hc = s.failover['holder-crash-3'] ?? [];

{
  const perScenario = new Map<string, { runs: number; violations: number }>();
  const list = values.scenario ? scenarios.filter((x) => x.name === values.scenario) : scenarios;
  for (let i = 0; i < seeds; i++) {
    const name = list[(from + i) % list.length]!.name;
    const e = perScenario.get(name) ?? { runs: 0, violations: 0 };
    e.runs++;
    perScenario.set(name, e);
  }
  for (const v of s.violations) perScenario.get(v.scenario)!.violations++;
  const out = values.json ? console.error : console.log;
  out(`runs ${s.runs}  violations ${s.violations.length}  events ${s.events}  wall ${wall} ms  (seeds ${from}..${from + seeds - 1})`);
  for (const [name, e] of perScenario) out(`  ${name.padEnd(28)} runs ${String(e.runs).padStart(6)}  violations ${e.violations}`);
  for (const v of s.violations.slice(0, 50)) {
    out(`VIOLATION ${v.rule} in ${v.scenario} seed ${v.seed}: ${v.detail}`);
    out(`  replay: npm run sim -- --scenario ${v.scenario} --from ${v.seed} --seeds 1 --trace`);
  }
  for (const [name, xs] of Object.entries(s.failover)) {
    out(`failover ${name}: n=${xs.length} p50=${percentile(xs, 50)} ms p90=${percentile(xs, 90)} ms p99=${percentile(xs, 99)} ms max=${percentile(xs, 100)} ms`);
  }
}
if (values.json) {
  const byScenario: Record<string, { n: number; p50: number | null; p99: number | null }> = {};
  for (const [name, xs] of Object.entries(s.failover)) byScenario[name] = { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) };
  console.log(
    JSON.stringify({
      runs: s.runs,
      violations: s.violations,
      failover_ms: { p50: percentile(hc, 50), p99: percentile(hc, 99) },
      failover_by_scenario: byScenario,
      events: s.events,
      wall_ms: wall,
    }),
  );
}
process.exit(s.violations.length > 0 ? 1 : 0);
