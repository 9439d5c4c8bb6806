// microvm.nix VMs as resources (kind "microvm", params {name, readyTcp?, readyCommand?}).
//
// microvm.nix runs each VM as the systemd unit `microvm@<name>.service` (ExecStart microvm-run, the
// hypervisor in the foreground; ExecStop microvm-shutdown, the guest's graceful power-off;
// ConditionPathExists on the VM's microvm-run, so a node without the VM skips the start). So the
// unit's life is driven through the systemd driver (SystemdAgent, on the same shared D-Bus
// connection per bus address), and this driver adds what a VM needs on top of it:
//
// - start: the unit's start job (SystemdAgent.start), then wait until the guest is ready: the
//   unit active and, when configured, every readiness check passing (readyTcp: a TCP connect to the
//   guest is accepted; readyCommand: a shell command on the host exits 0), looked at every 500 ms
//   until the start operation's timeout. A guest not ready by then is `timeout` (the operation did
//   not complete in its time, as Pacemaker records an agent it had to give up on); the unit failing
//   or stopping meanwhile is `error`. A start that systemd skipped because a condition failed
//   (microvm.nix: the VM is not installed on this node) is `notInstalled`.
// - stop: the unit's stop job, which runs microvm-shutdown (graceful power-off). The stop
//   operation's timeout is the VM's shutdown budget: when the graceful stop has not ended
//   FORCE_MARGIN before it (5 s, at most a quarter of the timeout), every process of the unit gets
//   SIGKILL (KillUnit, like VirtualDomain's forced "destroy" after its shutdown timeout) and the
//   stop completes. systemd's own TimeoutStopSec of the unit (microvm.nix: 150 s) acts only when it
//   is the shorter one. A stop is `ok` once the unit is inactive, forced or not.
// - monitor/probe: the unit's state (SystemdAgent.monitor/probe); for an active unit, the readiness
//   checks too: a unit that is active while a check fails is `error` with the QEMU process still
//   counted as running (recovery stops it first), and a check that used up the operation's time is
//   `timeout`. The probe only reads (re-adoption after an agent restart keeps the running VM).
//
// readyCommand runs as `/bin/sh -c CMD` in its own process group (killed on timeout) with
// TSHA_RESOURCE (the resource id) and MICROVM_NAME (the VM name) in its environment.

import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../../ports/resource-agent.js';
import { runCommand } from '../exec/exec-agent.js';
import { TcpProbe } from '../probe/tcp-probe.js';
import { SystemdAgent, type SystemdAgentOptions } from '../systemd/systemd-agent.js';

/** Graceful shutdown ends at most this long before the stop timeout; then the VM is forced off. */
export const FORCE_MARGIN_MS = 5000;
/** How often start looks again while the guest is not ready (a boot takes seconds; each look costs a D-Bus call and the checks). */
const READY_POLL_MS = 500;
/** The last look of a start comes this long before its deadline (time for one D-Bus call and a check). */
const LAST_LOOK_MS = 100;
/** One readiness attempt during start takes at most this long (the next attempt follows). */
const READY_ATTEMPT_MS = 5000;
const SIGKILL = 9;

export interface MicrovmAgentOptions extends SystemdAgentOptions {
  /** extra environment for readyCommand (the daemon passes TSHA_NODE) */
  env?: NodeJS.ProcessEnv;
}

/** The unit of a microvm.nix VM. */
export function microvmUnit(name: string): string {
  return `microvm@${name}.service`;
}

type Resolved = { ok: true; name: string; unit: string; ref: ResourceRef } | { ok: false; result: ActionResult };

