// The Linux watchdog API (Documentation/watchdog/watchdog-api.rst) on a device such as
// /dev/watchdog: opening it arms the timer, every write is a keepalive, and writing the magic
// character 'V' right before close disarms it (unless the driver was built with nowayout).
//
// Node cannot issue ioctls without native code, so WDIOC_SETTIMEOUT / WDIOC_GETTIMEOUT are out of
// reach: the timeout is configured outside tsha (softdog's soft_margin, a driver's module option,
// or systemd's RuntimeWatchdogSec when systemd owns the device) and read back here from sysfs
// (/sys/class/watchdog/watchdogN/timeout, in seconds), so the agent can refuse a device whose
// timeout is longer than timing.watchdogMs.
//
// The device is opened O_NONBLOCK: a real watchdog ignores it, and a FIFO (the tests' fake
// watchdog) with no reader then fails at once with ENXIO instead of blocking the agent's start.

import fs from 'node:fs';
import path from 'node:path';
import type { WatchdogDevice, WatchdogTimeoutInfo } from '../../ports/watchdog.js';

/** The misc device number of the legacy /dev/watchdog (10:130): it is the first watchdog, watchdog0. */
const LEGACY_DEV = '10:130';

// glibc's gnu_dev_major/minor for the 32-bit part of dev_t (majors and minors below 4096 / 2^20)
const majorOf = (rdev: number): number => Math.floor(rdev / 256) & 0xfff;
const minorOf = (rdev: number): number => (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);

export class WatchdogOpenError extends Error {
  override readonly name = 'WatchdogOpenError';
  constructor(readonly path: string, readonly code: string | undefined, message: string) {
    super(message);
  }
}

export interface LinuxWatchdogOptions {
  /** where watchdog class devices are listed (default /sys/class/watchdog; tests point elsewhere) */
  sysfsRoot?: string;
}

export class LinuxWatchdog implements WatchdogDevice {
  private fd: number | null = null;
  private readonly sysfsRoot: string;

  constructor(readonly path: string, opts: LinuxWatchdogOptions = {}) {
    this.sysfsRoot = opts.sysfsRoot ?? '/sys/class/watchdog';
  }

  timeout(): WatchdogTimeoutInfo {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.path);
    } catch (e) {
      return { timeoutMs: null, source: `cannot stat ${this.path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
    }
    if (!st.isCharacterDevice()) return { timeoutMs: null, source: `${this.path} is not a character device (a FIFO is the tests' fake watchdog)` };
    const dev = `${majorOf(st.rdev)}:${minorOf(st.rdev)}`;
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.sysfsRoot).sort();
    } catch {
      return { timeoutMs: null, source: `${this.sysfsRoot} is not readable` };
    }
    const readDev = (n: string): string | null => {
      try {
        return fs.readFileSync(path.join(this.sysfsRoot, n, 'dev'), 'utf8').trim();
      } catch {
        return null;
      }
    };
    const name = dev === LEGACY_DEV ? names.find((n) => n === 'watchdog0') : names.find((n) => readDev(n) === dev);
    if (!name) return { timeoutMs: null, source: `no entry in ${this.sysfsRoot} for device ${dev}` };
    const file = path.join(this.sysfsRoot, name, 'timeout');
    try {
      const s = Number(fs.readFileSync(file, 'utf8').trim());
      if (!Number.isFinite(s) || s <= 0) return { timeoutMs: null, source: `${file} does not hold a number of seconds` };
      return { timeoutMs: s * 1000, source: file };
    } catch {
      return { timeoutMs: null, source: `${file} is not readable (kernel without CONFIG_WATCHDOG_SYSFS?)` };
    }
  }

  async open(): Promise<void> {
    if (this.fd !== null) return;
    try {
      this.fd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENXIO' ? 'a FIFO with no reader (is the fake watchdog running?)' : code === 'EBUSY' ? 'already open (another watchdog daemon, or systemd\'s RuntimeWatchdogSec, owns it)' : (code ?? String(e));
      throw new WatchdogOpenError(this.path, code, `cannot open the watchdog device ${this.path}: ${why}`);
    }
  }

  keepalive(): { ok: true } | { ok: false; reason: string } {
    if (this.fd === null) return { ok: false, reason: 'not open' };
    try {
      fs.writeSync(this.fd, '1');
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: (e as NodeJS.ErrnoException).code ?? String(e) };
    }
  }

  close(disarm: boolean): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      if (disarm) fs.writeSync(fd, 'V');
    } catch {
      /* the close below still happens; a driver without magic close keeps running either way */
    }
    try {
      fs.closeSync(fd);
    } catch {
      /* already gone */
    }
  }
}
