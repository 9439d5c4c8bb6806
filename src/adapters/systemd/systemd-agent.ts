// systemd units as resources (kind "systemd", params {unit}), through org.freedesktop.systemd1 on
// D-Bus: the system bus in production, any bus address in tests (a real `systemd --user`).
//
// Semantics (ResourceAgent port):
// - start: unit file missing (LoadState not-found) → notInstalled; bad-setting/error/masked →
//   errorHard (this node's unit file cannot run, another node's may); already active → ok without
//   touching it (re-adoption: a healthy unit keeps its MainPID); failed → ResetFailedUnit first (or
//   the start limit and the old failure would stick); then StartUnit "replace" and wait for its job.
// - stop: not running → ok; failed → ResetFailedUnit and ok (it is stopped; the failure was already
//   reported by monitor); otherwise StopUnit "replace" and wait for its job.
// - job results: done → ok (start also re-reads the unit: a unit that failed right away is error);
//   failed → error with the unit's Result= as reason, or timeout when Result=timeout (systemd's own
//   TimeoutStartSec/TimeoutStopSec); timeout (JobTimeoutSec) → timeout; canceled, dependency and
//   others → error.
// - start/stop of one unit are serialised in call order; monitors are not.
// - operation timeout: the adapter stops waiting and reports timeout; the systemd job itself goes
//   on (a later stop "replace"s it). No waiter or signal handler is left behind.
// - bus dropped mid-job: the outcome is settled by reading the unit's state on a new connection
//   until it is final or the deadline passes.
// - monitor/probe: active/reloading → running (with MainPID); activating → starting; deactivating
//   → stopping; inactive → stopped; failed → status error, state failed; not-found → notInstalled.

import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../../ports/resource-agent.js';
import { BusCallTimeoutError, BusDroppedError, SharedBus, dbusErrorName } from './bus-connection.js';
import { SystemdManager, remaining, type JobOutcome, type UnitState } from './systemd-manager.js';

export const SYSTEM_BUS_ADDRESS = 'unix:path=/run/dbus/system_bus_socket';

const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+\.(service|socket|target|mount|automount|swap|timer|path|slice|scope)$/;
const RETRY_MS = 100;

/** D-Bus errors that say the call never reached systemd (so repeating it is safe). */
const NOT_DELIVERED = new Set([
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
]);

function notDelivered(e: unknown): boolean {
  const name = dbusErrorName(e);
  return name !== null && NOT_DELIVERED.has(name);
}

