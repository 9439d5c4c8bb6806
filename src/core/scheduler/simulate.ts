// Simulation (crm_simulate -S): schedule a recorded input, run the plan through the executor
// with simulated action results, and derive the snapshot after it. Pure: the simulated clock
// starts at the input's `now` and jumps to each watchdog-fencing deadline; every simulated action
// completes instantly with `ok`, except those the caller asks to fail.

import type { ActionResult, ActionStatus, Plan, PlanAction, SchedulerInput } from './types.js';
import { schedule } from './schedule.js';
import { nextDeadline, startRun, stepRun } from './executor.js';
import type { RunEffect } from './executor.js';
import { applyResults } from './apply-results.js';
import type { ClusterSnapshot } from '../snapshot.js';
import { primitiveOf } from '../../config/types.js';

export interface OpFailure {
  resource: string;
  operation: string;
  node: string;
  status?: ActionStatus;
}

export interface SimulateOptions {
  /** nodes to mark lost (unclean) before scheduling, like crm_simulate --node-fail */
  nodeFail?: string[];
  /** actions to fail, like crm_simulate --op-fail */
  opFail?: OpFailure[];
}

export interface SimulationResult {
  before: ClusterSnapshot;
  plan: Plan;
  results: { actionId: number; result: ActionResult; at: number }[];
  outcome: 'complete' | 'aborted' | 'superseded';
  abortReason: string | null;
  after: ClusterSnapshot;
}

export class SimulationInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'SimulationInputError';
  }
}

export function parseOpFailure(spec: string): OpFailure {
  const [main, status] = spec.split('=');
  const parts = (main ?? '').split(':');
  // RES may itself contain ':' (a clone instance "drbd:1"): the last two fields are OP and NODE.
  if (parts.length < 3) throw new SimulationInputError('--op-fail', `expected RES:OP:NODE[=status], got "${spec}"`);
  const node = parts.pop()!;
  const operation = parts.pop()!;
  const resource = parts.join(':');
  const statuses: ActionStatus[] = ['error', 'errorHard', 'errorFatal', 'timeout', 'notInstalled'];
  if (status !== undefined && !statuses.includes(status as ActionStatus)) {
    throw new SimulationInputError('--op-fail', `unknown status "${status}" (one of ${statuses.join(', ')})`);
  }
  return { resource, operation, node, ...(status ? { status: status as ActionStatus } : {}) };
}

export function injectNodeFailures(input: SchedulerInput, nodes: string[]): SchedulerInput {
  const out = structuredClone(input);
  for (const name of nodes) {
    const n = out.snapshot.nodes.find((x) => x.name === name);
    if (!n) throw new SimulationInputError('--node-fail', `no node named "${name}" in the snapshot`);
    n.state = 'unclean';
    n.leaseExpiredAt ??= out.now;
    out.snapshot.fenced = out.snapshot.fenced.filter((f) => f !== name);
  }
  return out;
}

function matches(a: PlanAction, f: OpFailure): boolean {
  // Fencing has no resource: "fence:fence:NODE" fails the fence of NODE.
  if (a.type === 'fence') return f.operation === 'fence' && a.node === f.node;
  if (a.node !== f.node || a.type !== f.operation || a.resource === null) return false;
  return a.resource === f.resource || primitiveOf(a.resource) === f.resource;
}

export function simulatedResult(a: PlanAction, opFail: OpFailure[]): ActionResult {
  const f = opFail.find((x) => matches(a, x));
  if (!f) return { status: 'ok', exitCode: 0 };
  const status = f.status ?? 'error';
  return { status, exitCode: status === 'notInstalled' ? 5 : 1, reason: 'simulated failure' };
}

export function simulate(input: SchedulerInput, opts: SimulateOptions = {}): SimulationResult {
  const prepared = opts.nodeFail?.length ? injectNodeFailures(input, opts.nodeFail) : input;
  const plan = schedule(prepared.snapshot, prepared.config, prepared.now);
  let now = prepared.now;
  let { state, effects } = startRun(plan, now);
  const queue: RunEffect[] = [...effects];
  let outcome: SimulationResult['outcome'] | null = null;
  for (let guard = 0; outcome === null && guard < 1_000_000; guard++) {
    const e = queue.shift();
    if (!e) {
      const d = nextDeadline(state);
      if (d === null) break;
      now = Math.max(now, d);
      ({ state, effects } = stepRun(state, { type: 'tick', now }));
      queue.push(...effects);
      continue;
    }
    if (e.type === 'finished') outcome = e.outcome;
    else if (e.type === 'execute') {
      ({ state, effects } = stepRun(state, { type: 'result', actionId: e.action.id, result: simulatedResult(e.action, opts.opFail ?? []), now }));
      queue.push(...effects);
    }
  }
  const after = applyResults(prepared.snapshot, prepared.config, plan, state.results, now);
  return { before: prepared.snapshot, plan, results: state.results, outcome: outcome ?? 'aborted', abortReason: state.abortReason, after };
}
