// Exec resources with real shell commands and a real background daemon (a sleep with a pid file).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecAgent } from '../../src/adapters/exec/index.js';
import type { ResourceRef } from '../../src/ports/resource-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'tsha-sd-exec-'));
const pidfile = join(dir, 'daemon.pid');
const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
afterAll(() => {
  if (existsSync(pidfile)) {
    try {
      process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const daemon: ResourceRef = {
  id: 'web',
  kind: 'exec',
  params: {
    pidfile,
    // a daemon that keeps our stdout open: the agent must not wait for the pipe to close
    start: 'sleep 1000 & echo $! > "$OCF_RESKEY_pidfile"',
    stop: 'kill "$(cat "$OCF_RESKEY_pidfile")" && rm -f "$OCF_RESKEY_pidfile"',
    // not `kill -0`: PID 1 of this machine may leave a killed daemon as a zombie for a while
    monitor: '[ -f "$OCF_RESKEY_pidfile" ] || exit 7; s=$(cut -d" " -f3 "/proc/$(cat "$OCF_RESKEY_pidfile")/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] || exit 1',
  },
};
const T = { timeoutMs: 5000 };
const agent = new ExecAgent({ killGraceMs: 300 });
const cmd = (start: string, monitor = 'exit 7'): ResourceRef => ({ id: 'x', kind: 'exec', params: { start, stop: 'true', monitor } });

describe('ExecAgent with real commands', () => {
  it('starts a daemon, monitors it, does not start it twice, stops it', async () => {
    expect(await agent.probe(daemon, T)).toMatchObject({ status: 'ok', state: 'stopped', running: false, exitCode: 7 });
    expect(await agent.start(daemon, T)).toMatchObject({ status: 'ok', exitCode: 0 });
    const pid = Number(readFileSync(pidfile, 'utf8'));
    expect(alive(pid)).toBe(true);
    expect(await agent.monitor(daemon, T)).toMatchObject({ status: 'ok', state: 'running', running: true, role: 'started' });
    expect(await agent.start(daemon, T)).toMatchObject({ status: 'ok', reason: 'already running' });
    expect(Number(readFileSync(pidfile, 'utf8'))).toBe(pid);
    expect(await agent.stop(daemon, T)).toMatchObject({ status: 'ok', exitCode: 0 });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(await agent.stop(daemon, T)).toMatchObject({ status: 'ok', reason: 'already stopped' });
  });

  it('a daemon that died is a failed monitor (exit 1), not a clean stop', async () => {
    expect((await agent.start(daemon, T)).status).toBe('ok');
    process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    expect(await agent.monitor(daemon, T)).toMatchObject({ status: 'error', state: 'failed', running: false, exitCode: 1 });
    rmSync(pidfile);
  });

  it('maps OCF exit codes of start', async () => {
    expect(await agent.start(cmd('echo boom >&2; exit 1'), T)).toMatchObject({ status: 'error', exitCode: 1, reason: 'exit 1: boom' });
    expect(await agent.start(cmd('exit 2'), T)).toMatchObject({ status: 'errorHard', exitCode: 2 });
    expect(await agent.start(cmd('exit 5'), T)).toMatchObject({ status: 'notInstalled', exitCode: 5 });
    expect(await agent.start(cmd('exit 6'), T)).toMatchObject({ status: 'errorFatal', exitCode: 6 });
    expect(await agent.start(cmd('exit 7'), T)).toMatchObject({ status: 'error', exitCode: 7 });
    expect(await agent.start(cmd('true', 'exit 5'), T)).toMatchObject({ status: 'notInstalled' });
    expect(await agent.monitor(cmd('true', 'exit 8'), T)).toMatchObject({ status: 'ok', role: 'promoted', running: true });
    expect(await agent.monitor(cmd('true', 'exit 9'), T)).toMatchObject({ status: 'error', state: 'failed' });
    expect(await agent.start({ id: 'y', kind: 'exec', params: {} }, T)).toEqual({ status: 'errorFatal', reason: 'resources.y.params.start: missing' });
  });

  it('a command slower than its timeout reports timeout and its whole process group is killed', async () => {
    const marker = join(dir, 'slow.pid');
    const slow = cmd(`sleep 30 & echo $! > ${marker}; wait`);
    const t0 = Date.now();
    const out = await agent.start(slow, { timeoutMs: 400 });
    expect(out.status).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(5000);
    const pid = Number(readFileSync(marker, 'utf8'));
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  });

  it('passes parameters as OCF_RESKEY_* and the instance name', async () => {
    const out = join(dir, 'env.txt');
    const r: ResourceRef = { id: 'db', kind: 'exec', params: { port: '5432', start: `echo "$OCF_RESOURCE_INSTANCE $OCF_RESKEY_port" > ${out}`, stop: 'true' } };
    expect((await agent.start(r, T)).status).toBe('ok');
    expect(readFileSync(out, 'utf8').trim()).toBe('db 5432');
  });
});
