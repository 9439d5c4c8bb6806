// The microVM driver against a REAL `systemd --user` (test/helpers/systemd-user.ts) running a REAL
// QEMU guest (test/helpers/microvm-image.ts) as `microvm@NAME.service`, the unit microvm.nix
// installs: ExecStart is the hypervisor in the foreground, the serial console goes to a file, and
// the readiness check greps the guest's ready line in it. The guest runs under TCG (software
// emulation; no KVM here), so a boot takes 5 to 10 s: the tests boot as few guests as they can, and
// the paths that need no guest (readyTcp, a crash, a skipped start) run `sleep` in their unit.

import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MicrovmAgent } from '../../src/adapters/microvm/index.js';
import { SystemdAgent } from '../../src/adapters/systemd/index.js';
import type { ResourceRef } from '../../src/ports/resource-agent.js';
import { isLive, skipWithoutSystemd, startSystemdUser, type SystemdUser } from '../helpers/systemd-user.js';
import { MICROVM_READY, microvmImage, microvmUnavailable, type MicrovmImage } from '../helpers/microvm-image.js';

const noVm = microvmUnavailable();
if (noVm && process.env.CI) throw new Error(`CI must run the microVM tests: ${noVm}`);
if (noVm) console.warn(`SKIPPED (not in CI): microVM driver tests: ${noVm}`);
const skip = skipWithoutSystemd('microVM driver tests') || noVm !== null;

/** Start timeout of a real boot: TCG on a shared 2-core machine takes 5 to 12 s. */
const BOOT = { timeoutMs: 60_000 };
const T = { timeoutMs: 10_000 };

function exe(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
  } catch {
    return '';
  }
}

