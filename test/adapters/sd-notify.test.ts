// sd_notify against a REAL systemd --user: a Type=notify unit running a node script that uses our
// Notifier. READY=1 moves it from activating to active, STATUS= shows in StatusText over D-Bus, and
// with WatchdogSec=2 the manager kills it (Result=watchdog) once the script stops pinging.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, notifyHelperTransport, watchdogFromEnv } from '../../src/adapters/sd-notify.js';
import { SystemdAgent } from '../../src/adapters/systemd/index.js';
import { startSystemdUser, skipWithoutSystemd, type SystemdUser } from '../helpers/systemd-user.js';

describe('watchdogFromEnv', () => {
  it('derives half the timeout as the ping interval', () => {
    expect(watchdogFromEnv({ WATCHDOG_USEC: '10000000' }, 42)).toEqual({ timeoutMs: 10_000, intervalMs: 5_000 });
    expect(watchdogFromEnv({ WATCHDOG_USEC: '3000000', WATCHDOG_PID: '42' }, 42)).toEqual({ timeoutMs: 3_000, intervalMs: 1_500 });
  });
  it('ignores a watchdog meant for another PID, or a missing or invalid value', () => {
    expect(watchdogFromEnv({ WATCHDOG_USEC: '3000000', WATCHDOG_PID: '41' }, 42)).toBeNull();
    expect(watchdogFromEnv({}, 42)).toBeNull();
    expect(watchdogFromEnv({ WATCHDOG_USEC: '0' }, 42)).toBeNull();
    expect(watchdogFromEnv({ WATCHDOG_USEC: '-5' }, 42)).toBeNull();
    expect(watchdogFromEnv({ WATCHDOG_USEC: '12abc' }, 42)).toBeNull();
  });
  it('the Notifier is a no-op without NOTIFY_SOCKET, and rejects malformed assignments', async () => {
    const sent: string[][] = [];
    const off = new Notifier({ env: {}, transport: async (a) => void sent.push(a) });
    await off.ready('x');
    expect(off.enabled).toBe(false);
    expect(sent).toEqual([]);
    const on = new Notifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '2000000' }, transport: async (a) => void sent.push(a) });
    await on.ready('line one\nline two');
    expect(sent).toEqual([['READY=1', 'STATUS=line one line two']]);
    expect(on.watchdog).toEqual({ timeoutMs: 2000, intervalMs: 1000 });
    expect(() => on.notify('bad')).toThrow(/invalid sd_notify assignment/);
  });
});

describe('notifyHelperTransport: one long-lived shell runs systemd-notify for every notification', () => {
  // a stand-in for the systemd-notify binary: records its arguments, one line per call, and fails
  // (exit 3, with a message) for FAIL=1, hangs for HANG=1
  const dir = mkdtempSync(join(tmpdir(), 'tsha-notify-helper-'));
  const bin = join(dir, 'fake-systemd-notify');
  writeFileSync(bin, `#!/bin/sh\nfor a in "$@"; do printf '[%s]' "$a" >> ${dir}/calls; done\necho >> ${dir}/calls\n` +
    `case "$*" in *FAIL=1*) echo "no socket" >&2; echo "second line" >&2; exit 3;; *HANG=1*) sleep 30;; esac\n`);
  chmodSync(bin, 0o755);
  const calls = (): string[] => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes the assignments of each notification intact, in order, on behalf of this process (--pid)', async () => {
    const send = notifyHelperTransport(bin, process.env);
    await send(['READY=1', 'STATUS=two  spaces, a\ttab and ünïcode $HOME *']);
    await Promise.all([send(['WATCHDOG=1']), send(['STATUS=x'])]);
    expect(calls()).toEqual([
      `[--pid=${process.pid}][READY=1][STATUS=two  spaces, a\ttab and ünïcode $HOME *]`,
      `[--pid=${process.pid}][WATCHDOG=1]`,
      `[--pid=${process.pid}][STATUS=x]`,
    ]);
  });

  it('rejects a failed notification with the exit status and output, and goes on with the next', async () => {
    const send = notifyHelperTransport(bin, process.env);
    await expect(send(['FAIL=1'])).rejects.toThrow(/fake-systemd-notify failed: exit 3 no socket second line/);
    await expect(send(['WATCHDOG=1'])).resolves.toBeUndefined();
    await expect(send(['X=\x1f'])).rejects.toThrow(/contains/);
  });

  it('gives up on a hung notification after the timeout, and starts a new helper for the next', async () => {
    const send = notifyHelperTransport(bin, process.env, 300);
    await expect(send(['HANG=1'])).rejects.toThrow(/did not answer within 300 ms/);
    await expect(send(['WATCHDOG=1'])).resolves.toBeUndefined();
  });
});

