// A simulated action port (no real component behind it): every action succeeds after an optional
// delay, except those listed as failing. Used by the plan runner's tests and by simulations that
// want real timers; `tsha simulate` drives the pure executor directly with the same results.

import type { ActionPort } from '../ports/actions.js';
import type { ActionResult, PlanAction } from '../core/scheduler/types.js';
import { simulatedResult } from '../core/scheduler/simulate.js';
import type { OpFailure } from '../core/scheduler/simulate.js';

export interface SimulatedActionsOptions {
  opFail?: OpFailure[];
  /** milliseconds each action takes, by action key or type; default 0 */
  delayMs?: (action: PlanAction) => number;
}

export class SimulatedActions implements ActionPort {
  readonly executed: string[] = [];
  constructor(private readonly opts: SimulatedActionsOptions = {}) {}

  execute(action: PlanAction, signal: AbortSignal): Promise<ActionResult> {
    this.executed.push(action.key);
    const delay = this.opts.delayMs?.(action) ?? 0;
    const result = simulatedResult(action, this.opts.opFail ?? []);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(result), delay);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ status: 'timeout', reason: 'aborted' });
      }, { once: true });
    });
  }
}
