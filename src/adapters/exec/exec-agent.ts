// Exec resources (kind "exec"): shell commands in params {start, stop, monitor} and, for a resource in
// a promotable clone, {promote, demote}, with OCF exit codes. Used by the non-root demo and for
// simple scripts; Pacemaker users will recognise the codes.
//
//   0 OCF_SUCCESS            start/stop ok; monitor: running
//   1 OCF_ERR_GENERIC        error (monitor: failed)
//   2 OCF_ERR_ARGS, 3 OCF_ERR_UNIMPLEMENTED, 4 OCF_ERR_PERM   errorHard (not on this node)
//   5 OCF_ERR_INSTALLED      notInstalled
//   6 OCF_ERR_CONFIGURED     errorFatal (nowhere)
//   7 OCF_NOT_RUNNING        monitor: stopped; stop: ok; start: error
//   8 OCF_RUNNING_PROMOTED   monitor: running, role promoted
//   9 OCF_FAILED_PROMOTED    monitor: failed
//   other codes, signals     error
//
// Each command runs as `/bin/sh -c CMD` in its own process group, with OCF_RESOURCE_INSTANCE and
// OCF_RESKEY_<param> for every other parameter in its environment. On timeout the whole group gets
// SIGTERM, then SIGKILL after a grace period, and the result is `timeout`. The result is taken at
// the shell's exit: a daemon the start command left in the background may keep stdout open, so the
// adapter does not wait for the pipes to close.
// start and stop first run the monitor (when there is one): a running resource is not started
// again and a stopped one not stopped again, as the port requires even of naive scripts.

import { runInGroup } from '../process-group.js';
import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../../ports/resource-agent.js';

export const OCF = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
  RUNNING_PROMOTED: 8,
  FAILED_PROMOTED: 9,
} as const;

export interface CommandOutcome {
  /** exit code, or null when killed by a signal or timed out */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** last lines of stderr (or stdout when stderr is empty), for the reason */
  output: string;
  /** the agent's own one-line reason: the last stderr line "ocf-exit-reason:TEXT" (OCF_EXIT_REASON_PREFIX) */
  exitReason?: string;
}

/** The prefix OCF agents put before their one-line failure reason on stderr (ocf_exit_reason). */
export const OCF_EXIT_REASON_PREFIX = 'ocf-exit-reason:';

export interface ExecAgentOptions {
  /** after SIGTERM on timeout, SIGKILL follows after this long (default 2000 ms) */
  killGraceMs?: number;
  /** extra environment for every command */
  env?: NodeJS.ProcessEnv;
}

/** Run one shell command in its own process group, with a timeout that kills the group. */
export function runCommand(cmd: string, env: NodeJS.ProcessEnv, timeoutMs: number, killGraceMs = 2000): Promise<CommandOutcome> {
  return runProgram('/bin/sh', ['-c', cmd], env, timeoutMs, killGraceMs);
}

/** Run one program in its own process group, with a timeout that kills the group (see runCommand). */
export async function runProgram(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, killGraceMs = 2000): Promise<CommandOutcome> {
  // resolves at the program's exit: a daemon it started in the background keeps running, unread
  const o = await runInGroup(file, args, { env, timeoutMs, killGraceMs, keepStdout: 2000, keepStderr: 2000, drainMs: 0 });
  const text = (o.stderr.trim() || o.stdout.trim()).split('\n').slice(-3).join(' | ');
  const reasons = o.stderr.split('\n').filter((l) => l.startsWith(OCF_EXIT_REASON_PREFIX));
  const exitReason = reasons.at(-1)?.slice(OCF_EXIT_REASON_PREFIX.length).trim();
  // a program that could not be started exits 127, as from a shell
  return { code: o.spawnError ? 127 : o.code, signal: o.signal, timedOut: o.timedOut, output: exitReason || text || (o.spawnError ?? ''), ...(exitReason ? { exitReason } : {}) };
}

function describe(o: CommandOutcome): string {
  const how = o.timedOut ? 'timed out' : o.signal ? `killed by ${o.signal}` : `exit ${o.code}`;
  return o.output ? `${how}: ${o.output}` : how;
}

/** start/stop: map an OCF exit code to an ActionResult. */
export function actionResult(o: CommandOutcome, action: 'start' | 'stop'): ActionResult {
  if (o.timedOut) return { status: 'timeout', reason: describe(o) };
  const base = { reason: describe(o), ...(o.code !== null ? { exitCode: o.code } : {}) };
  switch (o.code) {
    case OCF.SUCCESS:
      return { status: 'ok', ...(o.code !== null ? { exitCode: o.code } : {}) };
    case OCF.NOT_RUNNING:
      return action === 'stop' ? { status: 'ok', exitCode: o.code, reason: 'not running' } : { status: 'error', ...base };
    case OCF.ERR_ARGS:
    case OCF.ERR_UNIMPLEMENTED:
    case OCF.ERR_PERM:
      return { status: 'errorHard', ...base };
    case OCF.ERR_INSTALLED:
      return { status: 'notInstalled', ...base };
    case OCF.ERR_CONFIGURED:
      return { status: 'errorFatal', ...base };
    default:
      return { status: 'error', ...base };
  }
}

