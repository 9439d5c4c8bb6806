// Golden scheduler scenarios (Pacemaker's cts-scheduler): each test/scenarios/<name>/ holds a
// recorded scheduler input (input.json), optional simulation faults (simulate.json), a one-line
// description, and the expected plan (plan.txt) and before/after status (summary.txt). Any
// difference fails. UPDATE_GOLDEN=1 rewrites the expectations: review every changed file with
// `git diff test/scenarios` before committing, never regenerate blindly.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSchedulerInput } from '../../src/core/scheduler/record.js';
import { simulate } from '../../src/core/scheduler/simulate.js';
import type { SimulateOptions } from '../../src/core/scheduler/simulate.js';
import { renderPlanText } from '../../src/cli/format/plan-text.js';
import { renderStatusPair } from '../../src/cli/format/simulation-text.js';

const root = new URL('.', import.meta.url).pathname;
const update = process.env.UPDATE_GOLDEN === '1';
const dirs = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

describe('golden scheduler scenarios', () => {
  it('has at least 60 scenarios, each with a one-line description', () => {
    expect(dirs.length).toBeGreaterThanOrEqual(60);
    for (const d of dirs) {
      const desc = readFileSync(join(root, d, 'description.txt'), 'utf8').trim();
      expect(desc.length, d).toBeGreaterThan(10);
      expect(desc.includes('\n'), d).toBe(false);
    }
  });

  for (const name of dirs) {
    it(name, () => {
      const dir = join(root, name);
      const input = parseSchedulerInput(readFileSync(join(dir, 'input.json'), 'utf8'));
      const optsFile = join(dir, 'simulate.json');
      const opts = existsSync(optsFile) ? (JSON.parse(readFileSync(optsFile, 'utf8')) as SimulateOptions) : {};
      const sim = simulate(input, opts);
      const plan = renderPlanText(sim.plan, sim.before);
      const summary = renderStatusPair(sim, input.config);
      const files: [string, string][] = [['plan.txt', plan], ['summary.txt', summary]];
      for (const [file, actual] of files) {
        const path = join(dir, file);
        if (update) writeFileSync(path, actual);
        expect(existsSync(path), `${name}/${file} missing (UPDATE_GOLDEN=1 creates it)`).toBe(true);
        expect(actual, `${name}/${file}`).toBe(readFileSync(path, 'utf8'));
      }
    });
  }
});
