// The watchdog port: how the runtime carries out the core's `feedWatchdog` effect on a watchdog
// device (types.ts rule 4). Production: the Linux watchdog API on /dev/watchdog
// (src/adapters/watchdog/). Tests on a shared machine: a FIFO read by a fake watchdog
// (test/cluster/fake-watchdog.ts), because a real one would reset the machine.
//
// Contract (the Linux watchdog API, Documentation/watchdog/watchdog-api.rst):
// - `open` arms the watchdog: from then on the machine is reset unless a keepalive arrives within
//   the device's timeout.
// - `keepalive` writes one byte; it never blocks and never throws (a failure is returned).
// - `close(disarm = true)` writes the magic character 'V' first ("magic close"), which disarms
//   drivers built without nowayout; `close(false)` leaves the timer running, so the machine is
//   reset unless a new opener feeds it in time.

export interface WatchdogTimeoutInfo {
  /** the device's timeout in ms as the kernel reports it, or null when it cannot be read */
  timeoutMs: number | null;
  /** where it was read from (sysfs path) or why it could not be */
  source: string;
}

export interface WatchdogDevice {
  readonly path: string;
  /** what the device says its timeout is (checked against timing.watchdogMs before opening) */
  timeout(): WatchdogTimeoutInfo;
  /** open (arm) the device; rejects with a clear error when it cannot be opened */
  open(): Promise<void>;
  /** one keepalive; false (with the reason) when the write failed */
  keepalive(): { ok: true } | { ok: false; reason: string };
  /** close; with `disarm` write the magic close character 'V' first */
  close(disarm: boolean): void;
}
