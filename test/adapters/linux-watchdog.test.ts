// The Linux watchdog adapter against real files: a FIFO standing in for /dev/watchdog (a real
// watchdog would reset this shared machine), /dev/null as a character device whose number a
// sysfs-shaped directory maps to a timeout (as /sys/class/watchdog/watchdogN/{dev,timeout} do).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { LinuxWatchdog, WatchdogOpenError } from '../../src/adapters/watchdog/index.js';

const tmp: string[] = [];
const mkTmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsha-wd-'));
  tmp.push(d);
  return d;
};
afterEach(() => {
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A FIFO standing in for the device, with a non-blocking reader already open on it. */
function fifoWithReader(): { fifo: string; reader: number } {
  const fifo = path.join(mkTmp(), 'watchdog');
  execFileSync('mkfifo', [fifo]);
  return { fifo, reader: fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK) };
}

describe('LinuxWatchdog', () => {
  it('writes one keepalive byte per call and the magic close character "V" on a disarming close', async () => {
    const { fifo, reader } = fifoWithReader();
    try {
      const wd = new LinuxWatchdog(fifo);
      await wd.open();
      expect(wd.keepalive()).toEqual({ ok: true });
      expect(wd.keepalive()).toEqual({ ok: true });
      wd.close(true);
      const buf = Buffer.alloc(16);
      const n = fs.readSync(reader, buf);
      expect(buf.subarray(0, n).toString()).toBe('11V');
      expect(wd.keepalive()).toEqual({ ok: false, reason: 'not open' });
    } finally {
      fs.closeSync(reader);
    }
  });

  it('closes without "V" when asked to leave the watchdog armed', async () => {
    const { fifo, reader } = fifoWithReader();
    try {
      const wd = new LinuxWatchdog(fifo);
      await wd.open();
      wd.keepalive();
      wd.close(false);
      const buf = Buffer.alloc(16);
      expect(buf.subarray(0, fs.readSync(reader, buf)).toString()).toBe('1');
    } finally {
      fs.closeSync(reader);
    }
  });

  it('refuses at once, naming the device, when nothing can be opened (FIFO without reader, missing device)', async () => {
    const dir = mkTmp();
    const fifo = path.join(dir, 'watchdog');
    execFileSync('mkfifo', [fifo]);
    await expect(new LinuxWatchdog(fifo).open()).rejects.toThrow(new WatchdogOpenError(fifo, 'ENXIO', `cannot open the watchdog device ${fifo}: a FIFO with no reader (is the fake watchdog running?)`));
    await expect(new LinuxWatchdog(path.join(dir, 'nope')).open()).rejects.toThrow(/cannot open the watchdog device .*nope: ENOENT/);
  });

  it('reads the timeout of the sysfs entry whose dev matches the device number', () => {
    const sys = mkTmp();
    const st = fs.statSync('/dev/null'); // 1:3
    fs.mkdirSync(path.join(sys, 'watchdog0'));
    fs.writeFileSync(path.join(sys, 'watchdog0', 'dev'), '248:0\n');
    fs.writeFileSync(path.join(sys, 'watchdog0', 'timeout'), '60\n');
    fs.mkdirSync(path.join(sys, 'watchdog1'));
    fs.writeFileSync(path.join(sys, 'watchdog1', 'dev'), `${Math.floor(st.rdev / 256) & 0xfff}:${st.rdev & 0xff}\n`);
    fs.writeFileSync(path.join(sys, 'watchdog1', 'timeout'), '5\n');
    expect(new LinuxWatchdog('/dev/null', { sysfsRoot: sys }).timeout()).toEqual({ timeoutMs: 5000, source: path.join(sys, 'watchdog1', 'timeout') });
    fs.rmSync(path.join(sys, 'watchdog1', 'timeout'));
    expect(new LinuxWatchdog('/dev/null', { sysfsRoot: sys }).timeout().timeoutMs).toBeNull();
  });

  it('reports no timeout, with the reason, for a FIFO and for a missing device', () => {
    const fifo = path.join(mkTmp(), 'watchdog');
    execFileSync('mkfifo', [fifo]);
    expect(new LinuxWatchdog(fifo).timeout()).toEqual({ timeoutMs: null, source: `${fifo} is not a character device (a FIFO is the tests' fake watchdog)` });
    expect(new LinuxWatchdog('/nonexistent/watchdog').timeout().source).toMatch(/cannot stat .*ENOENT/);
  });
});
