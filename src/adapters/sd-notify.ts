// sd_notify for the agent: READY=1, STATUS=…, WATCHDOG=1, STOPPING=1 to the service manager through
// $NOTIFY_SOCKET, and the watchdog interval derived from WATCHDOG_USEC / WATCHDOG_PID.
//
// Transport: the `systemd-notify` binary, always present where systemd runs (NixOS included).
// Node cannot send on an AF_UNIX datagram socket by itself. The native packages were tried:
// `unix-dgram` builds with npm's own node-gyp, but in this project dbus-next's optional `usocket`
// pulls node-gyp@7 into node_modules/.bin, which then shadows npm's and crashes on Node 20
// ("Cannot assign to read only property 'cflags'"); forcing node-gyp@11 with an override works but
// rewrites ~1500 lines of package-lock.json and makes a C++ toolchain a hard install requirement.
// `sd-notify` (libsystemd binding) has the same build path plus libsystemd-dev.
//
// The agent does not fork systemd-notify itself: a Node process spawning a child costs 4-5 ms of
// CPU on these machines (the kernel copies the page tables of ~70 MiB, child_process sets up its
// pipes), and a WATCHDOG=1 every 5 s made that about 0.1 % of a core, a tenth of the idle budget.
// One long-lived /bin/sh (a few hundred KiB) reads one notification per line from a pipe, runs
// systemd-notify for it and answers with its exit status (`notifyHelperTransport`). A watchdog ping
// that needs a healthy event loop to write it is still exactly the liveness signal we want; a
// helper that died is started again at the next notification.
//
// PID attribution: systemd accepts a message only from the unit's main PID when NotifyAccess=main
// (the default for Type=notify), judged by the sender's SCM_CREDENTIALS. systemd-notify (v252)
// sends with the credentials of the PID given by --pid (the shell passes its parent: our agent)
// when it may (root, which the agent is), and waits until the manager processed the message (a
// barrier), so the exit-before-read race that made `systemd-notify` unreliable does not apply. For
// a non-root agent the kernel refuses the borrowed PID and the message comes from systemd-notify
// itself: such a unit needs NotifyAccess=all. --pid also adds MAINPID= with the agent's own PID,
// which is already the unit's main PID: a no-op.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface WatchdogConfig {
  /** the manager's watchdog timeout, in ms */
  timeoutMs: number;
  /** how often to ping: half the timeout, as sd_watchdog_enabled(3) recommends */
  intervalMs: number;
}

/**
 * The watchdog settings from the environment, or null when no watchdog applies to this process
 * (WATCHDOG_USEC unset or invalid, or WATCHDOG_PID names another process).
 */
export function watchdogFromEnv(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): WatchdogConfig | null {
  const usecText = env.WATCHDOG_USEC;
  if (!usecText || !/^\d+$/.test(usecText)) return null;
  const usec = Number(usecText);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== '') {
    if (!/^\d+$/.test(pidText) || Number(pidText) !== pid) return null;
  }
  const timeoutMs = usec / 1000;
  return { timeoutMs, intervalMs: Math.max(1, Math.floor(timeoutMs / 2)) };
}

/** Sends one notification (newline-separated VAR=VALUE assignments). */
export type NotifyTransport = (assignments: string[]) => Promise<void>;

/**
 * The helper shell of the header: line in, `ok` or `fail RC OUTPUT` out, in order. Fields of a line
 * are separated by US (\x1f), which the transport refuses inside an assignment.
 */
const HELPER_SCRIPT = `bin=$1
set -f
us=$(printf '\\037')
while IFS= read -r line; do
  IFS=$us
  set -- $line
  IFS=' '
  if out=$("$bin" --pid="$PPID" "$@" 2>&1); then echo ok; else rc=$?; printf 'fail %s %s\\n' "$rc" "$(printf %s "$out" | tr '\\n' ' ')"; fi
done`;

