// `tsha simulate` output (crm_simulate -S): the status before, the plan, the outcome of running it
// with simulated results, and the status after, each in the `tsha status` text style.

import type { CompiledConfig } from '../../config/types.js';
import type { SimulationResult } from '../../core/scheduler/simulate.js';
import { renderPlanText } from './plan-text.js';
import { snapshotStatusView } from './status-view.js';
import { renderStatusText } from './status-text.js';

/** The outcome of running the plan and the status after it (crm_simulate's "Revised Cluster Status"). */
function outcomeText(sim: SimulationResult, config: CompiledConfig): string[] {
  return [
    `Executed plan: ${sim.outcome}${sim.abortReason ? ` (${sim.abortReason})` : ''}`,
    '',
    'Revised cluster status:',
    renderStatusText(snapshotStatusView(sim.after, config), { includeSummary: false }),
  ];
}

export function renderStatusPair(sim: SimulationResult, config: CompiledConfig): string {
  return ['Current cluster status:', renderStatusText(snapshotStatusView(sim.before, config), { includeSummary: false }), ...outcomeText(sim, config)].join('\n');
}

export function renderSimulationText(sim: SimulationResult, config: CompiledConfig): string {
  return [renderStatusText(snapshotStatusView(sim.before, config)), renderPlanText(sim.plan, sim.before), ...outcomeText(sim, config)].join('\n');
}

export function simulationJson(sim: SimulationResult, config: CompiledConfig): string {
  return JSON.stringify({
    before: snapshotStatusView(sim.before, config),
    plan: sim.plan,
    outcome: sim.outcome,
    abortReason: sim.abortReason,
    results: sim.results,
    after: snapshotStatusView(sim.after, config),
  }, null, 2) + '\n';
}
