// Runs a plan through an action port in real time: the async shell around the pure executor
// (src/core/scheduler/executor.ts). It feeds the executor the monotonic clock and the port's
// results, arms one timer for the next deadline (a timeout or a watchdog-fencing notBefore),
// aborts the port call of an action that timed out, and resolves when the run finished.
// `supersede()` stops the run cleanly: in-flight actions finish, nothing new starts.

import type { ActionPort } from '../ports/actions.js';
import type { Plan } from '../core/scheduler/types.js';
import { nextDeadline, startRun, stepRun } from '../core/scheduler/executor.js';
import type { RunEffect, RunInput, RunState } from '../core/scheduler/executor.js';

export interface MonotonicClock {
  now(): number;
}

export const systemClock: MonotonicClock = { now: () => performance.now() };

export interface RunOutcome {
  outcome: 'complete' | 'aborted' | 'superseded';
  reason: string | null;
  state: RunState;
}

export interface RunHandle {
  done: Promise<RunOutcome>;
  supersede(reason?: string): void;
}

export function runPlan(plan: Plan, port: ActionPort, clock: MonotonicClock = systemClock): RunHandle {
  let state!: RunState;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let finished = false;
  const controllers = new Map<number, AbortController>();
  let resolveDone!: (o: RunOutcome) => void;
  const done = new Promise<RunOutcome>((r) => { resolveDone = r; });

  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (finished) return;
    const d = nextDeadline(state);
    if (d !== null) timer = setTimeout(() => feed({ type: 'tick', now: clock.now() }), Math.max(0, Math.ceil(d - clock.now())));
  };

  const handle = (effects: RunEffect[]) => {
    for (const e of effects) {
      if (e.type === 'execute') {
        const ctl = new AbortController();
        controllers.set(e.action.id, ctl);
        const id = e.action.id;
        port.execute(e.action, ctl.signal).then(
          (result) => feed({ type: 'result', actionId: id, result, now: clock.now() }),
          (err: unknown) => feed({ type: 'result', actionId: id, result: { status: 'error', reason: err instanceof Error ? err.message : String(err) }, now: clock.now() }),
        ).finally(() => controllers.delete(id));
      } else if (e.type === 'cancel') {
        controllers.get(e.actionId)?.abort();
      } else {
        finished = true;
        if (timer) clearTimeout(timer);
        resolveDone({ outcome: e.outcome, reason: e.reason, state });
      }
    }
    arm();
  };

  const feed = (input: RunInput) => {
    if (finished) return;
    const r = stepRun(state, input);
    state = r.state;
    handle(r.effects);
  };

  const first = startRun(plan, clock.now());
  state = first.state;
  handle(first.effects);
  return { done, supersede: (reason?: string) => feed({ type: 'supersede', now: clock.now(), ...(reason ? { reason } : {}) }) };
}
