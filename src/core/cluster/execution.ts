// Execution: every node carries out its own actions of the committed transition, and nothing else
// starts, stops, promotes or demotes a resource (DESIGN.md, "one execution path").
//
// Each node runs the transition's whole plan through the pure executor (src/core/scheduler/
// executor.ts) but executes only its slice: the actions on itself, and, on the coordinator that
// computed the plan, its fence actions. Another node's action counts as done when the cluster
// committed its result (`results` entries, relayed by the coordinator from that node's report), so
// an order across nodes (stop on n1, then start on n2) holds as committed. The rules:
//   - the lease gate: a node carries out an action only while it holds its lease, outside the
//     no-quorum margin (leases.ts, mayAct); a gated action waits, it has not started; a storage
//     takeover also waits while its lost node is not held down (a node back up keeps its storage);
//   - a new transition supersedes the previous one: its in-flight actions finish, nothing more of it
//     starts; so does the transition's end;
//   - the outcome of each own action is reported to the coordinator (NodeReport.run) until the
//     transition ended here; the node's resources and their roles (`local`) follow the outcomes;
//   - the no-quorum policy `stop` is the lease gate's own action: when the lease is about to end,
//     the node stops what it runs by a plan of its own (the same scheduler, no quorum), through the
//     same executor (transition id 0), and retries it while anything is left;
//   - a fence action of the coordinator asks the fencing module for a fence and succeeds once the
//     target's node-down is committed after the transition began; if the target is the
//     coordinator itself it resets its own machine (the others then fence it or wait out its lease);
//   - failures seen by a recurring monitor outside transitions are reported as events until the
//     cluster counted them (ClusterState.failureAck): a cleanup is never undone by a late report.

import type { ResourceId } from '../../config/types.js';
import { inFlight, nextDeadline, startRun, stepRun, type RunEffect, type RunGate } from '../scheduler/executor.js';
import { schedule } from '../scheduler/schedule.js';
import type { ActionResult, Plan, PlanAction } from '../scheduler/types.js';
import type { ClusterSnapshot } from '../snapshot.js';
import { toLocal } from './clock.js';
import type { ActiveRole, Command } from './commands.js';
import { ensureFence } from './fencing.js';
import { mayAct, policyMargin } from './leases.js';
import { entryAt } from './log.js';
import type { NodeReport } from './messages.js';
import type { NodeState, Out, SliceRun } from './state.js';
import { clonedBase, inPromotable } from './state.js';
import type { TransitionRecord } from './state-machine.js';
import { primitiveOf } from '../../config/types.js';

/** The no-quorum stop is retried this long after an attempt that left something running. */
const POLICY_RETRY_MS = 1000;
/** The transition id of a node's own no-quorum stop. */
export const LOCAL_RUN = 0;

/** Who carries out an action of a transition: fencing is the coordinator's, the rest the node's. */
export function ownerOf(t: TransitionRecord, a: PlanAction): string {
  return a.type === 'fence' ? t.coordinator : a.node;
}

function asPlan(st: NodeState, t: TransitionRecord): Plan {
  // notBefore (watchdog fencing) is cluster time; this node's executor runs on its own clock
  const actions = t.plan.actions.map((a) => (a.notBefore === undefined ? a : { ...a, notBefore: toLocal(st, a.notBefore) }));
  return { now: t.at, actions, edges: t.plan.edges, stopped: [], expiredFailures: [], keepStopped: [], target: t.plan.target, recheckAt: null, notes: [] };
}

