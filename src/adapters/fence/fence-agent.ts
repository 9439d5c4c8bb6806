// Runs fence-agents executables (fence_ipmilan, fence_redfish, fence_apc_snmp, … and the test
// agent fence_tsha_test) with their standard stdin protocol: one `key=value` per line, then EOF.
//
//   action=off
//   plug=n2
//   ip=10.91.0.2
//   username=admin
//   ...
//
// Exit status 0 means the agent confirmed the action (for `off`: the target is powered off and
// stays so); anything else, a signal or the timeout is a failure. Fence levels run in order
// (lowest index first); a level succeeds when every one of its devices confirmed; the first
// level that succeeds ends the fence. Without levels for a target, every device whose `hosts`
// include it is a level of its own, in configuration order.

import { spawn } from 'node:child_process';
import type { FenceDevice, FencingConfig, NodeName } from '../../config/types.js';
import type { FenceAttemptResult, FenceOutcome, Fencer } from '../../ports/fencer.js';

export interface FenceAgentOptions {
  /** directories searched for agent names that are not absolute paths, before $PATH */
  searchPath?: string[];
  /** extra environment for the agents (tests: where the harness's fence socket is) */
  env?: NodeJS.ProcessEnv;
}

/** The stdin text for one device and one target. Device parameters cannot override action or plug. */
export function fenceStdin(device: FenceDevice, target: NodeName, action: 'off' | 'reboot'): string {
  const lines = [`action=${action}`, `plug=${target}`];
  for (const [k, v] of Object.entries(device.parameters)) {
    if (k === 'action' || k === 'plug' || k === 'port') continue;
    if (/[\n\r]/.test(k) || /[\n\r]/.test(v)) continue; // one key=value per line; validate() refuses these anyway
    lines.push(`${k}=${v}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Run one fence agent once; never throws. */
export function runFenceAgent(device: FenceDevice, target: NodeName, action: 'off' | 'reboot', level: number, opts: FenceAgentOptions = {}): Promise<FenceAttemptResult> {
  const started = performance.now();
  const done = (status: FenceAttemptResult['status'], exitCode: number | null, reason: string): FenceAttemptResult => ({
    device: device.id, level, status, exitCode, reason, durationMs: Math.round(performance.now() - started),
  });
  return new Promise((resolve) => {
    const env = { ...process.env, ...opts.env };
    if (opts.searchPath && opts.searchPath.length > 0) env.PATH = [...opts.searchPath, env.PATH ?? ''].join(':');
    let stderr = '';
    let settled = false;
    const child = spawn(device.agent, [], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    const finish = (r: FenceAttemptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(done('timeout', null, `no answer within ${device.timeoutMs} ms`));
    }, device.timeoutMs);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(done(e.code === 'ENOENT' ? 'notInstalled' : 'error', null, `cannot run ${device.agent}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      const tail = stderr.trim().split('\n').slice(-1)[0] ?? '';
      if (code === 0) finish(done('ok', 0, tail || 'confirmed'));
      else finish(done('error', code, signal ? `killed by ${signal}` : `exit ${String(code)}${tail ? `: ${tail}` : ''}`));
    });
    child.stdin.on('error', () => {
      /* the agent may exit without reading its input; its exit status decides */
    });
    child.stdin.end(fenceStdin(device, target, action));
  });
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

export class FenceAgentFencer implements Fencer {
  constructor(
    private readonly fencing: () => FencingConfig,
    private readonly opts: FenceAgentOptions = {},
  ) {}

  async fence(target: NodeName, action: 'off' | 'reboot'): Promise<FenceOutcome> {
    const attempts: FenceAttemptResult[] = [];
    const levels = levelsFor(this.fencing(), target);
    for (const [i, devices] of levels.entries()) {
      if (devices.length === 0) continue;
      let all = true;
      for (const d of devices) {
        const r = await runFenceAgent(d, target, action, i + 1, this.opts);
        attempts.push(r);
        if (r.status !== 'ok') {
          all = false;
          break;
        }
      }
      if (all) return { target, confirmed: true, attempts };
    }
    return { target, confirmed: false, attempts };
  }
}
