// sd_notify for the agent: READY=1, STATUS=…, WATCHDOG=1, STOPPING=1 to the service manager through
// $NOTIFY_SOCKET, and the watchdog interval derived from WATCHDOG_USEC / WATCHDOG_PID.
//
// Transport: the `systemd-notify` binary, always present where systemd runs (NixOS included).
// Node cannot send on an AF_UNIX datagram socket by itself. The native packages were tried:
// `unix-dgram` builds with npm's own node-gyp, but in this project dbus-next's optional `usocket`
// pulls node-gyp@7 into node_modules/.bin, which then shadows npm's and crashes on Node 20
// ("Cannot assign to read only property 'cflags'"); forcing node-gyp@11 with an override works but
// rewrites ~1500 lines of package-lock.json and makes a C++ toolchain a hard install requirement.
// `sd-notify` (libsystemd binding) has the same build path plus libsystemd-dev. A fork+exec every
// few seconds is cheap, and a watchdog ping that needs a healthy event loop to spawn is exactly
// the liveness signal we want.
//
// PID attribution: systemd accepts a message only from the unit's main PID when NotifyAccess=main
// (the default for Type=notify), judged by the sender's SCM_CREDENTIALS. systemd-notify (v252)
// sends with the credentials of its PARENT (getppid(), our agent) when it may (root, which the
// agent is), and waits until the manager processed the message (a barrier), so the exit-before-read
// race that made `systemd-notify` unreliable does not apply. For a non-root agent the kernel
// refuses the borrowed PID and the message comes from systemd-notify itself: such a unit needs
// NotifyAccess=all. We spawn the binary directly (no shell) so its parent really is the agent.

import { execFile } from 'node:child_process';

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

/** The systemd-notify binary as transport (see the header for why). */
export function systemdNotifyTransport(binary = 'systemd-notify', env: NodeJS.ProcessEnv = process.env): NotifyTransport {
  return (assignments) =>
    new Promise((resolve, reject) => {
      execFile(binary, assignments, { env, timeout: 5000 }, (err, _stdout, stderr) => {
        if (err) reject(new Error(`${binary} ${assignments.join(' ')} failed: ${stderr.trim() || err.message}`));
        else resolve();
      });
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
    this.transport = opts.transport ?? systemdNotifyTransport('systemd-notify', env);
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
