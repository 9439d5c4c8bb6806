import { runSeeds } from './run.js';
const t = Date.now();
const sc = process.argv[2];
const n = Number(process.argv[3] ?? 10);
const s = runSeeds({ seeds: n, scenario: sc === 'all' ? undefined : sc });
console.log(JSON.stringify({ runs: s.runs, v: s.violations.slice(0, 10), nv: s.violations.length, fo: s.failover, ms: Date.now() - t, events: s.events }, null, 0));
