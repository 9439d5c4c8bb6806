// One program run in its own process group, with a timeout that ends the whole group: what every
// driver that runs commands needs (exec commands, OCF agents, LXC's tools, iproute2). A resource's
// command may leave children behind (a daemon, a shell pipeline); on timeout they go with it, so
// nothing keeps running after the agent has given up on the operation.

import { spawn } from 'node:child_process';

export interface GroupRunOptions {
  /** the environment (default: the agent's own) */
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** on timeout SIGTERM goes to the group first and SIGKILL this long after; 0: SIGKILL at once */
  killGraceMs?: number;
  /** characters of stdout kept (the tail; default all) */
  keepStdout?: number;
  /** characters of stderr kept (the tail; default 4000) */
  keepStderr?: number;
  /**
   * After the program exited, how long to wait for its output pipes to close (a daemon it started
   * may hold them open): 0 resolves at its exit and stops reading; default: until they close.
   */
  drainMs?: number;
}

export interface GroupRunOutcome {
  /** exit code; null when killed by a signal, timed out, or not started */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** why the program could not be started (e.g. "ENOENT"), else null */
  spawnError: string | null;
  stdout: string;
  stderr: string;
}

/** Runs `file args` in a new process group; never rejects. */
export function runInGroup(file: string, args: readonly string[], opts: GroupRunOptions): Promise<GroupRunOutcome> {
  const keepOut = opts.keepStdout ?? Infinity;
  const keepErr = opts.keepStderr ?? 4000;
  const graceMs = opts.killGraceMs ?? 0;
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const tail = (s: string, keep: number): string => (s.length > keep ? s.slice(-keep) : s);
    child.stdout.on('data', (d: Buffer) => (stdout = tail(stdout + d.toString(), keepOut)));
    child.stderr.on('data', (d: Buffer) => (stderr = tail(stderr + d.toString(), keepErr)));
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* the group is gone */
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      if (graceMs > 0) {
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), graceMs);
      } else {
        killGroup('SIGKILL');
      }
    }, Math.max(1, opts.timeoutMs));
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    const settle = (spawnError: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      // a timed-out program's group is killed for sure: its SIGKILL goes out now if still pending
      if (timedOut && killTimer) {
        clearTimeout(killTimer);
        killGroup('SIGKILL');
      }
      // a daemon started in the background is left alone, but its output is no longer read
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code: timedOut || spawnError ? null : (exit?.code ?? null), signal: exit?.signal ?? null, timedOut, spawnError, stdout, stderr });
    };
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      if (opts.drainMs === 0) settle(null);
      else if (opts.drainMs !== undefined) drainTimer = setTimeout(() => settle(null), opts.drainMs);
    });
    child.once('close', () => settle(null));
    child.once('error', (e: NodeJS.ErrnoException) => settle(`${file}: ${e.code ?? e.message}`));
  });
}
