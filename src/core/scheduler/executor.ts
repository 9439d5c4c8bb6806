// The plan executor (Pacemaker's transition engine), as a pure state machine:
//
//   let run = startRun(plan, now)
//   { state, effects } = stepRun(run, input)      input: tick | result | supersede
//
// Why pure: the same executor then runs under the daemon (src/runtime/plan-runner.ts feeds it real
// clock ticks and real action results from the adapters), under `tsha simulate` and the cluster
// simulator (simulated results, simulated time), and in tests, without timers or promises inside.
// Its rules:
//   - an action starts only when every predecessor succeeded (and, for watchdog fencing, when its
//     notBefore time has come);
//   - an action that does not report within its timeout counts as a timeout (the runner is told to
//     cancel it); a late result is ignored;
//   - any failure aborts the run: in-flight actions finish, nothing new starts, and the
//     coordinator computes a new plan from the new snapshot (like a transition abort);
//   - supersede (the cluster changed under the plan): in-flight actions finish, nothing new starts.
// The state is owned by the executor: pass the returned state to the next step, do not keep the
// old one (it is updated in place for speed on large plans).
//
// A node of a cluster runs the whole plan but carries out only its own slice: `local` says which
// actions are its own. Another node's action is never executed or timed out here: once its
// predecessors are done it waits (running, as far as this run knows) for its result, which the
// caller feeds in as a `result` when the cluster committed it. `gate` (given to every step) holds a
// ready local action back while it returns false (the node's lease: it is looked at again at the
// next step); a gated action has not started, so no timeout runs for it.

import type { ActionResult, Plan, PlanAction } from './types.js';

export type ActionState = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';
export type RunPhase = 'running' | 'aborting' | 'superseding' | 'complete' | 'aborted' | 'superseded';

export interface RunState {
  plan: Plan;
  phase: RunPhase;
  now: number;
  states: ActionState[];
  startedAt: number[];
  /** unfinished predecessor count per action */
  waiting: number[];
  successors: number[][];
  /** results in the order they arrived (what the next snapshot follows from) */
  results: { actionId: number; result: ActionResult; at: number }[];
  abortReason: string | null;
  /** per action: carried out by this run (the others' results are fed in); null: all are */
  local: boolean[] | null;
}

/** Whether a ready local action may start now (see above); absent: always. */
export type RunGate = (action: PlanAction) => boolean;

export interface RunOptions {
  /** which actions this run carries out itself (default: all) */
  local?: (action: PlanAction) => boolean;
  gate?: RunGate;
}

export type RunInput =
  | { type: 'tick'; now: number }
  | { type: 'result'; actionId: number; result: ActionResult; now: number }
  | { type: 'supersede'; now: number; reason?: string };

export type RunEffect =
  | { type: 'execute'; action: PlanAction }
  | { type: 'cancel'; actionId: number; reason: string }
  | { type: 'finished'; outcome: 'complete' | 'aborted' | 'superseded'; reason: string | null };

export function startRun(plan: Plan, now: number, opts: RunOptions = {}): { state: RunState; effects: RunEffect[] } {
  const n = plan.actions.length;
  const successors: number[][] = Array.from({ length: n }, () => []);
  const waiting = new Array<number>(n).fill(0);
  for (const e of plan.edges) {
    successors[e.before]!.push(e.after);
    waiting[e.after]!++;
  }
  const state: RunState = {
    plan, phase: 'running', now, states: new Array<ActionState>(n).fill('pending'),
    startedAt: new Array<number>(n).fill(-1), waiting, successors, results: [], abortReason: null,
    local: opts.local ? plan.actions.map(opts.local) : null,
  };
  const effects: RunEffect[] = [];
  dispatch(state, effects, opts.gate);
  return { state, effects };
}

function isLocal(s: RunState, i: number): boolean {
  return s.local === null || s.local[i] === true;
}

/** This run's own actions in flight (another node's action waiting for its result does not count). */
export function inFlight(s: RunState): number {
  let c = 0;
  for (let i = 0; i < s.states.length; i++) if (s.states[i] === 'running' && isLocal(s, i)) c++;
  return c;
}

