// The plan executor's rules (src/core/scheduler/executor.ts): ordering, abort on failure,
// supersede, timeouts, watchdog notBefore.
import { describe, expect, it } from 'vitest';
import { nextDeadline, startRun, stepRun } from '../../../src/core/scheduler/executor.js';
import type { RunEffect } from '../../../src/core/scheduler/executor.js';
import type { Plan, PlanAction } from '../../../src/core/scheduler/types.js';

function act(id: number, key: string, extra: Partial<PlanAction> = {}): PlanAction {
  return { id, key, type: 'start', resource: key, node: 'n1', timeoutMs: 1000, reason: 'test', ...extra };
}

// a → b → d, a → c → d
function diamond(): Plan {
  return {
    now: 0, actions: [act(0, 'a'), act(1, 'b'), act(2, 'c'), act(3, 'd')],
    edges: [{ before: 0, after: 1 }, { before: 0, after: 2 }, { before: 1, after: 3 }, { before: 2, after: 3 }],
    stopped: [], expiredFailures: [], keepStopped: [], recheckAt: null, target: [], notes: [],
  };
}

const executed = (effects: RunEffect[]) => effects.filter((e) => e.type === 'execute').map((e) => (e as { action: PlanAction }).action.key);
const ok = { status: 'ok' } as const;

describe('plan executor', () => {
  it('starts an action only after all its predecessors succeeded', () => {
    let { state, effects } = startRun(diamond(), 0);
    expect(executed(effects)).toEqual(['a']);
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 0, result: ok, now: 1 }));
    expect(executed(effects)).toEqual(['b', 'c']);
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 1, result: ok, now: 2 }));
    expect(executed(effects)).toEqual([]);
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 2, result: ok, now: 3 }));
    expect(executed(effects)).toEqual(['d']);
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 3, result: ok, now: 4 }));
    expect(effects).toContainEqual({ type: 'finished', outcome: 'complete', reason: null });
    expect(state.phase).toBe('complete');
  });

  it('aborts on a failure: in-flight actions finish, nothing new starts', () => {
    let { state } = startRun(diamond(), 0);
    ({ state } = stepRun(state, { type: 'result', actionId: 0, result: ok, now: 1 }));
    let effects: RunEffect[];
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 1, result: { status: 'errorHard', reason: 'exit 5' }, now: 2 }));
    expect(executed(effects)).toEqual([]);
    expect(effects.some((e) => e.type === 'finished')).toBe(false); // c is still running
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 2, result: ok, now: 3 }));
    expect(executed(effects)).toEqual([]);
    expect(effects).toContainEqual({ type: 'finished', outcome: 'aborted', reason: 'b failed: errorHard (exit 5)' });
    expect(state.states).toEqual(['ok', 'failed', 'ok', 'skipped']);
  });

  it('stops cleanly when superseded by a new plan', () => {
    let { state } = startRun(diamond(), 0);
    let effects: RunEffect[];
    ({ state, effects } = stepRun(state, { type: 'supersede', now: 1 }));
    expect(effects).toEqual([]); // a is in flight
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 0, result: ok, now: 2 }));
    expect(executed(effects)).toEqual([]);
    expect(effects).toContainEqual({ type: 'finished', outcome: 'superseded', reason: 'superseded by a new plan' });
    expect(state.results.map((r) => r.actionId)).toEqual([0]);
  });

  it('times out an action that does not report, asks to cancel it, and ignores its late result', () => {
    let { state } = startRun(diamond(), 0);
    expect(nextDeadline(state)).toBe(1000);
    let effects: RunEffect[];
    ({ state, effects } = stepRun(state, { type: 'tick', now: 999 }));
    expect(effects).toEqual([]);
    ({ state, effects } = stepRun(state, { type: 'tick', now: 1000 }));
    expect(effects).toContainEqual({ type: 'cancel', actionId: 0, reason: 'timed out after 1000 ms' });
    expect(effects).toContainEqual({ type: 'finished', outcome: 'aborted', reason: 'a failed: timeout (no result within 1000 ms)' });
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 0, result: ok, now: 1001 }));
    expect(effects).toEqual([]);
    expect(state.results).toHaveLength(1);
  });

  it('holds a watchdog fence until its notBefore time', () => {
    const plan: Plan = {
      now: 0, actions: [act(0, 'fence n1', { type: 'fence', resource: null, notBefore: 500, method: 'watchdog', timeoutMs: 2000 }), act(1, 'web')],
      edges: [{ before: 0, after: 1 }], stopped: [], expiredFailures: [], keepStopped: [], recheckAt: null, target: [], notes: [],
    };
    let { state, effects } = startRun(plan, 0);
    expect(executed(effects)).toEqual([]);
    expect(nextDeadline(state)).toBe(500);
    ({ state, effects } = stepRun(state, { type: 'tick', now: 499 }));
    expect(executed(effects)).toEqual([]);
    ({ state, effects } = stepRun(state, { type: 'tick', now: 500 }));
    expect(executed(effects)).toEqual(['fence n1']);
    ({ state, effects } = stepRun(state, { type: 'result', actionId: 0, result: ok, now: 510 }));
    expect(executed(effects)).toEqual(['web']);
  });

  it('an empty plan completes at once', () => {
    const { effects } = startRun({ now: 0, actions: [], edges: [], stopped: [], expiredFailures: [], keepStopped: [], recheckAt: null, target: [], notes: [] }, 0);
    expect(effects).toEqual([{ type: 'finished', outcome: 'complete', reason: null }]);
  });
});
