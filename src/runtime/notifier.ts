// sd_notify for the runtime: READY=1, WATCHDOG=1, STATUS=… to the service manager.
//
// Node has no Unix datagram sockets, so messages go through systemd's own `systemd-notify` tool
// with `--pid=<agent pid>`: systemd accepts them when the unit has NotifyAccess=all (the NixOS
// module sets it; with NotifyAccess=main a helper process's message is refused). Nothing is sent
// when $NOTIFY_SOCKET is unset (not started by systemd with Type=notify).

import { execFile } from 'node:child_process';
import type { Logger } from '../observability/logger.js';

export interface Notifier {
  /** e.g. { READY: '1', STATUS: '…' }; best effort, never throws */
  notify(fields: Record<string, string>): void;
  /** the watchdog interval systemd asked for ($WATCHDOG_USEC), or null */
  readonly watchdogMs: number | null;
}

export class NullNotifier implements Notifier {
  readonly watchdogMs = null;
  readonly sent: Record<string, string>[] = [];
  notify(fields: Record<string, string>): void {
    this.sent.push(fields);
  }
}

export class SystemdNotifyTool implements Notifier {
  readonly watchdogMs: number | null;
  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    this.watchdogMs = Number.isFinite(usec) && usec > 0 && forUs ? Math.floor(usec / 1000) : null;
  }

  notify(fields: Record<string, string>): void {
    const args = [`--pid=${process.pid}`];
    const rest: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (k === 'READY' && v === '1') args.push('--ready');
      else if (k === 'STATUS') args.push(`--status=${v.replace(/\n/g, ' ')}`);
      else rest.push(`${k}=${v}`);
    }
    execFile('systemd-notify', [...args, ...rest], { timeout: 2000 }, (err) => {
      if (err) this.log.warn({ err: err.message, fields }, 'sd_notify failed');
    });
  }
}

export function createNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env): Notifier {
  return env.NOTIFY_SOCKET ? new SystemdNotifyTool(log, env) : new NullNotifier();
}