/** Errors of the observer, not of the resource: retried by reads until the deadline. */
function isTransient(e: unknown): boolean {
  if (e instanceof BusDroppedError) return true;
  const name = dbusErrorName(e);
  return name !== null && (NOT_DELIVERED.has(name) || name === 'org.freedesktop.DBus.Error.NoReply' || name === 'org.freedesktop.DBus.Error.Disconnected');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface SystemdAgentOptions {
  /** D-Bus address; default $DBUS_SYSTEM_BUS_ADDRESS or the system bus socket */
  busAddress?: string;
}

/** Managers shared per bus address: one connection per bus, however many agents use it. */
const shared = new Map<string, { manager: SystemdManager; refs: number }>();

function acquire(address: string): SystemdManager {
  let entry = shared.get(address);
  if (!entry) {
    entry = { manager: new SystemdManager(new SharedBus(address)), refs: 0 };
    shared.set(address, entry);
  }
  entry.refs++;
  return entry.manager;
}

function release(address: string): void {
  const entry = shared.get(address);
  if (!entry) return;
  if (--entry.refs === 0) {
    shared.delete(address);
    entry.manager.close();
  }
}

type Resolved = { ok: true; unit: string } | { ok: false; result: ActionResult };

export function unitName(res: ResourceRef): Resolved {
  const raw = res.params.unit ?? '';
  if (!raw) return { ok: false, result: { status: 'errorFatal', reason: `resources.${res.id}.params.unit: missing` } };
  const unit = raw.includes('.') && UNIT_NAME.test(raw) ? raw : `${raw}.service`;
  if (!UNIT_NAME.test(unit)) {
    return { ok: false, result: { status: 'errorFatal', reason: `resources.${res.id}.params.unit: invalid unit name ${JSON.stringify(raw)}` } };
  }
  return { ok: true, unit };
}

export class SystemdAgent implements ResourceAgent {
  readonly kinds = ['systemd'] as const;
  readonly busAddress: string;
  private readonly manager: SystemdManager;
  private closed = false;
  private readonly unitQueues = new Map<string, Promise<unknown>>();

  constructor(opts: SystemdAgentOptions = {}) {
    this.busAddress = opts.busAddress ?? process.env.DBUS_SYSTEM_BUS_ADDRESS ?? SYSTEM_BUS_ADDRESS;
    this.manager = acquire(this.busAddress);
  }

  /** For tests and diagnostics: job waiters and remembered jobs (both 0 when idle). */
  get diagnostics(): { pendingWaiters: number; rememberedJobs: number; connections: number; jobsFinishedBeforeReply: number } {
    const m = this.manager;
    return { pendingWaiters: m.pendingWaiters, rememberedJobs: m.rememberedJobs, connections: m.bus.connections, jobsFinishedBeforeReply: m.jobsFinishedBeforeReply };
  }

  /** The raw unit state (for the runtime's status output and for tests). */
  async unitState(unit: string, timeoutMs: number): Promise<UnitState> {
    return this.withRetry(Date.now() + timeoutMs, (d) => this.manager.unitState(unit, d));
  }

  /** Whether the unit's conditions held at its last start (false: systemd skipped the start). */
  async conditionHeld(unit: string, timeoutMs: number): Promise<boolean> {
    return this.withRetry(Date.now() + timeoutMs, (d) => this.manager.conditionResult(unit, d));
  }

  /** Send a signal to every process of the unit (KillUnit, whom "all"); systemd's job, if any, goes on. */
  async kill(unit: string, signal: number, timeoutMs: number): Promise<void> {
    await this.withRetry(Date.now() + timeoutMs, (d) => this.manager.killUnit(unit, signal, d), notDelivered);
  }

  /** daemon-reload, after unit files changed. */
  async reload(timeoutMs: number): Promise<void> {
    await this.withRetry(Date.now() + timeoutMs, (d) => this.manager.reload(d));
  }

  start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    return this.unitAction(res, op, async (unit, deadline) => {
      const st = await this.readState(unit, deadline);
      const problem = loadProblem(unit, st);
      if (problem) return problem;
      if (st.activeState === 'active' || st.activeState === 'reloading') return { status: 'ok', reason: 'already active' };
      if (st.activeState === 'failed') await this.manager.resetFailedUnit(unit, deadline);
      const outcome = await this.withRetry(deadline, (d) => this.manager.runJob('StartUnit', unit, d), notDelivered);
      return this.finishJob(unit, 'start', outcome, deadline);
    });
  }

  stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    return this.unitAction(res, op, async (unit, deadline) => {
      const st = await this.readState(unit, deadline);
      if (st.activeState === 'inactive') return { status: 'ok', reason: st.loadState === 'not-found' ? 'not installed' : 'already stopped' };
      if (st.activeState === 'failed') {
        await this.manager.resetFailedUnit(unit, deadline);
        return { status: 'ok', reason: `already stopped (was failed: ${st.result ?? 'unknown'})` };
      }
      const outcome = await this.withRetry(deadline, (d) => this.manager.runJob('StopUnit', unit, d), notDelivered);
      return this.finishJob(unit, 'stop', outcome, deadline);
    });
  }

  /** start and stop: the unit named by the resource, one operation at a time, within its timeout. */
  private async unitAction(res: ResourceRef, op: OperationOptions, body: (unit: string, deadline: number) => Promise<ActionResult>): Promise<ActionResult> {
    const name = unitName(res);
    if (!name.ok) return name.result;
    const { unit } = name;
    const deadline = Date.now() + op.timeoutMs;
    return this.serialize(unit, () => this.guard(deadline, () => body(unit, deadline)));
  }

  /**
   * The recurring health check: one call for a unit that is active (ListUnitsByPatterns), the whole
   * state (LoadUnit and seven properties) for anything else, whose reason the report needs.
   */
  async monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.look(res, op, true);
  }

  /** Probe at agent start: read-only, so a healthy unit is re-adopted with its MainPID unchanged (the evidence). */
  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.look(res, op, false);
  }

  private async look(res: ResourceRef, op: OperationOptions, quick: boolean): Promise<MonitorResult> {
    const name = unitName(res);
    if (!name.ok) return { ...name.result, state: 'stopped', running: false };
    const unit = name.unit;
    const deadline = Date.now() + op.timeoutMs;
    try {
      if (quick) {
        const listed = await this.withRetry(deadline, (d) => this.manager.listedState(unit, d));
        if (listed && listed.loadState === 'loaded' && (listed.activeState === 'active' || listed.activeState === 'reloading')) {
          return { status: 'ok', state: 'running', running: true, role: 'started' };
        }
      }
      return toMonitorResult(unit, await this.readState(unit, deadline));
    } catch (e) {
      // We could not look (bus down past the deadline: timeout): say so, and stay conservative.
      return { ...failure(e), state: 'running', running: true };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    release(this.busAddress);
  }

  /**
   * start and stop of one unit run one at a time, in call order (like Pacemaker's executor): with
   * mode "replace", a stop issued while a start job is pending would cancel it and the start would
   * report an error for what was only an ordering accident. Time spent queued counts against the
   * operation's own timeout. Monitors are read-only and never wait here.
   */
  private serialize(unit: string, fn: () => Promise<ActionResult>): Promise<ActionResult> {
    const prev = this.unitQueues.get(unit) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.unitQueues.set(unit, tail);
    void tail.then(() => {
      if (this.unitQueues.get(unit) === tail) this.unitQueues.delete(unit);
    });
    return run;
  }

  private readState(unit: string, deadline: number): Promise<UnitState> {
    if (this.closed) throw new Error(`SystemdAgent(${this.busAddress}) used after close()`);
    return this.withRetry(deadline, (d) => this.manager.unitState(unit, d));
  }

  /**
   * Retry a call that did not reach systemd, or whose connection died, until the deadline: the
   * bus daemon restarting or systemd reconnecting to it is a hiccup of the observer, not a fault of
   * the resource. At the deadline the last error is reported as a BusCallTimeoutError (→ timeout).
   * Only safe for idempotent calls (reads; StartUnit/StopUnit only when certainly not delivered).
   */
  private async withRetry<T>(deadline: number, fn: (deadline: number) => Promise<T>, transient: (e: unknown) => boolean = isTransient): Promise<T> {
    for (;;) {
      try {
        return await fn(deadline);
      } catch (e) {
        if (!transient(e)) throw e;
        if (remaining(deadline) <= RETRY_MS) {
          throw new BusCallTimeoutError('retry', 0, `systemd unreachable until the deadline: ${e instanceof Error ? e.message : String(e)}`);
        }
        await sleep(RETRY_MS);
      }
    }
  }

  private async guard(deadline: number, fn: () => Promise<ActionResult>): Promise<ActionResult> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof BusCallTimeoutError) return { status: 'timeout', reason: `${e.message} (deadline ${remaining(deadline)} ms left)` };
      return failure(e);
    }
  }

  private async finishJob(unit: string, action: 'start' | 'stop', outcome: JobOutcome, deadline: number): Promise<ActionResult> {
    if (outcome.kind === 'timeout') return { status: 'timeout', reason: `${action} job ${outcome.job ?? '(no reply)'} not finished before the operation timeout` };
    if (outcome.kind === 'dropped') return this.settle(unit, action, deadline);
    const { result } = outcome;
    if (result === 'done') {
      if (action === 'stop') {
        // Stopping a unit mid-start kills its ExecStartPre/ExecStart and systemd marks it failed.
        // That failure is the stop we asked for, not a fault of the resource: clear it.
        const st = await this.readState(unit, deadline);
        if (st.activeState === 'failed') {
          await this.manager.resetFailedUnit(unit, deadline);
          return { status: 'ok', reason: `stopped (was ${st.result ?? 'failed'} while stopping)` };
        }
        return { status: 'ok' };
      }
      const st = await this.readState(unit, deadline);
      if (st.activeState === 'failed' || (st.activeState === 'inactive' && st.result !== 'success' && st.result !== null)) {
        return { status: 'error', reason: `${unit} ${st.activeState} right after start (Result=${st.result})` };
      }
      return { status: 'ok' };
    }
    if (result === 'timeout') return { status: 'timeout', reason: `${action} job timed out in systemd (JobTimeoutSec)` };
    let detail = '';
    try {
      const st = await this.readState(unit, deadline);
      if (st.result === 'timeout') return { status: 'timeout', reason: `${unit} ${action} timed out in systemd (Result=timeout)` };
      detail = ` (ActiveState=${st.activeState}, Result=${st.result})`;
    } catch {
      /* the job result is the main information */
    }
    if (result === 'invalid' || result === 'unsupported') return { status: 'errorHard', reason: `${action} job ${result}${detail}` };
    return { status: 'error', reason: `${action} job ${result}${detail}` };
  }

  /** The bus dropped while a job ran: read the unit until its state answers the question. */
  private async settle(unit: string, action: 'start' | 'stop', deadline: number): Promise<ActionResult> {
    for (;;) {
      const st = await this.readState(unit, deadline);
      const a = st.activeState;
      if (action === 'start' && (a === 'active' || a === 'reloading')) return { status: 'ok', reason: 'settled after bus drop' };
      if (action === 'stop' && a === 'inactive') return { status: 'ok', reason: 'settled after bus drop' };
      if (a === 'failed') return action === 'stop' ? { status: 'ok', reason: 'settled after bus drop (failed)' } : { status: 'error', reason: `settled after bus drop: failed (Result=${st.result})` };
      if (action === 'start' && a === 'inactive') return { status: 'error', reason: 'bus dropped and the unit is inactive: the start did not happen' };
      if (action === 'stop' && (a === 'active' || a === 'reloading')) return { status: 'error', reason: 'bus dropped and the unit is still active: the stop did not happen' };
      if (remaining(deadline) <= RETRY_MS) return { status: 'timeout', reason: `${action}: bus dropped and the unit did not settle (${a}) before the deadline` };
      await sleep(RETRY_MS);
    }
  }
}