function dispatch(s: RunState, effects: RunEffect[], gate?: RunGate): void {
  if (s.phase === 'running') {
    for (let i = 0; i < s.states.length; i++) {
      if (s.states[i] !== 'pending' || s.waiting[i]! > 0) continue;
      const a = s.plan.actions[i]!;
      if (!isLocal(s, i)) {
        s.states[i] = 'running'; // another node's: waits for the result fed in
        continue;
      }
      if (a.notBefore !== undefined && s.now < a.notBefore) continue;
      if (gate && !gate(a)) continue;
      s.states[i] = 'running';
      s.startedAt[i] = s.now;
      effects.push({ type: 'execute', action: a });
    }
  }
  finishIfDone(s, effects);
}

function finishIfDone(s: RunState, effects: RunEffect[]): void {
  if (s.phase === 'complete' || s.phase === 'aborted' || s.phase === 'superseded') return;
  if (inFlight(s) > 0) return;
  if (s.phase === 'running') {
    // waiting for time (watchdog fencing), the gate, or another node's result
    if (s.states.some((st, i) => st === 'pending' || (st === 'running' && !isLocal(s, i)))) return;
    s.phase = 'complete';
    effects.push({ type: 'finished', outcome: 'complete', reason: null });
    return;
  }
  for (let i = 0; i < s.states.length; i++) if (s.states[i] === 'pending' || s.states[i] === 'running') s.states[i] = 'skipped';
  const outcome = s.phase === 'aborting' ? 'aborted' : 'superseded';
  s.phase = outcome;
  effects.push({ type: 'finished', outcome, reason: s.abortReason });
}

function complete(s: RunState, id: number, result: ActionResult): void {
  s.results.push({ actionId: id, result, at: s.now });
  if (result.status === 'ok') {
    s.states[id] = 'ok';
    for (const next of s.successors[id]!) s.waiting[next]!--;
    return;
  }
  s.states[id] = 'failed';
  if (s.phase === 'running') {
    s.phase = 'aborting';
    const a = s.plan.actions[id]!;
    s.abortReason = `${a.key} failed: ${result.status}${result.reason ? ` (${result.reason})` : ''}`;
  }
}

export function stepRun(s: RunState, input: RunInput, gate?: RunGate): { state: RunState; effects: RunEffect[] } {
  const effects: RunEffect[] = [];
  if (input.now > s.now) s.now = input.now;
  switch (input.type) {
    case 'result': {
      if (s.states[input.actionId] === 'running') complete(s, input.actionId, input.result);
      break;
    }
    case 'supersede': {
      if (s.phase === 'running' || s.phase === 'aborting') {
        if (s.phase === 'running') s.abortReason = input.reason ?? 'superseded by a new plan';
        s.phase = 'superseding';
      }
      break;
    }
    case 'tick':
      break;
  }
  // Timeouts (of this run's own actions).
  for (let i = 0; i < s.states.length; i++) {
    if (s.states[i] !== 'running' || !isLocal(s, i)) continue;
    const a = s.plan.actions[i]!;
    if (s.now - s.startedAt[i]! >= a.timeoutMs) {
      effects.push({ type: 'cancel', actionId: i, reason: `timed out after ${a.timeoutMs} ms` });
      complete(s, i, { status: 'timeout', reason: `no result within ${a.timeoutMs} ms` });
    }
  }
  dispatch(s, effects, gate);
  return { state: s, effects };
}

/** The earliest time at which a tick could change something (a timeout or a notBefore). */
export function nextDeadline(s: RunState): number | null {
  let t: number | null = null;
  for (let i = 0; i < s.states.length; i++) {
    if (!isLocal(s, i)) continue;
    const a = s.plan.actions[i]!;
    let d: number | null = null;
    if (s.states[i] === 'running') d = s.startedAt[i]! + a.timeoutMs;
    else if (s.phase === 'running' && s.states[i] === 'pending' && s.waiting[i] === 0 && a.notBefore !== undefined) d = a.notBefore;
    if (d !== null && (t === null || d < t)) t = d;
  }
  return t;
}
