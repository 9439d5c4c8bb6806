// `tsha simulate` output (crm_simulate -S): the status before, the plan, the outcome of running it
// with simulated results, and the status after, each in the `tsha status` text style.

import type { CompiledConfig } from '../../config/types.js';
import type { SimulationResult } from '../../core/scheduler/simulate.js';
import { renderPlanText } from './plan-text.js';
import { snapshotStatusView } from './status-view.js';
import { renderStatusText } from './status-text.js';

export function renderStatusPair(sim: SimulationResult, config: CompiledConfig): string {
  const out: string[] = [];
  out.push('Current cluster status:');
  out.push(renderStatusText(snapshotStatusView(sim.before, config), { includeSummary: false }));
  out.push(`Executed plan: ${sim.outcome}${sim.abortReason ? ` (${sim.abortReason})` : ''}`);
  out.push('');
  out.push('Revised cluster status:');
  out.push(renderStatusText(snapshotStatusView(sim.after, config), { includeSummary: false }));
  return out.join('\n');
}

export function renderSimulationText(sim: SimulationResult, config: CompiledConfig): string {
  const out: string[] = [];
  out.push(renderStatusText(snapshotStatusView(sim.before, config)));
  out.push(renderPlanText(sim.plan, sim.before));
  out.push(`Executed plan: ${sim.outcome}${sim.abortReason ? ` (${sim.abortReason})` : ''}`);
  out.push('');
  out.push('Revised cluster status:');
  out.push(renderStatusText(snapshotStatusView(sim.after, config), { includeSummary: false }));
  return out.join('\n');
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
