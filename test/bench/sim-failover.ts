// Simulated failover benchmark: for each scenario that measures failover (holder crash on 3 nodes,
// 2 nodes + witness, 2 nodes alone; 50 ms fence, 50 ms start, default timing), run N seeds and
// print one JSON object with the median, p99 and raw samples in simulated milliseconds.
//   npm run bench:sim-failover -- [N]
import { percentile, runScenario } from '../sim/run.js';
import { scenarios } from '../sim/scenarios.js';

const n = Number(process.argv[2] ?? 200);
const out: Record<string, { runs: number; median_ms: number | null; p99_ms: number | null; samples_ms: number[] }> = {};
for (const sc of scenarios.filter((s) => s.measureFailover)) {
  const samples: number[] = [];
  for (let seed = 1; seed <= n; seed++) samples.push(...runScenario(sc, seed).failovers.map((x) => Math.round(x)));
  out[sc.name] = { runs: n, median_ms: percentile(samples, 50), p99_ms: percentile(samples, 99), samples_ms: samples };
}
console.log(JSON.stringify({ bench: 'sim-failover', unit: 'simulated ms', results: out }));