describe.skipIf(skip)('MicrovmAgent: microvm@NAME.service with a real QEMU guest under a real systemd --user', () => {
  let sd: SystemdUser;
  let img: MicrovmImage;
  let agent: MicrovmAgent;
  const serial = (name: string): string => join(sd.root, `microvm-${name}.serial`);
  /** the guest's ready line on its console: the readiness check of these VMs */
  const vm = (name: string, params: Record<string, string> = {}): ResourceRef => ({
    id: `vm-${name}`,
    kind: 'microvm',
    params: { name, readyCommand: `grep -qs ${MICROVM_READY} ${sd.root}/microvm-$MICROVM_NAME.serial`, ...params },
  });

  beforeAll(async () => {
    [sd, img] = await Promise.all([startSystemdUser(), microvmImage()]);
    // The template, as microvm.nix's: the hypervisor in the foreground. ExecStartPre removes the
    // console file of the previous boot, so its ready line cannot be mistaken for this boot's.
    await sd.writeUnit(
      'microvm@.service',
      `[Unit]\nDescription=MicroVM '%i' (QEMU, TCG)\n[Service]\nExecStartPre=/bin/rm -f ${sd.root}/microvm-%i.serial\nExecStart=${img.runSh} ${sd.root}/microvm-%i.serial\n`,
    );
    // A guest that ignores the power-off request: its shutdown waits for the hypervisor to exit, as
    // microvm-shutdown does after asking the guest to power off, and this guest never does.
    await sd.writeUnit(
      'microvm@stubborn.service',
      `[Service]\nExecStart=${img.runSh} ${sd.root}/microvm-stubborn.serial\nExecStop=/bin/sh -c 'while kill -0 $MAINPID; do sleep 0.2; done'\n`,
    );
    // No guest needed: a listener the test controls is the readiness, or the hypervisor crashes.
    await sd.writeUnit('microvm@tcp.service', '[Service]\nExecStart=/bin/sleep infinity\n');
    await sd.writeUnit('microvm@crash.service', '[Service]\nExecStart=/bin/sh -c "sleep 1; exit 3"\n');
    // microvm.nix's unit skips the start on a node without the VM (ConditionPathExists on microvm-run)
    await sd.writeUnit('microvm@absent.service', `[Unit]\nConditionPathExists=${sd.root}/absent/current/bin/microvm-run\n[Service]\nExecStart=/bin/sleep infinity\n`);
    await sd.reload();
    agent = new MicrovmAgent({ busAddress: sd.busAddress });
  }, 300_000);
  afterAll(async () => {
    await agent?.close();
    await sd?.stop();
  });

  it('start waits until the guest is ready; monitor and probe see it; a second start keeps it; stop ends QEMU', async () => {
    const r = vm('vm1');
    expect(await agent.probe(r, T)).toMatchObject({ status: 'ok', state: 'stopped', running: false });
    const t0 = performance.now();
    const started = await agent.start(r, BOOT);
    const bootMs = performance.now() - t0;
    expect(started, JSON.stringify(started)).toMatchObject({ status: 'ok', reason: expect.stringMatching(/^ready after \d+ ms$/) });
    expect(readFileSync(serial('vm1'), 'utf8')).toContain(MICROVM_READY);
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'ok', state: 'running', running: true });
    const p = await agent.probe(r, T);
    expect(p).toMatchObject({ status: 'ok', state: 'running', running: true, role: 'started' });
    const pid = p.mainPid!;
    expect(pid).toBe(Number(await sd.show('microvm@vm1.service', 'MainPID')));
    expect(exe(pid)).toMatch(/qemu-system-x86_64$/);
    expect(await agent.start(r, T)).toMatchObject({ status: 'ok', reason: 'already running and ready' });
    expect((await agent.probe(r, T)).mainPid).toBe(pid);
    const t1 = performance.now();
    expect(await agent.stop(r, T)).toEqual({ status: 'ok' });
    const stopMs = performance.now() - t1;
    expect(isLive(pid)).toBe(false);
    expect(await sd.show('microvm@vm1.service', 'ActiveState')).toBe('inactive');
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'ok', state: 'stopped', running: false });
    expect(await agent.stop(r, T)).toMatchObject({ status: 'ok', reason: 'already stopped' });
    console.log(`[microvm] TCG guest ready ${bootMs.toFixed(0)} ms after the start began; stop (SIGTERM to QEMU) ${stopMs.toFixed(0)} ms`);
  }, 120_000);

  it('a guest that never gets ready: start is a timeout naming the check; monitor is an error with QEMU still running; stop ends it', async () => {
    const r = vm('vm2', { readyCommand: 'grep -qs NEVER-PRINTED /dev/null' });
    const t0 = performance.now();
    const res = await agent.start(r, { timeoutMs: 3000 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2850); // it kept looking until the deadline
    expect(res.status).toBe('timeout');
    expect(res.reason).toMatch(/microvm@vm2\.service: the VM was not ready within the start timeout \(3000 ms\): readyCommand exit 1/);
    const m = await agent.monitor(r, T);
    expect(m).toMatchObject({ status: 'error', state: 'running', running: true });
    expect(m.reason).toMatch(/microvm@vm2\.service active, but the VM is not ready: readyCommand exit 1/);
    const pid = Number(await sd.show('microvm@vm2.service', 'MainPID'));
    expect(exe(pid)).toMatch(/qemu-system-x86_64$/);
    expect(await agent.stop(r, T)).toEqual({ status: 'ok' });
    expect(isLive(pid)).toBe(false);
  }, 60_000);

  it('a guest that ignores the power-off: the stop forces it off before the stop timeout (SIGKILL), and reports ok', async () => {
    const r = vm('stubborn', { readyCommand: 'true' });
    expect(await agent.start(r, BOOT)).toMatchObject({ status: 'ok' });
    const pid = Number(await sd.show('microvm@stubborn.service', 'MainPID'));
    expect(exe(pid)).toMatch(/qemu-system-x86_64$/);
    const t0 = performance.now();
    const res = await agent.stop(r, { timeoutMs: 4000 });
    const ms = performance.now() - t0;
    expect(res).toEqual({ status: 'ok', reason: 'forced off (SIGKILL): the graceful shutdown did not end within 3000 ms' });
    expect(ms).toBeGreaterThanOrEqual(3000);
    expect(ms).toBeLessThan(4000);
    expect(isLive(pid)).toBe(false);
    expect(await sd.show('microvm@stubborn.service', 'ActiveState')).toBe('inactive');
  }, 60_000);

  it('readyTcp: start waits for the guest address to accept a connection; monitor fails once it refuses', async () => {
    let server: Server | null = null;
    const port = 20000 + (process.pid % 20000);
    const r: ResourceRef = { id: 'vm-tcp', kind: 'microvm', params: { name: 'tcp', readyTcp: `127.0.0.1:${port}` } };
    const listen = (): Promise<void> =>
      new Promise((ok) => {
        server = createServer((s) => s.destroy()).listen(port, '127.0.0.1', ok);
      });
    setTimeout(() => void listen(), 1000);
    const t0 = performance.now();
    expect(await agent.start(r, T)).toMatchObject({ status: 'ok' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'ok', running: true });
    await new Promise<void>((ok) => server!.close(() => ok()));
    const m = await agent.monitor(r, T);
    expect(m).toMatchObject({ status: 'error', state: 'running', running: true, reason: `microvm@tcp.service active, but the VM is not ready: readyTcp 127.0.0.1:${port}: connection refused` });
    expect(await agent.stop(r, T)).toEqual({ status: 'ok' });
  });

  it('a hypervisor that exits while start waits for readiness: error with the unit\'s result, not a timeout', async () => {
    const res = await agent.start({ id: 'vm-crash', kind: 'microvm', params: { name: 'crash', readyCommand: 'false' } }, T);
    expect(res.status).toBe('error');
    expect(res.reason).toMatch(/^microvm@crash\.service failed \(Result=exit-code\) while waiting for the VM to be ready; last check: readyCommand exit 1/);
    expect(await agent.stop({ id: 'vm-crash', kind: 'microvm', params: { name: 'crash' } }, T)).toMatchObject({ status: 'ok' });
    expect(await sd.show('microvm@crash.service', 'ActiveState')).toBe('inactive');
  });

  it('a VM not installed on this node (the unit\'s condition skips the start) is notInstalled; an invalid name errorFatal', async () => {
    const res = await agent.start({ id: 'vm-absent', kind: 'microvm', params: { name: 'absent' } }, T);
    expect(res).toMatchObject({ status: 'notInstalled', reason: expect.stringContaining('a condition of the unit failed (microvm.nix: the VM absent is not installed on this node)') });
    expect(await agent.start({ id: 'x', kind: 'microvm', params: { name: '../etc' } }, T)).toMatchObject({ status: 'errorFatal', reason: 'resources.x.params.name: invalid microvm name "../etc"' });
    expect(await agent.start({ id: 'x', kind: 'microvm', params: {} }, T)).toMatchObject({ status: 'errorFatal', reason: 'resources.x.params.name: missing' });
  });

  it('shares the systemd driver\'s D-Bus connection: one per bus address', async () => {
    const units = new SystemdAgent({ busAddress: sd.busAddress });
    try {
      expect(units.diagnostics.connections).toBe(1);
      expect(agent.units.diagnostics).toMatchObject({ connections: 1, pendingWaiters: 0, rememberedJobs: 0 });
    } finally {
      await units.close();
    }
  });
});