const skip = skipWithoutSystemd('sd-notify systemd tests');

const repo = resolve(import.meta.dirname, '../..');
const script = join(repo, 'test/helpers/notify-script.ts');

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await get();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
    v = await get();
  }
  return v;
}

describe.skipIf(skip)('Notifier against a real systemd --user', () => {
  let sd: SystemdUser;
  let agent: SystemdAgent;
  const unit = (mode: string, extra = ''): string =>
    `[Service]\nType=notify\nWorkingDirectory=${repo}\nExecStart=${process.execPath} --import tsx ${script} ${mode} %t\nTimeoutStartSec=60\n${extra}`;

  beforeAll(async () => {
    sd = await startSystemdUser();
    await sd.writeUnit('tsha-sd-notify.service', unit('ready'));
    await sd.writeUnit('tsha-sd-watchdog.service', unit('watchdog', 'WatchdogSec=2\nRestart=no\n'));
    await sd.reload();
    agent = new SystemdAgent({ busAddress: sd.busAddress });
  });
  afterAll(async () => {
    await agent?.close();
    await sd?.stop();
  });

  it('stays activating until READY=1, then active; StatusText carries our STATUS', async () => {
    expect((await sd.systemctl('start', '--no-block', 'tsha-sd-notify.service')).code).toBe(0);
    const state = () => agent.unitState('tsha-sd-notify.service', 5000);
    const starting = await until('STATUS=starting', state, (s) => s.statusText !== null && s.statusText.startsWith('starting'));
    expect(starting.activeState).toBe('activating');
    await new Promise((r) => setTimeout(r, 500));
    expect((await state()).activeState).toBe('activating'); // no READY yet: still activating
    writeFileSync(join(sd.runtimeDir, 'go'), '');
    const ready = await until('active', state, (s) => s.activeState === 'active');
    expect(ready.statusText).toBe('ready: 3 nodes, quorate');
    expect(ready.mainPid).toBeGreaterThan(0);
    expect(existsSync(join(sd.runtimeDir, 'notify-error'))).toBe(false);
    expect(JSON.parse(readFileSync(join(sd.runtimeDir, 'ready.watchdog.json'), 'utf8'))).toBeNull();
    expect(await agent.stop({ id: 'n', kind: 'systemd', params: { unit: 'tsha-sd-notify.service' } }, { timeoutMs: 10_000 })).toMatchObject({ status: 'ok' });
  }, 60_000);

  it('with WatchdogSec=2, pings keep it alive; when they stop, systemd kills it (Result=watchdog)', async () => {
    const r = { id: 'w', kind: 'systemd' as const, params: { unit: 'tsha-sd-watchdog.service' } };
    expect(await agent.start(r, { timeoutMs: 30_000 })).toEqual({ status: 'ok' });
    expect(JSON.parse(readFileSync(join(sd.runtimeDir, 'watchdog.watchdog.json'), 'utf8'))).toEqual({ timeoutMs: 2000, intervalMs: 1000 });
    // the monitor's quick path does not read MainPID; the full unit state does
    const pid = (await agent.unitState('tsha-sd-watchdog.service', 5000)).mainPid;
    expect(pid).toBeGreaterThan(0);
    // two watchdog periods later it is still the same healthy process (WatchdogSec=2, not 1: a ping
    // is a spawn of systemd-notify, and on a loaded 2-core CI machine 0.5 s of slack is too little)
    await new Promise((ok) => setTimeout(ok, 4000));
    expect(await agent.monitor(r, { timeoutMs: 5000 })).toMatchObject({ status: 'ok', state: 'running' });
    expect((await agent.unitState('tsha-sd-watchdog.service', 5000)).mainPid).toBe(pid);
    writeFileSync(join(sd.runtimeDir, 'hang'), '');
    const st = await until('the watchdog kill', () => agent.unitState('tsha-sd-watchdog.service', 5000), (s) => s.activeState === 'failed', 15_000);
    expect(st.result).toBe('watchdog');
    expect(existsSync(join(sd.runtimeDir, 'notify-error'))).toBe(false);
  }, 60_000);
});
