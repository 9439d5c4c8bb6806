// Runs scenarios by seed: the module benchmarks and tests import; the CLI (cli.ts) wraps it.
import type { UnsafeSwitches } from '../../src/core/cluster/types.js';
import { makeConfig } from './config.js';
import { Sim, type SimParams, type Violation } from './engine.js';
import { SETTLE_MS, scenarios, type Scenario } from './scenarios.js';

export interface RunResult {
  scenario: string;
  seed: number;
  violations: Violation[];
  failovers: number[];
  events: number;
}

export function runScenario(sc: Scenario, seed: number, unsafe?: UnsafeSwitches, log?: (line: string) => void, observe?: (sim: Sim) => void): RunResult {
  const config = makeConfig(sc.config);
  const params: SimParams = { seed, config, ...sc.params };
  if (unsafe) params.unsafe = unsafe;
  sc.setup?.(params);
  // the cluster forms over a calm network; the scenario's network faults start with its script
  const faultyNet = params.net;
  delete params.net;
  const sim = new Sim(params);
  if (log) sim.log = log;
  observe?.(sim);
  sim.runUntil(SETTLE_MS);
  if (faultyNet) sim.net = { ...sim.net, ...faultyNet };
  if (!sim.allPlaced() && !params.offAtStart) sim.violate('liveness', `not every resource placed by ${SETTLE_MS} ms after start`);
  sc.script(sim, sim.rng, SETTLE_MS);
  sim.runUntil(sc.durationMs);
  if (sc.expect === 'placed' && !sim.allPlaced()) {
    const where = [...sim.running()].map(([r, ns]) => `${r}@${ns.join('+') || '-'}`).join(' ');
    sim.violate('liveness', `resources not all placed once at the end: ${where} (coordinator ${sim.coordinator() ?? 'none'})`);
  }
  if (sc.expect === 'stopped' && !sim.noneRunning()) sim.violate('liveness', 'a node without quorum still runs resources at the end');
  return { scenario: sc.name, seed, violations: sim.violations, failovers: sc.measureFailover ? sim.failovers : [], events: sim.stats.events };
}

export interface Summary {
  runs: number;
  violations: { seed: number; scenario: string; rule: string; detail: string }[];
  failover: Record<string, number[]>;
  events: number;
}

/** seed s runs scenario (s mod count) unless one scenario is chosen */
export function runSeeds(opts: { seeds: number; from?: number; scenario?: string; unsafe?: UnsafeSwitches; onResult?: (r: RunResult) => void }): Summary {
  const list = opts.scenario ? scenarios.filter((s) => s.name === opts.scenario) : scenarios;
  if (list.length === 0) throw new Error(`no scenario named "${opts.scenario}" (have: ${scenarios.map((s) => s.name).join(', ')})`);
  const out: Summary = { runs: 0, violations: [], failover: {}, events: 0 };
  const from = opts.from ?? 1;
  for (let i = 0; i < opts.seeds; i++) {
    const seed = from + i;
    const sc = list[seed % list.length]!;
    const r = runScenario(sc, seed, opts.unsafe);
    out.runs++;
    out.events += r.events;
    for (const v of r.violations) out.violations.push({ seed, scenario: sc.name, rule: v.rule, detail: `${v.detail} @${Math.round(v.time)}ms` });
    if (r.failovers.length) (out.failover[sc.name] ??= []).push(...r.failovers);
    opts.onResult?.(r);
  }
  return out;
}

export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!);
}