function loadProblem(unit: string, st: UnitState): ActionResult | null {
  switch (st.loadState) {
    case 'loaded':
      return null;
    case 'not-found':
      return { status: 'notInstalled', reason: `unit ${unit} not found` };
    case 'masked':
      return { status: 'errorHard', reason: `unit ${unit} is masked` };
    case 'bad-setting':
    case 'error':
      return { status: 'errorHard', reason: `unit ${unit} cannot be loaded (${st.loadState}${st.loadError ? `: ${st.loadError}` : ''})` };
    default:
      return null;
  }
}

export function toMonitorResult(unit: string, st: UnitState): MonitorResult {
  const mainPid = st.mainPid > 0 ? { mainPid: st.mainPid } : {};
  if (st.loadState === 'not-found' && (st.activeState === 'inactive' || st.activeState === 'failed')) {
    return { status: 'notInstalled', reason: `unit ${unit} not found`, state: 'stopped', running: false };
  }
  switch (st.activeState) {
    case 'active':
    case 'reloading':
      return { status: 'ok', state: 'running', running: true, role: 'started', ...mainPid };
    case 'activating':
      return { status: 'ok', state: 'starting', running: true, reason: `activating (${st.subState})`, ...mainPid };
    case 'deactivating':
      return { status: 'ok', state: 'stopping', running: true, reason: `deactivating (${st.subState})`, ...mainPid };
    case 'inactive':
      return { status: 'ok', state: 'stopped', running: false };
    case 'failed':
      return { status: 'error', state: 'failed', running: false, reason: `${unit} failed (Result=${st.result ?? 'unknown'})` };
    default:
      // maintenance or a state this version does not know: treat as possibly running
      return { status: 'error', state: 'running', running: true, reason: `${unit} in unexpected state ${st.activeState}/${st.subState}`, ...mainPid };
  }
}

function failure(e: unknown): ActionResult {
  if (e instanceof BusCallTimeoutError) return { status: 'timeout', reason: e.message };
  const name = dbusErrorName(e);
  if (name === 'org.freedesktop.DBus.Error.InvalidArgs') return { status: 'errorFatal', reason: `${name}: ${(e as Error).message}` };
  if (name === 'org.freedesktop.systemd1.NoSuchUnit') return { status: 'notInstalled', reason: name };
  if (name === 'org.freedesktop.systemd1.UnitMasked') return { status: 'errorHard', reason: name };
  if (name === 'org.freedesktop.DBus.Error.AccessDenied' || name === 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired') {
    return { status: 'errorHard', reason: `${name}: ${(e as Error).message}` };
  }
  return { status: 'error', reason: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
}