/** A readiness check's verdict: ready, not ready (why), or it ran out of the time it was given. */
type Readiness = { ready: true } | { ready: false; reason: string; outOfTime: boolean };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function left(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

export class MicrovmAgent implements ResourceAgent {
  readonly kinds = ['microvm'] as const;
  /** the systemd driver that runs microvm@<name>.service (its D-Bus connection is shared per bus) */
  readonly units: SystemdAgent;
  private readonly tcp = new TcpProbe();
  private readonly extraEnv: NodeJS.ProcessEnv;

  constructor(opts: MicrovmAgentOptions = {}) {
    this.units = new SystemdAgent(opts.busAddress ? { busAddress: opts.busAddress } : {});
    this.extraEnv = opts.env ?? {};
  }

  private resolve(res: ResourceRef): Resolved {
    const name = res.params.name ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      return { ok: false, result: { status: 'errorFatal', reason: `resources.${res.id}.params.name: ${name ? `invalid microvm name ${JSON.stringify(name)}` : 'missing'}` } };
    }
    const unit = microvmUnit(name);
    return { ok: true, name, unit, ref: { id: res.id, kind: 'systemd', params: { unit } } };
  }

  async start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const r = this.resolve(res);
    if (!r.ok) return r.result;
    const t0 = Date.now();
    const deadline = t0 + op.timeoutMs;
    const started = await this.units.start(r.ref, { timeoutMs: op.timeoutMs });
    if (started.status !== 'ok') return started;
    let lastReason = 'unit not active yet';
    for (;;) {
      // One D-Bus call per look while the unit is active (the systemd driver's monitor)
      const m = await this.units.monitor(r.ref, { timeoutMs: left(deadline) });
      if (m.status === 'ok' && m.state === 'running') {
        const check = await this.ready(res, r, Math.min(READY_ATTEMPT_MS, left(deadline)));
        if (check.ready) return { status: 'ok', reason: started.reason === 'already active' ? 'already running and ready' : `ready after ${Date.now() - t0} ms` };
        lastReason = check.reason;
      } else if (m.state === 'running' || m.state === 'starting') {
        // activating (a Type=notify unit before READY=1), or systemd did not answer in time: look again
        if (m.reason) lastReason = m.reason;
      } else {
        return this.gone(r, deadline, lastReason);
      }
      // the last look comes just before the deadline, not up to one poll interval early
      if (left(deadline) <= LAST_LOOK_MS) {
        return { status: 'timeout', reason: `${r.unit}: the VM was not ready within the start timeout (${op.timeoutMs} ms): ${lastReason}` };
      }
      await sleep(Math.min(READY_POLL_MS, left(deadline) - LAST_LOOK_MS));
    }
  }

  /** The unit stopped, failed or is stopping while start waited: why (a skipped start is notInstalled). */
  private async gone(r: { unit: string; name: string }, deadline: number, lastReason: string): Promise<ActionResult> {
    let st;
    try {
      st = await this.units.unitState(r.unit, left(deadline));
    } catch (e) {
      return { status: 'error', reason: `${r.unit} not running while start waited for the VM, and its state could not be read: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (st.activeState === 'inactive' && st.result === 'success') {
      if (!(await this.units.conditionHeld(r.unit, left(deadline)).catch(() => true))) {
        return { status: 'notInstalled', reason: `${r.unit}: systemd skipped the start, a condition of the unit failed (microvm.nix: the VM ${r.name} is not installed on this node)` };
      }
      return { status: 'error', reason: `${r.unit}: the hypervisor exited right after the start (inactive, Result=success)` };
    }
    const last = lastReason === 'unit not active yet' ? '' : `; last check: ${lastReason}`;
    return { status: 'error', reason: `${r.unit} ${st.activeState} (Result=${st.result ?? 'unknown'}) while waiting for the VM to be ready${last}` };
  }

  async stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const r = this.resolve(res);
    if (!r.ok) return r.result;
    const deadline = Date.now() + op.timeoutMs;
    const graceful = op.timeoutMs - Math.min(FORCE_MARGIN_MS, Math.floor(op.timeoutMs / 4));
    const stopped = await this.units.stop(r.ref, { timeoutMs: graceful });
    if (stopped.status !== 'timeout') return stopped;
    // The graceful shutdown took its whole budget: force the VM off, and let the stop job finish.
    try {
      await this.units.kill(r.unit, SIGKILL, left(deadline));
    } catch (e) {
      return { status: 'timeout', reason: `${r.unit}: graceful shutdown not done within ${graceful} ms, and the forced stop failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    const forced = await this.units.stop(r.ref, { timeoutMs: left(deadline) });
    if (forced.status !== 'ok') return { ...forced, reason: `forced off after ${graceful} ms of graceful shutdown, then: ${forced.reason ?? forced.status}` };
    return { status: 'ok', reason: `forced off (SIGKILL): the graceful shutdown did not end within ${graceful} ms` };
  }

  monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.look(res, op, (ref, o) => this.units.monitor(ref, o));
  }

  /** Probe at agent start: read-only; a running, ready VM is re-adopted as it is (same QEMU process). */
  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.look(res, op, (ref, o) => this.units.probe(ref, o));
  }

  private async look(res: ResourceRef, op: OperationOptions, read: (ref: ResourceRef, op: OperationOptions) => Promise<MonitorResult>): Promise<MonitorResult> {
    const r = this.resolve(res);
    if (!r.ok) return { ...r.result, state: 'stopped', running: false };
    const deadline = Date.now() + op.timeoutMs;
    const m = await read(r.ref, op);
    if (m.status !== 'ok' || m.state !== 'running') return m;
    const check = await this.ready(res, r, left(deadline));
    if (check.ready) return m;
    return { ...m, status: check.outOfTime ? 'timeout' : 'error', reason: `${r.unit} active, but the VM is not ready: ${check.reason}` };
  }

  /** Every configured readiness check, within `timeoutMs`; ready when none is configured. */
  private async ready(res: ResourceRef, r: { name: string }, timeoutMs: number): Promise<Readiness> {
    const deadline = Date.now() + timeoutMs;
    const { readyTcp, readyCommand } = res.params;
    if (readyTcp) {
      const t = left(deadline);
      const seen = t > 0 ? await this.tcp.probe(readyTcp, t) : 'timeout';
      if (seen !== 'accepted') return { ready: false, reason: `readyTcp ${readyTcp}: ${seen === 'refused' ? 'connection refused' : seen}`, outOfTime: seen === 'timeout' };
    }
    if (readyCommand) {
      const t = left(deadline);
      if (t <= 0) return { ready: false, reason: 'readyCommand: no time left to run it', outOfTime: true };
      const env = { ...process.env, ...this.extraEnv, TSHA_RESOURCE: res.id, MICROVM_NAME: r.name };
      const o = await runCommand(readyCommand, env, t, 1000);
      if (o.code !== 0 || o.timedOut) {
        const how = o.timedOut ? `timed out after ${t} ms` : o.signal ? `killed by ${o.signal}` : `exit ${o.code}`;
        return { ready: false, reason: `readyCommand ${how}${o.output ? `: ${o.output}` : ''}`, outOfTime: o.timedOut };
      }
    }
    return { ready: true };
  }

  async close(): Promise<void> {
    await this.units.close();
  }
}