function gateFor(st: NodeState, transition: number, now: number): RunGate {
  if (transition === LOCAL_RUN) return () => true;
  const t = st.cluster.transition;
  return (a) => {
    if (a.type === 'fence') return st.role === 'leader' && t !== null && t.id === transition && st.term === t.term;
    // a storage takeover acts against a lost node: only while the cluster holds it down (fenced or
    // its lease expired); a node back up meanwhile keeps its storage, and the transition that
    // planned the takeover is superseded
    if (a.type === 'storage_blocklist' || a.type === 'storage_break_lock' || a.type === 'storage_outdate_peer') {
      if (a.target === undefined || st.cluster.down[a.target] === undefined) return false;
    }
    // a transition another term's coordinator planned is aborted by the current one as soon as it
    // leads: a node whose lease a new coordinator renewed before that abort reaches it (a node back
    // from a power loss, replaying its log) starts nothing more of it
    if (t !== null && t.id === transition && t.term !== st.term) return false;
    return mayAct(st, now);
  };
}

/** This node's view of a transition's state, as its report carries it. */
export function selfReport(st: NodeState): NodeReport {
  const active: ResourceId[] = [];
  const promoted: ResourceId[] = [];
  const failed: ResourceId[] = [];
  for (const [r, role] of st.local) {
    active.push(r);
    if (role === 'promoted') promoted.push(r);
    else if (role === 'failed') failed.push(r);
  }
  active.sort();
  promoted.sort();
  failed.sort();
  let busy = false;
  let run: NodeReport['run'] = null;
  for (const r of st.runs) {
    if (inFlight(r.exec) > 0) busy = true;
    if (r.transition !== LOCAL_RUN && !r.ended) run = { transition: r.transition, results: [...r.results] };
  }
  return { applied: st.applied, active, promoted, failed, busy, run, failures: [...st.events] };
}

/** The role a resource has here after an action's outcome (null: surely stopped; undefined: unchanged). */
export function roleAfter(st: NodeState, a: PlanAction, result: ActionResult): ActiveRole | null | undefined {
  if (a.resource === null || a.type.startsWith('storage_')) return undefined;
  if (result.status !== 'ok') return 'failed';
  switch (a.type) {
    case 'start': return inPromotable(st, a.resource) ? 'unpromoted' : 'started';
    case 'stop': return null;
    case 'promote': return 'promoted';
    case 'demote': return 'unpromoted';
    case 'migrate_from': return 'started';
    case 'migrate_to': return null;
    default: return undefined;
  }
}

function setLocal(st: NodeState, resource: ResourceId, role: ActiveRole | null | undefined): void {
  if (role === undefined) return;
  if (role === null) st.local.delete(resource);
  else st.local.set(resource, role);
}

function handle(st: NodeState, out: Out, run: SliceRun, effects: RunEffect[], now: number): void {
  for (const e of effects) {
    if (e.type === 'execute') {
      const a = e.action;
      if (a.type === 'fence') {
        if (a.node === st.self) {
          out.effects.push({ type: 'selfFence', cause: `fence action of transition ${run.transition}: ${a.reason}` });
          out.trace('fence-self', a.reason, undefined, st.self);
        } else {
          ensureFence(st, out, a.node, now, 0, 'plan', a.reason, a.fenceAction ?? 'off');
        }
        continue;
      }
      // a clone instance found running at start, not numbered yet: this action gives it its number
      if (a.resource !== null) adoptNumber(st, out, a.resource);
      // anything a start may have begun counts as running here until an outcome says otherwise
      if ((a.type === 'start' || a.type === 'promote' || a.type === 'migrate_from') && a.resource !== null && !st.local.has(a.resource)) {
        st.local.set(a.resource, 'started');
      }
      out.effects.push({ type: 'execute', transition: run.transition, action: a });
    } else if (e.type === 'cancel') {
      out.effects.push({ type: 'cancel', transition: run.transition, actionId: e.actionId, reason: e.reason });
      const a = run.exec.plan.actions[e.actionId]!;
      const result: ActionResult = { status: 'timeout', reason: e.reason };
      if (a.type !== 'fence') setLocal(st, a.resource ?? '', roleAfter(st, a, result));
      record(run, e.actionId, result);
    } else {
      out.trace('run-finished', `transition ${run.transition}: ${e.outcome}${e.reason ? ` (${e.reason})` : ''}`);
    }
  }
}

