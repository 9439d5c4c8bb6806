// sd_notify for the runtime: READY=1, WATCHDOG=1, STATUS=…, STOPPING=1 to the service manager,
// carried by the systemd adapter's Notifier (src/adapters/sd-notify.ts: the systemd-notify binary,
// run by one long-lived helper shell;
// a no-op when $NOTIFY_SOCKET is unset). The runtime decides WHEN to send (joined, healthy).

import { Notifier as SdNotifier } from '../adapters/sd-notify.js';
import type { Logger } from '../observability/logger.js';

export interface Notifier {
  /** e.g. { READY: '1', STATUS: '…' }; best effort, never throws */
  notify(fields: Record<string, string>): void;
  /** the interval at which WATCHDOG=1 is due ($WATCHDOG_USEC / 2), or null */
  readonly watchdogMs: number | null;
}

/** Records what would be sent; for tests and for agents not run by systemd. */
export class NullNotifier implements Notifier {
  readonly watchdogMs = null;
  readonly sent: Record<string, string>[] = [];
  notify(fields: Record<string, string>): void {
    this.sent.push(fields);
  }
}

export function createNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env): Notifier {
  const sd = new SdNotifier({ env });
  if (!sd.enabled) return new NullNotifier();
  sd.onError = (err) => log.warn({ err: err.message }, 'sd_notify failed');
  return {
    watchdogMs: sd.watchdog?.intervalMs ?? null,
    notify(fields) {
      const assignments = Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/[\r\n]+/g, ' ')}`);
      void sd.notify(...assignments).catch(() => undefined);
    },
  };
}
