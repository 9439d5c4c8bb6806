// The test helper itself: it must start a real systemd --user confined to its own cgroup, leave the
// test process where it was, and clean up every cgroup and temp file it made.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupPids, detectCgroupLayout, isLive, readProcCgroups, startSystemdUser, skipWithoutSystemd, type SystemdUser } from '../helpers/systemd-user.js';

const skip = skipWithoutSystemd('systemd --user tests');

describe.skipIf(skip)('systemd --user test helper (real systemd)', () => {
  let sd: SystemdUser;
  const before = readProcCgroups('self');

  beforeAll(async () => {
    sd = await startSystemdUser();
  });
  afterAll(async () => {
    await sd?.stop();
  });

  it('confines systemd to its own sub-cgroup and leaves the test process where it was', () => {
    const cgs = readProcCgroups(sd.pid);
    for (const kind of detectCgroupLayout().kinds) {
      expect(cgs.get(kind)?.startsWith(`/${sd.cgroup}`)).toBe(true);
    }
    expect(readProcCgroups('self')).toEqual(before);
  });

  it('runs a unit written by writeUnit after reload, inside its cgroup', async () => {
    await sd.writeUnit('tsha-sd-helper.service', '[Service]\nExecStart=/bin/sleep infinity\n');
    await sd.reload();
    expect((await sd.systemctl('start', 'tsha-sd-helper.service')).code).toBe(0);
    expect(await sd.show('tsha-sd-helper.service', 'ActiveState')).toBe('active');
    const mainPid = Number(await sd.show('tsha-sd-helper.service', 'MainPID'));
    expect(mainPid).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${mainPid}/cgroup`, 'utf8')).toContain(`/${sd.cgroup}/`);
  });

  it('stop() ends the manager and its units and removes cgroups and temp dir', async () => {
    const mainPid = Number(await sd.show('tsha-sd-helper.service', 'MainPID'));
    const { pid, cgroup, root } = sd;
    await sd.stop();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(`/proc/${mainPid}`)).toBe(false);
    for (const r of detectCgroupLayout().roots) expect(existsSync(join(r, cgroup))).toBe(false);
    expect(existsSync(root)).toBe(false);
  });

  it('a test process that dies takes its systemd with it, and the next start sweeps the stale cgroup', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/systemd-user-orphan.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise((r) => child.on('close', r));
    let orphan: { pid: number; cgroup: string; root: string };
    let procs: number[];
    try {
      for (let i = 0; i < 600 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
      orphan = JSON.parse(out) as { pid: number; cgroup: string; root: string };
      procs = cgroupPids(orphan.cgroup);
      expect(procs).toContain(orphan.pid);
      expect(procs.length).toBeGreaterThan(1); // systemd and its bus daemon
    } finally {
      child.kill('SIGKILL'); // the "vitest worker" crashes without any cleanup
      await closed;
    }
    const roots = detectCgroupLayout().roots;
    for (let i = 0; i < 100 && isLive(orphan.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(isLive(orphan.pid)).toBe(false); // PR_SET_PDEATHSIG killed the manager
    const next = await startSystemdUser(); // sweeps tsha-sd-<dead pid>-* cgroups and their leftovers
    try {
      for (const r of roots) expect(existsSync(join(r, orphan.cgroup))).toBe(false);
      expect(existsSync(orphan.root)).toBe(false);
      for (const p of procs) expect(isLive(p)).toBe(false);
    } finally {
      await next.stop();
    }
  });
});