function record(run: SliceRun, actionId: number, result: ActionResult): void {
  if (run.transition === LOCAL_RUN) return;
  run.results.push({
    action: actionId, status: result.status,
    ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
    ...(result.reason !== undefined ? { reason: result.reason } : {}),
  });
}

function step(st: NodeState, out: Out, run: SliceRun, input: Parameters<typeof stepRun>[1], now: number): void {
  const r = stepRun(run.exec, input, gateFor(st, run.transition, now));
  run.exec = r.state;
  handle(st, out, run, r.effects, now);
  if (run.exec.phase === 'superseding' || run.exec.phase === 'aborting') releaseFenceWaits(st, out, run, now);
}

/**
 * A fence action in flight only waits for the target's node-down to be committed (the fencing
 * module keeps trying meanwhile): once its transition ends or is superseded, nothing waits for it.
 */
function releaseFenceWaits(st: NodeState, out: Out, run: SliceRun, now: number): void {
  const states = run.exec.states;
  for (let i = 0; i < states.length; i++) {
    const a = run.exec.plan.actions[i]!;
    if (states[i] !== 'running' || a.type !== 'fence' || (run.exec.local !== null && !run.exec.local[i])) continue;
    const r = stepRun(run.exec, { type: 'result', actionId: i, result: { status: 'timeout', reason: 'the transition ended before the fence was confirmed' }, now });
    run.exec = r.state;
    handle(st, out, run, r.effects, now);
  }
}

function live(run: SliceRun): boolean {
  const p = run.exec.phase;
  return p === 'running' || p === 'aborting' || p === 'superseding';
}

/** Feed a run what the cluster committed: other nodes' results, and fence targets now down. */
function sync(st: NodeState, out: Out, run: SliceRun, now: number): void {
  const t = st.cluster.transition;
  if (!t || t.id !== run.transition || !live(run)) return;
  for (let changed = true; changed;) {
    changed = false;
    const states = run.exec.states;
    for (let i = 0; i < states.length; i++) {
      if (states[i] !== 'running') continue;
      const a = run.exec.plan.actions[i]!;
      if (a.type === 'fence') {
        // every node reads a fence's outcome from the log: the target's node-down, committed after
        // the transition began (no round trip through the coordinator's report)
        const down = st.cluster.down[a.node];
        if (!down || down.index <= t.id) continue;
        const result: ActionResult = { status: 'ok', reason: down.cause === 'fenced' ? 'fence confirmed' : 'lease and watchdog time passed' };
        if (ownerOf(t, a) === st.self) record(run, i, result);
        step(st, out, run, { type: 'result', actionId: i, result, now }, now);
        changed = true;
      } else if (ownerOf(t, a) !== st.self) {
        const c = t.results[i];
        if (!c) continue;
        step(st, out, run, { type: 'result', actionId: i, result: { status: c.status, ...(c.reason !== undefined ? { reason: c.reason } : {}) }, now }, now);
        changed = true;
      }
    }
  }
}

function currentRun(st: NodeState): SliceRun | undefined {
  const t = st.cluster.transition;
  return t ? st.runs.find((r) => r.transition === t.id) : undefined;
}

function supersedeAll(st: NodeState, out: Out, now: number, reason: string, keep?: SliceRun): void {
  for (const r of st.runs) if (r !== keep && r.exec.phase === 'running') step(st, out, r, { type: 'supersede', now, reason }, now);
}

/** Start carrying out the committed transition (it is the cluster's current one). */
function begin(st: NodeState, out: Out, t: TransitionRecord, now: number): void {
  if (st.isWitness || st.runs.some((r) => r.transition === t.id)) return;
  supersedeAll(st, out, now, `superseded by transition ${t.id}`);
  const run: SliceRun = { transition: t.id, exec: null as unknown as SliceRun['exec'], results: [], ended: t.outcome !== 'running' };
  const first = startRun(asPlan(st, t), now, { local: (a) => ownerOf(t, a) === st.self, gate: gateFor(st, t.id, now) });
  run.exec = first.state;
  st.runs.push(run);
  handle(st, out, run, first.effects, now);
  if (run.ended) step(st, out, run, { type: 'supersede', now, reason: t.reason ?? 'transition ended' }, now);
  sync(st, out, run, now);
}

