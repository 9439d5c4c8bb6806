// LXC containers as resources (kind "lxc", params {name, configPath?, healthCommand?}).
//
// Through LXC's own command-line tools, not liblxc: the tools are what LXC supports for scripts,
// every call is a separate process that can be bounded by a timeout and killed as a group, and a
// native addon would bind the agent to one liblxc ABI and could hang the event loop inside a liblxc
// call that no timeout reaches. The price is one process per call (lxc-info for a monitor; the cost
// is measured in docs/adapters.md).
//
// Semantics (ResourceAgent port):
// - state: `lxc-info -s -p` in the container's lxcpath (params.configPath, else LXC's default).
//   RUNNING → running (mainPid = the container's init); STOPPED → stopped; STARTING → starting;
//   STOPPING/ABORTING → stopping; FROZEN/FREEZING/THAWED → error, still running (its processes
//   exist but do not run: recovery stops it). Not defined (no config file, and no monitor answering:
//   LXC still reports a running container whose config file is gone) → notInstalled; a config LXC
//   cannot load → errorHard. Then LXC cannot tell the state, so the monitor's command socket decides
//   whether it may still run (monitorListening): a container whose configuration was broken while
//   it ran is never taken for stopped.
// - start: running → ok, untouched (re-adoption keeps the same init); STARTING → wait for RUNNING;
//   STOPPING → wait for STOPPED, then start; frozen → error. `lxc-start -d` returns once the
//   container is RUNNING (or it failed: the reason is the tail of the start's log, which LXC writes to
//   <logDir>/<resource>.log; a config LXC refuses → errorHard, anything else → error).
//   `lxc.cgroup.relative=0` is set on the command line, so the container and its monitor leave the
//   agent's cgroup for LXC's own at the root of each hierarchy (/lxc.payload.NAME,
//   /lxc.monitor.NAME); the start checks that they did (cgroupWithin). A container in the agent's
//   cgroup would die when the agent's service is stopped or restarted (KillMode=control-group):
//   errorHard, so it is stopped and not started here again.
// - stop: stopped (or not defined and no monitor) → ok; frozen → lxc-unfreeze first (a frozen init
//   cannot handle the halt signal); then a clean shutdown (`lxc-stop --nokill`: lxc.signal.halt to
//   init, sent again every second) for the operation timeout less a reserve for the kill, then
//   `lxc-stop -k` (SIGKILL), and STOPPED is read back before ok.
// - monitor: the state; when RUNNING and params.healthCommand is set, the command runs inside the
//   container (`lxc-attach --clear-env -- /bin/sh -c CMD`): exit 0 → ok, anything else → error
//   (still running: recovery stops it). A tool that overruns → timeout, conservatively running.
// - probe (agent start): the state only, never the health command and never a change: a running
//   container is re-adopted with its init PID; the first recurring monitor runs the health command.
// - One operation at a time per resource is the runtime's rule (local-actions.ts); this adapter
//   keeps no state between calls.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../../ports/resource-agent.js';
import { cgroupWithin, type Info, monitorListening, parentPid, parseInfo, runTool, tail, type ToolOutcome } from './lxc-tools.js';

/** LXC's compiled-in lxcpath (`lxc-config lxc.lxcpath` on Debian and NixOS). */
export const DEFAULT_LXC_PATH = '/var/lib/lxc';
/** PATH inside the container for the health command (lxc-attach --clear-env). */
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const POLL_MS = 100;
/** How often a clean shutdown sends the halt signal again (lxc-stop -t counts whole seconds). */
const HALT_REPEAT_MS = 1100;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface LxcAgentOptions {
  /** lxcpath of a resource without params.configPath (default: LXC's default, /var/lib/lxc) */
  defaultLxcPath?: string;
  /** where lxc-start writes each container's start log (<dir>/<resource>.log); default: none kept */
  logDir?: string;
  /** most of a stop's timeout goes to the clean shutdown; this much (at most half) is kept for the kill (default 2000 ms) */
  killReserveMs?: number;
}

