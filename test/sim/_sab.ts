import { runSeeds } from './run.js';
const s = runSeeds({ seeds: 300, scenario: process.argv[3], unsafe: { acceptStaleVotes: process.argv[2] === '1' } });
const by: Record<string, number> = {};
for (const v of s.violations) by[v.scenario + ':' + v.rule] = (by[v.scenario + ':' + v.rule] ?? 0) + 1;
console.log(JSON.stringify(by), s.violations.slice(0,3));