/** Whether a committed entry after `id` ends transition `id` or starts another one. */
function overLater(st: NodeState, id: number): boolean {
  for (let i = st.commitIndex; i > id; i--) {
    const c = entryAt(st, i)?.cmd;
    if (c && (c.type === 'transition' || (c.type === 'transitionEnd' && c.transition === id))) return true;
  }
  return false;
}

/** After each committed entry is applied. */
export function afterApply(st: NodeState, out: Out, cmd: Command, _index: number, now: number): void {
  switch (cmd.type) {
    case 'transition': {
      // A node catching up applies old transitions too: one already ended (or replaced) further
      // on in what is committed is history, not work (its starts are recorded as possible only).
      const t = st.cluster.transition;
      if (t && !overLater(st, t.id)) begin(st, out, t, now);
      return;
    }
    case 'results':
    case 'nodeDown': {
      const run = currentRun(st);
      if (run) sync(st, out, run, now);
      return;
    }
    case 'transitionEnd': {
      const run = st.runs.find((r) => r.transition === cmd.transition);
      if (!run) return;
      run.ended = true;
      if (run.exec.phase === 'running') step(st, out, run, { type: 'supersede', now, reason: `transition ${cmd.outcome}` }, now);
      return;
    }
    case 'failure':
      if (cmd.node === st.self && cmd.incarnation === st.incarnation) st.events = st.events.filter((e) => e.seq > cmd.seq);
      return;
    case 'observed':
      if (cmd.node === st.self) adoptInstanceNumbers(st, out, cmd.active);
      return;
    default:
      return;
  }
}

/**
 * The record gives this node's clone copies their instance numbers (coordination.ts numberInstances):
 * a copy found running under the clone child's id, or under a number the record no longer gives it,
 * takes the number the record has that this node does not hold yet. A node replaying its log after
 * a restart passes older records first; the last one settles the names.
 */
function adoptInstanceNumbers(st: NodeState, out: Out, record: Record<ResourceId, ActiveRole>): void {
  const wanted = new Map<ResourceId, ResourceId[]>();
  for (const id of Object.keys(record).sort()) {
    const base = clonedBase(st, id);
    if (base !== null && id !== base && !st.local.has(id)) wanted.set(base, [...(wanted.get(base) ?? []), id]);
  }
  if (wanted.size === 0) return;
  // the child's own id first (found at start), then stale numbers in order
  const held = [...st.local.keys()].filter((id) => !(id in record) && wanted.has(clonedBase(st, id) ?? '')).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  for (const from of held) {
    const to = wanted.get(clonedBase(st, from)!)!.shift();
    if (to === undefined) continue;
    // an action on the copy by its old name is running (the no-quorum stop): its outcome is for
    // that name; the number is given by a later record, once it ended
    if (actingOn(st, from)) continue;
    st.local.set(to, st.local.get(from)!);
    st.local.delete(from);
    out.effects.push({ type: 'renamed', from, to });
  }
}

/** An action of a transition names a copy this node holds under the clone child's own id: it gives the copy its number. */
function adoptNumber(st: NodeState, out: Out, id: ResourceId): void {
  const base = clonedBase(st, id);
  if (base === null || base === id || st.local.has(id) || !st.local.has(base)) return;
  if (actingOn(st, base)) return;
  st.local.set(id, st.local.get(base)!);
  st.local.delete(base);
  out.effects.push({ type: 'renamed', from: base, to: id });
}

