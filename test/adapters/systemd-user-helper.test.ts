// The test helper itself: it must start a real systemd --user confined to its own cgroup, leave the
// test process where it was, and clean up every cgroup and temp file it made.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupLayout, readProcCgroups, startSystemdUser, systemdUserUnavailable, type SystemdUser } from '../helpers/systemd-user.js';

const unavailable = systemdUserUnavailable();
if (unavailable) console.warn(`SKIPPED: systemd --user tests: ${unavailable}`);

describe.skipIf(unavailable !== null)('systemd --user test helper (real systemd)', () => {
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
});
