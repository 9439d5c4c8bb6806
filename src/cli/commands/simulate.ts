// `tsha simulate --input FILE [--node-fail NODE] [--op-fail RES:OP:NODE] [--output text|json]`:
// replays a recorded scheduler input (crm_simulate -S -x): the status before, the plan, and the
// status after running the plan with simulated results.

import { outputOption, type Output } from '../output-option.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseSchedulerInput } from '../../core/scheduler/record.js';
import { parseOpFailure, simulate } from '../../core/scheduler/simulate.js';
import { renderSimulationText, simulationJson } from '../format/simulation-text.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('simulate')
    .description('replay a recorded scheduler input: status before, plan, status after (like crm_simulate -S)')
    .requiredOption('--input <file>', 'scheduler input JSON ({ snapshot, config, now }, as recorded by the agent)')
    .option('--node-fail <node>', 'mark NODE lost (unclean) before scheduling; repeatable', collect, [])
    .option('--op-fail <spec>', 'fail the action RES:OP:NODE[=status] (status: error, errorHard, errorFatal, timeout, notInstalled; fence:fence:NODE fails a fence); repeatable', collect, [])
    .addOption(outputOption())
    .action((opts: { input: string; nodeFail: string[]; opFail: string[]; output: Output }) => {
      let text: string;
      try {
        text = readFileSync(opts.input, 'utf8');
      } catch (err) {
        throw new Error(`--input: cannot read ${opts.input}: ${(err as Error).message}`);
      }
      const input = parseSchedulerInput(text);
      const sim = simulate(input, { nodeFail: opts.nodeFail, opFail: opts.opFail.map(parseOpFailure) });
      process.stdout.write(opts.output === 'json' ? simulationJson(sim, input.config) : renderSimulationText(sim, input.config));
    });
}