/** monitor: map an OCF exit code to a MonitorResult. */
export function monitorResult(o: CommandOutcome): MonitorResult {
  if (o.timedOut) return { status: 'timeout', reason: describe(o), state: 'running', running: true };
  const code = o.code;
  const exit = code !== null ? { exitCode: code } : {};
  switch (code) {
    case OCF.SUCCESS:
      return { status: 'ok', state: 'running', running: true, role: 'started', ...exit };
    case OCF.RUNNING_PROMOTED:
      return { status: 'ok', state: 'running', running: true, role: 'promoted', ...exit };
    case OCF.NOT_RUNNING:
      return { status: 'ok', state: 'stopped', running: false, ...exit };
    case OCF.ERR_INSTALLED:
      return { status: 'notInstalled', state: 'stopped', running: false, reason: describe(o), ...exit };
    case OCF.ERR_CONFIGURED:
      return { status: 'errorFatal', state: 'stopped', running: false, reason: describe(o), ...exit };
    case OCF.ERR_ARGS:
    case OCF.ERR_UNIMPLEMENTED:
    case OCF.ERR_PERM:
      return { status: 'errorHard', state: 'failed', running: false, reason: describe(o), ...exit };
    default:
      // OCF_ERR_GENERIC, OCF_FAILED_PROMOTED, anything else: failed (it may have left processes,
      // but the script says it is not healthy: recovery stops it first).
      return { status: 'error', state: 'failed', running: false, reason: describe(o), ...exit };
  }
}

const COMMANDS = new Set(['start', 'stop', 'monitor', 'promote', 'demote']);

export class ExecAgent implements ResourceAgent {
  readonly kinds = ['exec'] as const;
  private readonly killGraceMs: number;
  private readonly extraEnv: NodeJS.ProcessEnv;

  constructor(opts: ExecAgentOptions = {}) {
    this.killGraceMs = opts.killGraceMs ?? 2000;
    this.extraEnv = opts.env ?? {};
  }

  private env(res: ResourceRef, action: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, ...this.extraEnv, OCF_RESOURCE_INSTANCE: res.id, OCF_RESKEY_CRM_meta_operation: action, TSHA_RESOURCE: res.id };
    for (const [k, v] of Object.entries(res.params)) {
      if (!COMMANDS.has(k) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env[`OCF_RESKEY_${k}`] = v;
    }
    return env;
  }

  private missing(res: ResourceRef, param: string): ActionResult {
    return { status: 'errorFatal', reason: `resources.${res.id}.params.${param}: missing` };
  }

  async start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    if (!res.params.start) return this.missing(res, 'start');
    const deadline = Date.now() + op.timeoutMs;
    if (res.params.monitor) {
      const m = await this.monitor(res, op);
      if (m.status === 'ok' && m.state === 'running') return { status: 'ok', reason: 'already running' };
      if (m.status === 'notInstalled' || m.status === 'errorFatal' || m.status === 'errorHard' || m.status === 'timeout') return strip(m);
    }
    const o = await runCommand(res.params.start, this.env(res, 'start'), Math.max(1, deadline - Date.now()), this.killGraceMs);
    return actionResult(o, 'start');
  }

  async stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    if (!res.params.stop) return this.missing(res, 'stop');
    const deadline = Date.now() + op.timeoutMs;
    if (res.params.monitor) {
      const m = await this.monitor(res, op);
      if (m.status === 'ok' && m.state === 'stopped') return { status: 'ok', reason: 'already stopped' };
      if (m.status === 'notInstalled') return { status: 'ok', reason: 'not installed' };
    }
    const o = await runCommand(res.params.stop, this.env(res, 'stop'), Math.max(1, deadline - Date.now()), this.killGraceMs);
    return actionResult(o, 'stop');
  }

  async monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    if (!res.params.monitor) return { ...this.missing(res, 'monitor'), state: 'running', running: true };
    const o = await runCommand(res.params.monitor, this.env(res, 'monitor'), op.timeoutMs, this.killGraceMs);
    return monitorResult(o);
  }

  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.monitor(res, op);
  }

  /** an exec resource has roles when it has promote and demote commands (else a DRBD one takes its role from DRBD) */
  hasRoles(res: ResourceRef): boolean {
    return Boolean(res.params.promote || res.params.demote);
  }

  promote(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    return this.roleChange(res, op, 'promote');
  }

  demote(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    return this.roleChange(res, op, 'demote');
  }

  private async roleChange(res: ResourceRef, op: OperationOptions, action: 'promote' | 'demote'): Promise<ActionResult> {
    const cmd = res.params[action];
    if (!cmd) return this.missing(res, action);
    const o = await runCommand(cmd, this.env(res, action), op.timeoutMs, this.killGraceMs);
    return actionResult(o, 'start');
  }

  async close(): Promise<void> {}
}

function strip(m: MonitorResult): ActionResult {
  const r: ActionResult = { status: m.status };
  if (m.exitCode !== undefined) r.exitCode = m.exitCode;
  if (m.reason !== undefined) r.reason = m.reason;
  return r;
}