/** A notification the helper has not answered yet. */
interface PendingNotification {
  resolve(): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * systemd-notify run by one long-lived helper shell (see the header), the agent's transport. Each
 * notification fails after `timeoutMs` without an answer (the helper is then killed, and a new one
 * started by the next notification).
 */
export function notifyHelperTransport(binary = 'systemd-notify', env: NodeJS.ProcessEnv = process.env, timeoutMs = 5000): NotifyTransport {
  let helper: ChildProcessByStdio<Writable, Readable, null> | null = null;
  const pending: PendingNotification[] = [];
  let buffered = '';
  const failAll = (why: string): void => {
    for (const p of pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new Error(why));
    }
  };
  const start = (): ChildProcessByStdio<Writable, Readable, null> => {
    // its own process group, so that a hung systemd-notify goes with it (kill below)
    const child = spawn('/bin/sh', ['-c', HELPER_SCRIPT, 'tsha-notify', binary], { env, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const p = pending.shift();
        if (!p) continue;
        clearTimeout(p.timer);
        if (line === 'ok') p.resolve();
        else p.reject(new Error(`${binary} failed: ${line.replace(/^fail /, 'exit ')}`));
      }
    });
    const gone = (why: string): void => {
      if (helper !== child) return;
      helper = null;
      failAll(why);
    };
    child.on('error', (e) => gone(`notify helper: ${e.message}`));
    child.on('exit', (code, signal) => gone(`notify helper exited (${signal ?? `code ${String(code)}`})`));
    child.stdin.on('error', () => undefined); // EPIPE when it died: reported by 'exit'
    // the helper must not keep the agent alive, nor outlive it: it reads EOF when the agent exits
    child.unref();
    (child.stdin as unknown as { unref?(): void }).unref?.();
    (child.stdout as unknown as { unref?(): void }).unref?.();
    return child;
  };
  return (assignments) =>
    new Promise<void>((resolve, reject) => {
      if (assignments.some((a) => a.includes('\x1f'))) {
        reject(new Error('an sd_notify assignment contains \\x1f'));
        return;
      }
      const child = helper ?? (helper = start());
      const timer = setTimeout(() => {
        if (helper === child) {
          helper = null;
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        failAll(`${binary} did not answer within ${timeoutMs} ms`);
      }, timeoutMs);
      timer.unref();
      pending.push({ resolve, reject, timer });
      child.stdin.write(`${assignments.join('\x1f')}\n`);
    });
}

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  transport?: NotifyTransport;
}

/** Notifications to the service manager; every method is a no-op when not run under systemd. */
export class Notifier {
  readonly enabled: boolean;
  readonly watchdog: WatchdogConfig | null;
  private readonly transport: NotifyTransport;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** sends that failed (logged by the caller through onError) */
  failures = 0;
  onError: (err: Error) => void = () => undefined;

  constructor(opts: NotifierOptions = {}) {
    const env = opts.env ?? process.env;
    this.enabled = Boolean(env.NOTIFY_SOCKET);
    this.watchdog = this.enabled ? watchdogFromEnv(env) : null;
    this.transport = opts.transport ?? notifyHelperTransport('systemd-notify', env);
  }

  /** Send assignments in order; resolves once the manager processed them (or the send failed). */
  notify(...assignments: string[]): Promise<void> {
    if (!this.enabled || assignments.length === 0) return Promise.resolve();
    for (const a of assignments) {
      if (!/^[A-Z_][A-Z0-9_]*=/.test(a) || a.includes('\n')) throw new Error(`invalid sd_notify assignment ${JSON.stringify(a)}`);
    }
    const run = this.queue.then(() => this.transport(assignments));
    this.queue = run.catch((e: unknown) => {
      this.failures++;
      this.onError(e instanceof Error ? e : new Error(String(e)));
    });
    return this.queue;
  }

  ready(status?: string): Promise<void> {
    return this.notify('READY=1', ...(status === undefined ? [] : [`STATUS=${oneLine(status)}`]));
  }

  status(text: string): Promise<void> {
    return this.notify(`STATUS=${oneLine(text)}`);
  }

  stopping(status?: string): Promise<void> {
    this.stopWatchdog();
    return this.notify('STOPPING=1', ...(status === undefined ? [] : [`STATUS=${oneLine(status)}`]));
  }

  ping(): Promise<void> {
    return this.notify('WATCHDOG=1');
  }

  /**
   * Ping every watchdog interval while `healthy()` says so. When it returns false the ping is
   * skipped, and the manager kills and restarts us once the timeout passes: that is the point.
   */
  startWatchdog(healthy: () => boolean = () => true): void {
    if (!this.watchdog || this.timer) return;
    const tick = (): void => {
      if (healthy()) void this.ping();
    };
    this.timer = setInterval(tick, this.watchdog.intervalMs);
    this.timer.unref?.();
    tick();
  }

  stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').slice(0, 1000);
}