interface Target {
  name: string;
  lxcPath: string;
  health: string | null;
}

type Resolved = { ok: true; t: Target } | { ok: false; result: ActionResult };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class LxcAgent implements ResourceAgent {
  readonly kinds = ['lxc'] as const;
  private readonly defaultLxcPath: string;
  private readonly logDir: string | null;
  private readonly killReserveMs: number;

  constructor(opts: LxcAgentOptions = {}) {
    this.defaultLxcPath = opts.defaultLxcPath ?? DEFAULT_LXC_PATH;
    this.logDir = opts.logDir ?? null;
    this.killReserveMs = opts.killReserveMs ?? 2000;
  }

  private target(res: ResourceRef): Resolved {
    const p = res.params;
    const bad = (field: string, why: string): Resolved => ({ ok: false, result: { status: 'errorFatal', reason: `resources.${res.id}.params.${field}: ${why}` } });
    if (!p.name) return bad('name', 'missing');
    if (!NAME.test(p.name)) return bad('name', `${JSON.stringify(p.name)} is not a valid container name`);
    if (p.configPath !== undefined && !p.configPath.startsWith('/')) return bad('configPath', `${JSON.stringify(p.configPath)} is not an absolute path`);
    return { ok: true, t: { name: p.name, lxcPath: p.configPath || this.defaultLxcPath, health: p.healthCommand || null } };
  }

  private tool(t: Target, cmd: string, args: readonly string[], deadline: number): Promise<ToolOutcome> {
    return runTool([cmd, '-P', t.lxcPath, '-n', t.name, ...args], deadline - Date.now());
  }

  private async info(t: Target, deadline: number): Promise<Info> {
    return parseInfo(await this.tool(t, 'lxc-info', ['-s', '-p'], deadline));
  }

  async start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const r = this.target(res);
    if (!r.ok) return r.result;
    const t = r.t;
    const deadline = Date.now() + op.timeoutMs;
    let info = await this.info(t, deadline);
    // Settle a transition in progress first: STARTING becomes RUNNING, STOPPING becomes STOPPED.
    while (info.kind === 'state' && (info.state === 'STARTING' || info.state === 'STOPPING' || info.state === 'ABORTING')) {
      if (Date.now() + POLL_MS >= deadline) return { status: 'timeout', reason: `container ${t.name} still ${info.state} at the start's deadline` };
      await sleep(POLL_MS);
      info = await this.info(t, deadline);
    }
    if (info.kind !== 'state') return this.unknown(t, info, 'start');
    if (info.state === 'RUNNING') {
      const misplaced = this.inAgentCgroup(t, info.pid);
      return misplaced ?? { status: 'ok', reason: 'already running' };
    }
    if (info.state !== 'STOPPED') return { status: 'error', reason: `container ${t.name} is ${info.state}: thaw it (lxc-unfreeze) or stop it first` };

    const log = this.startLog(res.id);
    const o = await this.tool(t, 'lxc-start', ['-d', '-s', 'lxc.cgroup.relative=0', ...(log ? ['-o', log, '-l', 'ERROR'] : [])], deadline);
    if (o.spawnError) return { status: 'notInstalled', reason: `LXC tools not found (${o.spawnError})` };
    if (o.timedOut) return { status: 'timeout', reason: `lxc-start ${t.name} did not finish before the start's timeout` };
    if (o.code !== 0) {
      const why = (log ? causes(log) : '') || tail(o, 2);
      const status = /Failed to load config|Failed to parse config|Unsupported config key/.test(o.stderr) ? 'errorHard' : 'error';
      return { status, exitCode: o.code ?? undefined, reason: `lxc-start ${t.name} failed: ${why}` };
    }
    const after = await this.info(t, deadline);
    if (after.kind !== 'state') return this.unknown(t, after, 'start');
    if (after.state !== 'RUNNING') {
      const why = log ? causes(log) : '';
      return { status: 'error', reason: `container ${t.name} is ${after.state} right after lxc-start${why ? `: ${why}` : ' (its init exited)'}` };
    }
    return this.inAgentCgroup(t, after.pid) ?? { status: 'ok' };
  }

  async stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const r = this.target(res);
    if (!r.ok) return r.result;
    const t = r.t;
    const deadline = Date.now() + op.timeoutMs;
    const info = await this.info(t, deadline);
    if (info.kind === 'notDefined' || info.kind === 'badConfig') {
      // LXC cannot act on it without its configuration: ok only when no monitor of it is alive.
      if (monitorListening(t.lxcPath, t.name) === false) return { status: 'ok', reason: info.kind === 'notDefined' ? 'not installed' : `not running (${info.reason})` };
      return { status: 'errorHard', reason: `cannot stop container ${t.name}: ${info.reason}, and its monitor may still run` };
    }
    if (info.kind !== 'state') return this.unknown(t, info, 'stop');
    if (info.state === 'STOPPED') return { status: 'ok', reason: 'already stopped' };
    if (info.state === 'FROZEN' || info.state === 'FREEZING') {
      const u = await this.tool(t, 'lxc-unfreeze', [], deadline);
      if (u.timedOut) return { status: 'timeout', reason: `lxc-unfreeze ${t.name} did not finish before the stop's timeout` };
    }

    // Clean shutdown for all but the kill's reserve of the time. The halt signal is sent again every
    // second (`lxc-stop --nokill -t 1`): an init that has not installed its handler yet (a stop
    // right after the start) ignores it, and a single signal would leave only the kill.
    const graceMs = deadline - Date.now() - Math.min(this.killReserveMs, op.timeoutMs / 2);
    const graceEnd = Date.now() + graceMs;
    while (Date.now() < graceEnd) {
      await this.tool(t, 'lxc-stop', ['--nokill', '-t', '1'], Math.min(graceEnd, Date.now() + HALT_REPEAT_MS));
      const done = await this.info(t, deadline);
      if (done.kind === 'state' && done.state === 'STOPPED') return { status: 'ok' };
      if (done.kind !== 'state') break;
    }
    const kill = await this.tool(t, 'lxc-stop', ['-k'], deadline);
    const done = await this.info(t, deadline);
    if (done.kind === 'state' && done.state === 'STOPPED') {
      return { status: 'ok', reason: `killed: no clean shutdown within ${Math.max(0, Math.round(graceMs))} ms` };
    }
    if (kill.timedOut || done.kind === 'timeout') return { status: 'timeout', reason: `container ${t.name} not stopped before the stop's timeout` };
    return { status: 'error', reason: `container ${t.name} still ${done.kind === 'state' ? done.state : done.reason} after lxc-stop -k (${tail(kill) || `exit ${kill.code}`})` };
  }

  monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.look(res, op, true);
  }

  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.look(res, op, false);
  }

  private async look(res: ResourceRef, op: OperationOptions, withHealth: boolean): Promise<MonitorResult> {
    const r = this.target(res);
    if (!r.ok) return { ...r.result, state: 'stopped', running: false };
    const t = r.t;
    const deadline = Date.now() + op.timeoutMs;
    const info = await this.info(t, deadline);
    if (info.kind !== 'state') return this.unknownState(t, info);
    const mainPid = info.pid !== null ? { mainPid: info.pid } : {};
    switch (info.state) {
      case 'STOPPED':
        return { status: 'ok', state: 'stopped', running: false };
      case 'STARTING':
        return { status: 'ok', state: 'starting', running: true, reason: 'STARTING', ...mainPid };
      case 'STOPPING':
      case 'ABORTING':
        return { status: 'ok', state: 'stopping', running: true, reason: info.state, ...mainPid };
      case 'RUNNING':
        break;
      default:
        return { status: 'error', state: 'running', running: true, reason: `container ${t.name} is ${info.state}: its processes exist but do not run`, ...mainPid };
    }
    if (!withHealth || !t.health) return { status: 'ok', state: 'running', running: true, role: 'started', ...mainPid };
    const h = await this.tool(t, 'lxc-attach', ['--clear-env', '-v', `PATH=${CONTAINER_PATH}`, '--', '/bin/sh', '-c', t.health], deadline);
    if (h.timedOut) return { status: 'timeout', state: 'running', running: true, reason: `health command did not finish in ${op.timeoutMs} ms`, ...mainPid };
    if (h.code === 0) return { status: 'ok', state: 'running', running: true, role: 'started', ...mainPid };
    const out = tail(h);
    return { status: 'error', state: 'running', running: true, exitCode: h.code ?? undefined, reason: `health command failed (exit ${h.code})${out ? `: ${out}` : ''}`, ...mainPid };
  }

  async close(): Promise<void> {}

  /** start and stop when LXC could not report a state. */
  private unknown(t: Target, info: Exclude<Info, { kind: 'state' }>, action: 'start' | 'stop'): ActionResult {
    switch (info.kind) {
      case 'notDefined':
        return { status: 'notInstalled', reason: `container ${t.name} is not defined in ${t.lxcPath}` };
      case 'badConfig':
        return { status: 'errorHard', reason: `container ${t.name}: ${info.reason}` };
      case 'noTools':
        return { status: 'notInstalled', reason: info.reason };
      case 'timeout':
        return { status: 'timeout', reason: `${action} ${t.name}: ${info.reason}` };
      case 'failed':
        return { status: 'error', reason: info.reason };
    }
  }

  /** monitor and probe when LXC could not report a state: running unless it is known not to be. */
  private unknownState(t: Target, info: Exclude<Info, { kind: 'state' }>): MonitorResult {
    const gone = { state: 'stopped', running: false } as const;
    const maybe = { state: 'running', running: true } as const;
    switch (info.kind) {
      case 'noTools':
        return { status: 'notInstalled', reason: info.reason, ...gone };
      case 'notDefined':
      case 'badConfig': {
        const listening = monitorListening(t.lxcPath, t.name);
        const what = info.kind === 'notDefined' ? `not defined in ${t.lxcPath}` : info.reason;
        if (listening === false) return { status: info.kind === 'notDefined' ? 'notInstalled' : 'errorHard', reason: `container ${t.name}: ${what}`, ...gone };
        return { status: 'errorHard', reason: `container ${t.name}: ${what}, but its monitor ${listening ? 'still runs' : 'may still run'}`, ...maybe };
      }
      case 'timeout':
        return { status: 'timeout', reason: info.reason, ...maybe };
      case 'failed':
        return { status: 'error', reason: info.reason, ...maybe };
    }
  }

  /** errorHard when the container's init or its LXC monitor lives inside this agent's cgroup. */
  private inAgentCgroup(t: Target, pid: number | null): ActionResult | null {
    if (pid === null) return null;
    const monitor = parentPid(pid);
    for (const [what, p] of [['init', pid], ['monitor', monitor]] as const) {
      if (p === null || p <= 1) continue;
      const where = cgroupWithin(p, process.pid);
      if (where) {
        return {
          status: 'errorHard',
          reason: `container ${t.name}: its ${what} (PID ${p}) runs in the agent's cgroup (${where}): stopping or restarting the agent would kill it`,
        };
      }
    }
    return null;
  }

  /** The start log of a resource, emptied for this start (LXC appends). */
  private startLog(id: string): string | null {
    if (!this.logDir) return null;
    try {
      mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
      const file = join(this.logDir, `${id}.log`);
      rmSync(file, { force: true });
      return file;
    } catch {
      return null;
    }
  }
}

/**
 * The first ERROR lines of a start log, without timestamps: the cause comes first, and lxc-start's
 * own closing lines ("The container failed to start", "run the container in foreground mode") and
 * the daemonized start's state report say nothing about it.
 */
function causes(file: string, lines = 2): string {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes(' ERROR ') && !/ lxc_start - | wait_on_daemonized_start:/.test(l))
      .slice(0, lines)
      .map((l) => l.replace(/^.*? ERROR\s+/, ''))
      .join(' | ');
  } catch {
    return '';
  }
}
