// CI: every scenario, seeds 1101..2200 (the two files together run 2,200 seeds), 0 violations.
// Split in two files so vitest runs them on both cores.
import { describe, it } from 'vitest';
import { expectNoViolations } from './seeds.js';

describe('simulator: seeds 1101..2200 across all scenarios', () => {
  it('reports no safety or liveness violation', () => expectNoViolations(1101, 1100), 600_000);
});
