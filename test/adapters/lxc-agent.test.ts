// The LXC resource agent against REAL containers (test/helpers/lxc.ts: busybox rootfs, no network),
// in a private lxcpath per test file, through the real LXC tools.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LxcAgent } from '../../src/adapters/lxc/index.js';
import type { ResourceRef } from '../../src/ports/resource-agent.js';
import { cgroupRoots, createCgroup, enterCgroupArgv, killCgroup, removeCgroup } from '../cluster/cgroup.js';
import { containerInfo, createContainer, destroyContainers, hostRunner, removeLxcCgroups, skipWithoutLxc } from '../helpers/lxc.js';

const skip = skipWithoutLxc('LXC agent tests');

const T = { timeoutMs: 10_000 };
/** Names unique to this process: LXC's cgroups (/lxc.payload.NAME) are machine-wide. */
const tag = `tl${process.pid}`;
const names = { plain: `${tag}-plain`, stubborn: `${tag}-stubborn`, health: `${tag}-health`, slowInit: `${tag}-slowinit`, frozen: `${tag}-frozen`, svc: `${tag}-svc`, inside: `${tag}-inside`, bad: `${tag}-bad` };
let lxcPath = '';
let logDir = '';
let agent: LxcAgent;
const res = (name: string, params: Record<string, string> = {}): ResourceRef => ({ id: name, kind: 'lxc', params: { name, configPath: lxcPath, ...params } });
const alive = (pid: number): boolean => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)('LxcAgent with real containers', () => {
  beforeAll(async () => {
    lxcPath = mkdtempSync(join(tmpdir(), 'tsha-lxc-'));
    logDir = join(lxcPath, '.logs');
    agent = new LxcAgent({ logDir });
    await Promise.all([
      createContainer(lxcPath, names.plain),
      // init is a plain sleep: it has no handler for lxc.signal.halt, so no clean shutdown ever ends
      createContainer(lxcPath, names.stubborn, ['lxc.init.cmd = /bin/sleep 100000']),
      createContainer(lxcPath, names.health),
      createContainer(lxcPath, names.slowInit, ['lxc.init.cmd = /sbin/slowinit']),
      createContainer(lxcPath, names.frozen),
      createContainer(lxcPath, names.svc),
      createContainer(lxcPath, names.inside),
    ]);
    writeFileSync(join(lxcPath, names.slowInit, 'rootfs/sbin/slowinit'), '#!/bin/sh\nsleep 1\nexec /sbin/init\n', { mode: 0o755 });
  }, 60_000);

  afterAll(async () => {
    if (!lxcPath) return;
    const problems = await destroyContainers(lxcPath);
    const left = removeLxcCgroups(Object.values(names));
    rmSync(lxcPath, { recursive: true, force: true });
    expect([...problems, ...left]).toEqual([]);
  }, 60_000);

  it('starts a container, monitors it, does not start it twice, stops it cleanly, and a stopped one again', async () => {
    const r = res(names.plain);
    expect(await agent.probe(r, T)).toMatchObject({ status: 'ok', state: 'stopped', running: false });
    const t0 = performance.now();
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    const startMs = performance.now() - t0;
    const { state, pid } = await containerInfo(lxcPath, names.plain);
    expect(state).toBe('RUNNING');
    expect(alive(pid!)).toBe(true);
    expect(await agent.monitor(r, T)).toEqual({ status: 'ok', state: 'running', running: true, role: 'started', mainPid: pid });
    expect(await agent.start(r, T)).toEqual({ status: 'ok', reason: 'already running' });
    expect(await agent.probe(r, T)).toMatchObject({ status: 'ok', running: true, mainPid: pid }); // the same init: kept
    const t1 = performance.now();
    expect(await agent.stop(r, T)).toEqual({ status: 'ok' }); // busybox init halts on SIGUSR1 (lxc.signal.halt)
    const stopMs = performance.now() - t1;
    expect(alive(pid!)).toBe(false);
    expect(await agent.stop(r, T)).toEqual({ status: 'ok', reason: 'already stopped' });
    expect(await agent.monitor(r, T)).toEqual({ status: 'ok', state: 'stopped', running: false });
    console.log(`[lxc] start ${startMs.toFixed(0)} ms, clean stop ${stopMs.toFixed(0)} ms`);
  });

  it('a container killed from outside is stopped to the monitor (not running), and starts again', async () => {
    const r = res(names.plain);
    expect((await agent.start(r, T)).status).toBe('ok');
    const { pid } = await containerInfo(lxcPath, names.plain);
    process.kill(pid!, 'SIGKILL');
    for (let i = 0; i < 50 && (await containerInfo(lxcPath, names.plain)).state !== 'STOPPED'; i++) await sleep(20);
    expect(await agent.monitor(r, T)).toEqual({ status: 'ok', state: 'stopped', running: false });
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    expect((await containerInfo(lxcPath, names.plain)).pid).not.toBe(pid);
    expect((await agent.stop(r, T)).status).toBe('ok');
  });

  it('a stop before init has its halt handler is still a clean shutdown: the halt signal is sent again every second', async () => {
    // PID 1 of the container is a shell for its first second (it ignores SIGUSR1, having no
    // handler), then busybox's init: the first halt signal is lost, a later one stops it
    const r = res(names.slowInit);
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    const t0 = performance.now();
    expect(await agent.stop(r, T)).toEqual({ status: 'ok' }); // not "killed: …" after the 8 s grace
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(6000);
    console.log(`[lxc] clean stop of a container whose init took a second to start: ${ms.toFixed(0)} ms`);
  });

  it('stop: a container that ignores the halt signal is killed once the clean shutdown has had the timeout less the kill reserve', async () => {
    const r = res(names.stubborn);
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    const { pid } = await containerInfo(lxcPath, names.stubborn);
    const t0 = performance.now();
    const stopped = await agent.stop(r, { timeoutMs: 3000 }); // 1500 ms clean (half, as the 2000 ms reserve exceeds it), then the kill
    const ms = performance.now() - t0;
    expect(stopped).toMatchObject({ status: 'ok', reason: expect.stringMatching(/^killed: no clean shutdown within 1[45]\d\d ms$/) });
    expect(ms).toBeGreaterThanOrEqual(1400);
    expect(ms).toBeLessThan(3000);
    expect(alive(pid!)).toBe(false);
    expect((await containerInfo(lxcPath, names.stubborn)).state).toBe('STOPPED');
    console.log(`[lxc] stop with kill after the clean-shutdown grace: ${ms.toFixed(0)} ms`);
  });

  it('monitor runs the health command inside the container: a failure is an error of a running container; probe does not run it', async () => {
    const r = res(names.health, { healthCommand: 'test -e /tmp/healthy || { echo "no /tmp/healthy" >&2; exit 3; }' });
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    const { pid } = await containerInfo(lxcPath, names.health);
    expect(await agent.monitor(r, T)).toEqual({ status: 'error', state: 'running', running: true, exitCode: 3, reason: 'health command failed (exit 3): no /tmp/healthy', mainPid: pid });
    expect(await agent.probe(r, T)).toMatchObject({ status: 'ok', state: 'running', running: true, mainPid: pid });
    const touch = await hostRunner(['lxc-attach', '-P', lxcPath, '-n', names.health, '--', '/bin/touch', '/tmp/healthy']);
    expect(touch.code).toBe(0);
    expect(await agent.monitor(r, T)).toEqual({ status: 'ok', state: 'running', running: true, role: 'started', mainPid: pid });
    // the command runs in the container (its own /tmp), not on the host
    expect(await agent.monitor(res(names.health, { healthCommand: `test ! -e ${lxcPath}` }), T)).toMatchObject({ status: 'ok' });
    // a command that overruns the monitor's timeout
    const t0 = performance.now();
    expect(await agent.monitor(res(names.health, { healthCommand: 'sleep 5' }), { timeoutMs: 500 })).toMatchObject({ status: 'timeout', state: 'running', running: true });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect((await agent.stop(r, T)).status).toBe('ok');
  });

  it('a frozen container is an error of a running container; stop thaws it and stops it', async () => {
    const r = res(names.frozen);
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    expect((await hostRunner(['lxc-freeze', '-P', lxcPath, '-n', names.frozen])).code).toBe(0);
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'error', state: 'running', running: true, reason: expect.stringContaining('is FROZEN') });
    expect(await agent.start(r, T)).toMatchObject({ status: 'error', reason: expect.stringContaining('FROZEN') });
    expect((await agent.stop(r, T)).status).toBe('ok');
    expect((await containerInfo(lxcPath, names.frozen)).state).toBe('STOPPED');
  });

  it('a container that is not defined is notInstalled (stop: ok); a config LXC cannot load is errorHard; bad params are errorFatal', async () => {
    const r = res(`${tag}-nothere`);
    expect(await agent.start(r, T)).toEqual({ status: 'notInstalled', reason: `container ${tag}-nothere is not defined in ${lxcPath}` });
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'notInstalled', state: 'stopped', running: false });
    expect(await agent.probe(r, T)).toMatchObject({ status: 'notInstalled', running: false });
    expect(await agent.stop(r, T)).toEqual({ status: 'ok', reason: 'not installed' });
    expect(await agent.start(res('x', { configPath: join(lxcPath, 'no-such-dir') }), T)).toMatchObject({ status: 'notInstalled' });

    // a config file with a key LXC does not know
    const bad = join(lxcPath, names.bad);
    await hostRunner(['mkdir', '-p', bad]);
    await hostRunner(['sh', '-c', `printf 'lxc.net.0.type = empty\\nlxc.no.such.key = 1\\n' > ${bad}/config`]);
    expect(await agent.start(res(names.bad), T)).toMatchObject({ status: 'errorHard', reason: expect.stringContaining('Failed to load config') });
    expect(await agent.monitor(res(names.bad), T)).toMatchObject({ status: 'errorHard', state: 'stopped', running: false });
    expect(await agent.stop(res(names.bad), T)).toMatchObject({ status: 'ok' });
    rmSync(bad, { recursive: true, force: true });

    expect(await agent.start({ id: 'c', kind: 'lxc', params: {} }, T)).toEqual({ status: 'errorFatal', reason: 'resources.c.params.name: missing' });
    expect(await agent.monitor(res('c', { configPath: 'rel' }), T)).toMatchObject({ status: 'errorFatal', reason: 'resources.c.params.configPath: "rel" is not an absolute path' });
  });

  it('a running container whose config LXC can no longer load is not taken for stopped: its monitor still listens', async () => {
    const r = res(names.plain);
    expect(await agent.start(r, T)).toEqual({ status: 'ok' });
    const config = join(lxcPath, names.plain, 'config');
    const good = readFileSync(config, 'utf8');
    // removed while it runs: LXC still asks the monitor, which answers
    await hostRunner(['mv', config, `${config}.aside`]);
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'ok', state: 'running', running: true });
    await hostRunner(['mv', `${config}.aside`, config]);
    // an edit LXC refuses: it cannot even ask, so the monitor's command socket says it may run
    writeFileSync(config, `${good}lxc.no.such.key = 1\n`);
    try {
      expect(await agent.monitor(r, T)).toMatchObject({ status: 'errorHard', state: 'running', running: true, reason: expect.stringContaining('its monitor still runs') });
      expect(await agent.probe(r, T)).toMatchObject({ running: true });
      expect(await agent.stop(r, T)).toMatchObject({ status: 'errorHard', reason: expect.stringContaining('cannot stop') });
    } finally {
      writeFileSync(config, good);
    }
    expect(await agent.stop(r, T)).toEqual({ status: 'ok' });
  });

  it('a start that fails says why from the start log (a rootfs that is gone): error, and the container stays stopped', async () => {
    const r = res(names.plain);
    const rootfs = join(lxcPath, names.plain, 'rootfs');
    const aside = `${rootfs}.aside`;
    await hostRunner(['mv', rootfs, aside]);
    try {
      expect(await agent.start(r, T)).toMatchObject({ status: 'error', reason: expect.stringContaining('Failed to open') });
      expect(readFileSync(join(logDir, `${names.plain}.log`), 'utf8')).toContain('rootfs');
      expect((await containerInfo(lxcPath, names.plain)).state).toBe('STOPPED');
    } finally {
      await hostRunner(['mv', aside, rootfs]);
    }
  });

  /** Runs lxc-start-child.ts (the stand-in agent) in cgroup `cg` and returns its start result and the child. */
  async function startFromCgroup(cg: string, name: string): Promise<{ result: unknown; child: ReturnType<typeof spawn> }> {
    const argv = enterCgroupArgv(cg, [process.execPath, '--import', 'tsx', join(import.meta.dirname, '../helpers/lxc-start-child.ts'), lxcPath, name]);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`start child exited ${code} before reporting`)));
    });
    return { result: JSON.parse(line), child };
  }

  it('a container found in the agent\'s cgroup (lxc.cgroup.relative = 1, started by someone else) is errorHard', async () => {
    const cg = `tsha-lxc-in-${process.pid}`;
    createCgroup(cg);
    try {
      const started = await hostRunner(enterCgroupArgv(cg, ['lxc-start', '-P', lxcPath, '-n', names.inside, '-d', '-s', 'lxc.cgroup.relative=1']));
      expect(started.code).toBe(0);
      const { pid } = await containerInfo(lxcPath, names.inside);
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`0::/${cg}/lxc.payload.${names.inside}`);
      const { result, child } = await startFromCgroup(cg, names.inside);
      child.kill('SIGKILL');
      expect(result).toMatchObject({ status: 'errorHard', reason: expect.stringMatching(/runs in the agent's cgroup .*stopping or restarting the agent would kill it/) });
      expect((await agent.stop(res(names.inside), T)).status).toBe('ok');
    } finally {
      await killCgroup(cg).catch(() => undefined);
      for (let i = 0; i < 50 && removeCgroup(cg).length > 0; i++) await sleep(20);
    }
  }, 30_000);

  it('a container started from a service cgroup leaves it: killing that whole cgroup (systemctl stop) leaves the container running', async () => {
    const cg = `tsha-lxc-svc-${process.pid}`;
    createCgroup(cg);
    try {
      // the stand-in agent: a process in the service's cgroup (RECIPES.md §0: checked before it runs)
      const { result, child } = await startFromCgroup(cg, names.svc);
      expect(result).toEqual({ status: 'ok' });
      const { state, pid } = await containerInfo(lxcPath, names.svc);
      expect(state).toBe('RUNNING');
      const inService = (p: number) => readFileSync(`/proc/${p}/cgroup`, 'utf8').split('\n').filter((l) => l.endsWith(`/${cg}`) || l.includes(`/${cg}/`));
      const monitor = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(inService(pid!)).toEqual([]);
      expect(inService(monitor)).toEqual([]);
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toMatch(new RegExp(`^0::/lxc\\.payload\\.${names.svc}$`, 'm'));

      await killCgroup(cg); // every process of the "service"
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      await sleep(200);
      expect(await containerInfo(lxcPath, names.svc)).toEqual({ state: 'RUNNING', pid });
      expect(alive(monitor)).toBe(true);
      // and a new agent re-adopts it as it is
      expect(await agent.probe(res(names.svc), T)).toMatchObject({ status: 'ok', running: true, mainPid: pid });
      expect(await agent.start(res(names.svc), T)).toEqual({ status: 'ok', reason: 'already running' });
      expect((await agent.stop(res(names.svc), T)).status).toBe('ok');
    } finally {
      await killCgroup(cg).catch(() => undefined);
      for (let i = 0; i < 50 && removeCgroup(cg).length > 0; i++) await sleep(20);
      expect(cgroupRoots().length).toBeGreaterThan(0);
    }
  }, 30_000);
});