/** Whether an action of this node on `id` is running. */
function actingOn(st: NodeState, id: ResourceId): boolean {
  return st.runs.some((r) => r.exec.states.some((state, i) => state === 'running' && r.exec.plan.actions[i]?.resource === id));
}

/** After the whole cluster state was replaced by a snapshot from the coordinator. */
export function afterStateReplaced(st: NodeState, out: Out, now: number): void {
  const ack = st.cluster.failureAck[st.self];
  if (ack && ack.incarnation === st.incarnation) st.events = st.events.filter((e) => e.seq > ack.seq);
  const t = st.cluster.transition;
  for (const r of st.runs) {
    if (r.transition === LOCAL_RUN || (t && r.transition === t.id && t.outcome === 'running')) continue;
    r.ended = true;
    if (r.exec.phase === 'running') step(st, out, r, { type: 'supersede', now, reason: 'state replaced by a snapshot' }, now);
  }
  if (t && t.outcome === 'running') begin(st, out, t, now);
  const run = currentRun(st);
  if (run) sync(st, out, run, now);
}

/** The outcome of one of this node's `execute` effects. */
export function onActionResult(st: NodeState, out: Out, transition: number, actionId: number, result: ActionResult, now: number): void {
  const run = st.runs.find((r) => r.transition === transition);
  if (!run || run.exec.states[actionId] !== 'running') return; // timed out (cancelled) before, or from an earlier life
  const a = run.exec.plan.actions[actionId]!;
  setLocal(st, a.resource ?? '', roleAfter(st, a, result));
  record(run, actionId, result);
  if (result.status !== 'ok') out.trace('action-failed', `${a.key}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`);
  step(st, out, run, { type: 'result', actionId, result, now }, now);
}

/** A recurring monitor saw a resource change state. */
export function onMonitored(
  st: NodeState, out: Out, resource: ResourceId, intervalMs: number, result: ActionResult, running: boolean, promoted: boolean,
): void {
  const role = st.local.get(resource);
  if (role === undefined) return; // stopped since: the monitor's news is stale
  if (result.status === 'ok' && running) {
    if (role === 'failed') st.local.set(resource, promoted ? 'promoted' : inPromotable(st, resource) ? 'unpromoted' : 'started');
    return;
  }
  if (role === 'failed') return;
  st.local.set(resource, 'failed');
  const status = result.status === 'ok' ? 'error' : result.status;
  const reason = result.reason ?? (running ? 'monitor failed' : 'not running');
  st.events.push({ seq: ++st.eventSeq, resource, operation: 'monitor', intervalMs, status, exitCode: result.exitCode ?? (running ? 1 : 7), reason });
  out.trace('resource-failed', `${resource}: monitor ${status} (${reason})`);
}

/**
 * A probe found a resource running here that this node does not hold: hold it (in its role), so
 * that this node's report says so and the coordinator resolves the copy by the resource's
 * multiple-active policy (or adopts it, when it runs nowhere else). A resource held already, in
 * whatever state, is left as it is: its own actions and monitor speak for it.
 */
export function onFound(st: NodeState, out: Out, resource: ResourceId, role: 'started' | 'promoted'): void {
  if (st.isWitness || st.local.has(resource) || st.opts.unsafe.ignoreFoundCopies) return;
  st.local.set(resource, role === 'promoted' ? 'promoted' : inPromotable(st, resource) ? 'unpromoted' : 'started');
  out.trace('resource-found', `${resource}: running here although not held here (${role})`);
}

/**
 * Every step: dispatch what the lease now allows and time out what ran too long, and, when the
 * lease is about to end under no-quorum-policy stop, stop what runs here.
 */
export function maintainLocal(st: NodeState, out: Out, now: number): void {
  if (st.isWitness) return;
  for (const r of st.runs) if (live(r)) step(st, out, r, { type: 'tick', now }, now);
  const run = currentRun(st);
  if (run) sync(st, out, run, now);
  st.runs = st.runs.filter((r) => live(r) || r === run);
  stopWithoutLease(st, out, now);
}

