// Shared by the CI simulator tests: run a range of seeds and fail with the replay command.
import { expect } from 'vitest';
import { runSeeds } from './run.js';

export function expectNoViolations(from: number, seeds: number) {
  const s = runSeeds({ seeds, from });
  const lines = s.violations.map(
    (v) => `${v.rule} in ${v.scenario} seed ${v.seed}: ${v.detail} — replay: npm run sim -- --scenario ${v.scenario} --from ${v.seed} --seeds 1 --trace`,
  );
  expect(lines).toEqual([]);
  expect(s.runs).toBe(seeds);
}
