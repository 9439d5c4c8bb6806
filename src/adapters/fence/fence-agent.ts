// Runs fence-agents executables (fence_ipmilan, fence_redfish, fence_apc_snmp, … and the test
// agent fence_tsha_test) with their standard stdin protocol: one `key=value` per line, then EOF.
//
//   action=off
//   plug=3            (the node's plug on this device: fencing.devices.<id>.hostMap, else its name)
//   ip=10.91.0.2
//   username=admin
//   ...
//
// Exit status 0 means the agent confirmed the action (for `off`: the target is powered off and
// stays so); anything else, a signal or the timeout is a failure. `status` answers 0 (on) or 2
// (off); both mean the device knows the plug. Fence levels run in order (lowest index first); a
// level succeeds when every one of its devices confirmed; the first level that succeeds ends the
// fence. Without levels for a target, every device whose `hosts` include it is a level of its own,
// in configuration order.

import { spawn } from 'node:child_process';
import type { FenceDevice, FencingConfig, NodeName } from '../../config/types.js';
import type { FenceAttemptResult } from '../../ports/fencer.js';

/** What tsha asks a fence agent: fence (off, reboot), unfence (on), or look without touching (status, monitor, list). */
export type FenceAgentAction = 'off' | 'reboot' | 'on' | 'status' | 'monitor' | 'list';

export interface FenceAgentOptions {
  /** directories searched for agent names that are not absolute paths, before $PATH */
  searchPath?: string[];
  /** extra environment for the agents (tests: where the harness's fence socket is) */
  env?: NodeJS.ProcessEnv;
}

/** The plug (port) of `node` on `device`: its hostMap entry, else the node name (Pacemaker's pcmk_host_map). */
export function plugFor(device: FenceDevice, node: NodeName): string {
  return device.hostMap?.[node] ?? node;
}

/**
 * The stdin text for one device and one target (null: a device-wide action, monitor or list).
 * Device parameters cannot override action or plug (the configuration check refuses them too).
 */
export function fenceStdin(device: FenceDevice, target: NodeName | null, action: FenceAgentAction): string {
  const lines = [`action=${action}`, ...(target === null ? [] : [`plug=${plugFor(device, target)}`])];
  for (const [k, v] of Object.entries(device.parameters)) {
    if (k === 'action' || k === 'plug' || k === 'port') continue;
    if (/[\n\r]/.test(k) || /[\n\r]/.test(v)) continue; // one key=value per line; validate() refuses these anyway
    lines.push(`${k}=${v}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One agent run: its result, plus what it printed (the plugs of `list`, the `status` line). */
export interface FenceAgentRun extends FenceAttemptResult {
  stdout: string;
}

/**
 * Run one fence agent once; never throws. `okCodes`: exit codes that count as success (status:
 * 0 = on and 2 = off both say the device answered for the plug).
 */
export function runFenceAgentAction(
  device: FenceDevice, target: NodeName | null, action: FenceAgentAction, level: number, opts: FenceAgentOptions = {}, okCodes: readonly number[] = [0],
): Promise<FenceAgentRun> {
  const started = performance.now();
  let stdout = '';
  const done = (status: FenceAttemptResult['status'], exitCode: number | null, reason: string): FenceAgentRun => ({
    device: device.id, level, status, exitCode, reason, durationMs: Math.round(performance.now() - started), stdout,
  });
  return new Promise((resolve) => {
    const env = { ...process.env, ...opts.env };
    if (opts.searchPath && opts.searchPath.length > 0) env.PATH = [...opts.searchPath, env.PATH ?? ''].join(':');
    let stderr = '';
    let settled = false;
    const child = spawn(device.agent, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const finish = (r: FenceAgentRun): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(done('timeout', null, `no answer within ${device.timeoutMs} ms`));
    }, device.timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (stdout.length < 64_000) stdout += d;
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(done(e.code === 'ENOENT' ? 'notInstalled' : 'error', null, `cannot run ${device.agent}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      const tail = lastLine(stderr);
      if (code !== null && okCodes.includes(code)) finish(done('ok', code, lastLine(stdout) || tail || 'confirmed'));
      else finish(done('error', code, signal ? `killed by ${signal}` : `exit ${String(code)}${tail ? `: ${tail}` : ''}`));
    });
    child.stdin.on('error', () => {
      /* the agent may exit without reading its input; its exit status decides */
    });
    child.stdin.end(fenceStdin(device, target, action));
  });
}

/**
 * The last non-empty line, without the timestamp fence-agents' logging puts first and without the
 * "Please use '-h' for usage" they add after the error that matters.
 */
function lastLine(text: string): string {
  const line = text.trim().split('\n').filter((l) => l.trim() !== '' && !/Please use '-h' for usage/.test(l)).slice(-1)[0]?.trim() ?? '';
  return line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+ /, '');
}

/** Run one fence agent once to fence `target`; never throws. */
export async function runFenceAgent(device: FenceDevice, target: NodeName, action: 'off' | 'reboot', level: number, opts: FenceAgentOptions = {}): Promise<FenceAttemptResult> {
  const { stdout: _stdout, ...r } = await runFenceAgentAction(device, target, action, level, opts);
  return r;
}

/**
 * Unfence `node` on a fabric-fencing device (fence_scsi, fence_mpath): action=on gives the node
 * its storage paths back. The agent runs it before a node this device fenced runs resources again
 * (fencing.devices.<id>.unfence).
 */
export function unfence(device: FenceDevice, node: NodeName, opts: FenceAgentOptions = {}): Promise<FenceAttemptResult> {
  return runFenceAgentAction(device, node, 'on', 0, opts).then(({ stdout: _o, ...r }) => r);
}

/** The plugs a `list` answer names: one "plug,alias" (or "plug alias") per line. */
export function parsePlugList(stdout: string): string[] {
  return stdout.split('\n').map((l) => l.trim().split(/[,\s]/)[0] ?? '').filter((p) => p !== '');
}

/** The levels to try for `target`, each a list of devices, in order. */
export function levelsFor(fencing: FencingConfig, target: NodeName): FenceDevice[][] {
  const byId = new Map(fencing.devices.map((d) => [d.id, d]));
  const levels = fencing.levels.filter((l) => l.node === target).sort((a, b) => a.index - b.index);
  if (levels.length > 0) {
    return levels.map((l) => l.devices.map((id) => byId.get(id)).filter((d): d is FenceDevice => d !== undefined));
  }
  return fencing.devices.filter((d) => d.hosts.includes(target)).map((d) => [d]);
}