/** no-quorum-policy stop: the lease is about to end, so stop everything here, in order. */
function stopWithoutLease(st: NodeState, out: Out, now: number): void {
  if (st.config.noQuorumPolicy !== 'stop' || st.stopping || st.local.size === 0) return;
  if (now < st.leaseUntil - policyMargin(st)) return;
  if (st.runs.some((r) => r.transition === LOCAL_RUN && live(r))) return;
  if (now < st.policyRetryAt) return;
  st.policyRetryAt = now + POLICY_RETRY_MS;
  supersedeAll(st, out, now, 'no quorum: the lease is about to end');
  const snapshot: ClusterSnapshot = {
    now, quorate: false,
    nodes: [{ name: st.self, state: 'online', standby: false, maintenance: false, attributes: {} }],
    observations: [...st.local].map(([resource, role]) => ({ resource, node: st.self, role })),
    failures: [], bans: [], overrides: [], fenced: [], fenceRequests: [],
  };
  const plan = schedule(snapshot, st.config, now);
  const own: Plan = keepLocalNames(st, restrictTo(plan, (a) => a.node === st.self && (a.type === 'stop' || a.type === 'demote')));
  if (own.actions.length === 0) return;
  out.trace('no-quorum-stop', `stopping ${own.actions.filter((a) => a.type === 'stop').map((a) => a.resource).join(',')}`);
  const run: SliceRun = { transition: LOCAL_RUN, exec: null as unknown as SliceRun['exec'], results: [], ended: true };
  const first = startRun(own, now);
  run.exec = first.state;
  st.runs = st.runs.filter((r) => r.transition !== LOCAL_RUN);
  st.runs.push(run);
  handle(st, out, run, first.effects, now);
}

/**
 * A clone copy found running at start has no instance number until the coordinator gives it one
 * (adoptNumber); the local plan numbers it on its own, and that number may be another node's
 * instance. The local stop acts on the copy by the name this node holds it under.
 */
function keepLocalNames(st: NodeState, plan: Plan): Plan {
  const actions = plan.actions.map((a) => {
    if (a.resource === null) return a;
    const base = primitiveOf(a.resource);
    if (base === a.resource || st.local.has(a.resource) || !st.local.has(base)) return a;
    return { ...a, resource: base, key: a.key.replace(a.resource, base) };
  });
  return { ...plan, actions };
}

/** The plan's actions that `keep` selects, renumbered, with the edges among them. */
function restrictTo(plan: Plan, keep: (a: PlanAction) => boolean): Plan {
  const ids = new Map<number, number>();
  const actions: PlanAction[] = [];
  for (const a of plan.actions) {
    if (!keep(a)) continue;
    ids.set(a.id, actions.length);
    actions.push({ ...a, id: actions.length });
  }
  const edges = plan.edges.filter((e) => ids.has(e.before) && ids.has(e.after)).map((e) => ({ before: ids.get(e.before)!, after: ids.get(e.after)! }));
  return { ...plan, actions, edges };
}

/** When this node's runs next need a tick (an action's timeout, a watchdog fence's notBefore, a policy retry). */
export function nextRunDeadline(st: NodeState): number | null {
  let t: number | null = null;
  for (const r of st.runs) {
    if (!live(r)) continue;
    const d = nextDeadline(r.exec);
    if (d !== null && (t === null || d < t)) t = d;
  }
  if (st.config.noQuorumPolicy === 'stop' && st.local.size > 0 && !st.runs.some((r) => r.transition === LOCAL_RUN && live(r))) {
    const retry = st.policyRetryAt;
    if (retry > -Infinity && (t === null || retry < t)) t = retry;
  }
  return t;
}

/** Whether any of this node's runs can still dispatch or has actions in flight. */
export function runsBusy(st: NodeState): boolean {
  return st.runs.some((r) => live(r));
}
