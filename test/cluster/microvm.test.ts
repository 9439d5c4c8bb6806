// A microVM resource (kind "microvm") on the real-cluster harness: `tsha agent` (built dist/) per
// namespaced node, each node's own `systemd --user` running `microvm@vm1.service` as microvm.nix
// installs it (the hypervisor in the foreground), and the hypervisor a REAL QEMU guest
// (test/helpers/microvm-image.ts) under TCG, QEMU's software emulation: no KVM here, so a boot
// takes 10 to 20 s on this machine, and the three scenarios share one cluster to boot as few
// guests as they can (three in all). The readiness check greps the guest's ready line in its serial
// console file. Fence device: scripts/fence_tsha_test (the harness's stand-in for a power switch).
//
// One active copy is checked from outside two ways, all the time: the unit's ActiveState on every
// node over D-Bus (20 ms), and the QEMU processes themselves (/proc, 100 ms).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, sleep, type Cluster, type ClusterNode, type Timeline } from './harness.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';
import { MICROVM_READY, microvmImage, microvmUnavailable, type MicrovmImage } from '../helpers/microvm-image.js';

const pre = clusterPrerequisites();
const noVm = microvmUnavailable();
if ((!pre.ok || noVm) && process.env.CI === 'true') throw new Error(`CI must run the microVM cluster tests; missing: ${[...pre.missing, ...(noVm ? [noVm] : [])].join(', ')}`);
if (!pre.ok || noVm) console.warn(`skipping microVM cluster tests, missing: ${[...pre.missing, ...(noVm ? [noVm] : [])].join(', ')}`);

const VM = 'vm1';
const UNIT = `microvm@${VM}.service`;
const FORM_MS = 30_000;
/** a TCG boot on a loaded 2-core machine: 10 to 20 s seen; the start timeout leaves room for more */
const START_TIMEOUT_MS = 90_000;
const VM_WAIT_MS = 120_000;

/** QEMU processes of this cluster's VM per node, sampled from /proc (outside every namespace). */
class QemuSampler {
  readonly ticks: { t: number; byNode: Record<string, number[]> }[] = [];
  private timer: NodeJS.Timeout;
  constructor(private readonly serialDir: string) {
    this.timer = setInterval(() => this.ticks.push({ t: now(), byNode: this.read() }), 100);
  }

  read(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      let argv: string[];
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
        argv = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (!argv[0]?.endsWith('qemu-system-x86_64')) continue;
      const serial = argv.find((a) => a.startsWith(`file:${this.serialDir}/`));
      const m = serial && /\/([^/]+)-[^/]+\.serial$/.exec(serial);
      if (m) (out[m[1]!] ??= []).push(Number(e));
    }
    return out;
  }

  /** ticks where QEMU ran on more than one node */
  twoCopies(): { t: number; byNode: Record<string, number[]> }[] {
    return this.ticks.filter((k) => Object.values(k.byNode).filter((p) => p.length > 0).length > 1 || Object.values(k.byNode).some((p) => p.length > 1));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

describe.skipIf(!pre.ok || noVm !== null)('microVM resource on the real-cluster harness (real QEMU under TCG)', () => {
  let c: Cluster | undefined;
  let t: TshaCluster;
  let img: MicrovmImage;
  let serialDir: string;
  let qemu: QemuSampler;
  const serial = (n: ClusterNode | string): string => path.join(serialDir, `${typeof n === 'string' ? n : n.name}-${VM}.serial`);

  beforeAll(async () => {
    ensureBuilt();
    img = await microvmImage();
    c = await createCluster({ nodes: 3 });
    serialDir = path.join(c.dir, 'serial');
    fs.mkdirSync(serialDir, { recursive: true });
    t = new TshaCluster(c, {
      unit: UNIT,
      resourceId: VM,
      primitive: {
        kind: 'microvm',
        // TSHA_NODE and MICROVM_NAME are in the check's environment: each node's own console file
        params: { name: VM, readyCommand: `grep -qs ${MICROVM_READY} ${serialDir}/$TSHA_NODE-$MICROVM_NAME.serial` },
        operations: { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: START_TIMEOUT_MS }, stop: { timeoutMs: 20_000 } },
      },
    });
    // microvm.nix's unit, per node: the hypervisor in the foreground, its console in a file of its
    // own (removed before each boot, so an old ready line is never taken for a new one).
    // QEMU's scheduler group gets nice 5 (/proc/self/autogroup, before the exec): a TCG boot burns a
    // whole core for 10-20 s, which a KVM guest would not, and here the three "machines" share one
    // host. As a systemd service QEMU has an autogroup of its own, while every agent and
    // wireguard-go of the cluster share the test session's one; at equal weight a booting guest
    // took so much of the cluster's CPU that messages between the agents arrived 170-310 ms late
    // and the guest's node was declared lost (500 ms failure timeout) and fenced, twice in two runs.
    for (const n of c.nodes) {
      const serialFile = `${serialDir}/${n.name}-%i.serial`;
      n.writeUnit(
        'microvm@.service',
        `[Unit]\nDescription=MicroVM '%i' (QEMU, TCG)\n[Service]\nExecStartPre=/bin/rm -f ${serialFile}\nExecStart=/bin/sh -c 'echo 5 > /proc/self/autogroup && exec ${img.runSh} ${serialFile}'\n`,
      );
    }
    await Promise.all(c.nodes.map((n) => n.daemonReload()));
    qemu = new QemuSampler(serialDir);
    t.startAll();
    await t.waitQuorate(FORM_MS);
  }, 300_000);

  afterAll(async () => {
    qemu?.stop();
    // TSHA_ITEST_LOGS=DIR keeps every node's logs (agents, systemd) for a look after the run
    if (c && process.env.TSHA_ITEST_LOGS) for (const n of c.nodes) fs.cpSync(n.logDir, path.join(process.env.TSHA_ITEST_LOGS, n.name), { recursive: true });
    await c?.destroy();
  }, 60_000);

  /** Every node powered and its agent in the quorate partition (a scenario may have fenced one). */
  async function allUp(): Promise<void> {
    for (const n of c!.nodes.filter((x) => x.power === 'down')) {
      await c!.powerOn(n);
      t.startAgent(n);
    }
    await t.waitQuorate(FORM_MS);
  }

  /** The agent log lines of a node that mention the VM (kept across its power loss). */
  function vmLog(n: ClusterNode): string[] {
    return fs.readFileSync(path.join(n.logDir, 'agent.log'), 'utf8').split('\n').filter((l) => l.includes(`"resource":"${VM}"`));
  }

  /** The node the VM runs on once it is active there, ready (its console has the ready line), and the placement is steady. */
  async function readyHolder(): Promise<ClusterNode> {
    const holder = await t.waitHolder(VM_WAIT_MS);
    await t.waitFor(`${VM} ready on ${holder.name}`, async () => fs.existsSync(serial(holder)) && fs.readFileSync(serial(holder), 'utf8').includes(MICROVM_READY), VM_WAIT_MS, 500);
    await t.waitBackWithResource(holder, VM_WAIT_MS); // the start action finished (readiness passed)
    return holder;
  }

  function noOverlap(tl: Timeline): void {
    expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
    expect(qemu.twoCopies(), 'QEMU never ran on two nodes').toEqual([]);
  }

  it('boots the VM on one node; an agent restart (SIGTERM) re-adopts it: same QEMU process, never stopped, nothing fenced', async () => {
    const t0 = now();
    const holder = await readyHolder();
    const bootMs = now() - t0;
    const pid = await t.mainPid(holder);
    expect(qemu.read()).toEqual({ [holder.name]: [pid] });
    const s = c!.sampleUnits(UNIT);
    const agent = t.agents.get(holder.name)!;
    agent.kill('SIGTERM');
    await agent.exited;
    t.startAgent(holder);
    await t.waitBackWithResource(holder, FORM_MS);
    await sleep(3000); // several monitor intervals: the re-adopted VM is monitored, and stays
    const tl = await s.stop();
    expect(await t.mainPid(holder)).toBe(pid);
    expect(qemu.read()).toEqual({ [holder.name]: [pid] });
    expect(tl.ticks.every((k) => k.states[holder.name] === 'active')).toBe(true);
    expect(c!.fenceLog).toEqual([]);
    noOverlap(tl);
    // the restarted agent's probe found it running, ready, with the same QEMU process
    expect(t.agents.get(holder.name)!.output()).toContain(`"resource":"${VM}","state":"running","running":true,"role":"started","status":"ok","mainPid":${pid}`);
    console.log(`[itest microvm] first boot: ${VM} active and ready on ${holder.name} ${bootMs.toFixed(0)} ms after quorum; agent restart kept QEMU ${pid}`);
  }, 300_000);

  it('the guest stops being ready (its ready line gone): the monitor fails and the failure policy (restart) boots it again, one copy', async () => {
    await allUp();
    const holder = await readyHolder();
    const pid = await t.mainPid(holder);
    const fencesBefore = c!.fenceLog.length;
    const s = c!.sampleUnits(UNIT);
    const failedAt = now();
    fs.truncateSync(serial(holder)); // the readiness check no longer passes
    await t.waitFor('a new QEMU process, ready', async () => {
      const running = Object.entries(qemu.read());
      if (running.length !== 1 || running[0]![1].length !== 1 || running[0]![1][0] === pid) return false;
      const f = serial(running[0]![0]);
      return fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes(MICROVM_READY);
    }, VM_WAIT_MS, 500);
    const recoveredMs = now() - failedAt;
    const after = await readyHolder();
    await sleep(2000);
    const tl = await s.stop();
    noOverlap(tl);
    // the holder's monitor reported it, and the recovery was the resource's stop + start, no fencing
    expect(vmLog(holder).some((l) => l.includes('"msg":"monitor failed"') && l.includes('microvm@vm1.service active, but the VM is not ready: readyCommand exit 1'))).toBe(true);
    expect(vmLog(holder).some((l) => l.includes('"operation":"stop"') && l.includes('"msg":"stop ok"'))).toBe(true);
    expect(c!.fenceLog.slice(fencesBefore), JSON.stringify(c!.fenceLog)).toEqual([]);
    console.log(`[itest microvm] readiness lost on ${holder.name} → restarted by the on-fail policy on ${after.name}, ready again after ${recoveredMs.toFixed(0)} ms`);
  }, 300_000);

  it('holder power loss: fenced, the VM boots on a survivor; never two copies (unit states and QEMU processes)', async () => {
    await allUp();
    const holder = await readyHolder();
    const s = c!.sampleUnits(UNIT);
    const { t: faultT } = await c!.powerLoss(holder);
    await s.waitUntil('the VM active on a survivor', (k) => c!.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), VM_WAIT_MS);
    const after = await readyHolder();
    expect(after).not.toBe(holder);
    const readyMs = now() - faultT;
    await sleep(2000);
    const tl = await s.stop();
    noOverlap(tl);
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    expect(first?.node).toBe(after.name);
    expect(c!.fenceLog.some((e) => e.action === 'off' && e.plug === holder.name)).toBe(true);
    expect(Object.keys(qemu.read())).toEqual([after.name]);
    console.log(`[itest microvm] ${holder.name} powered off → ${UNIT} active on ${after.name} after ${first!.ms.toFixed(0)} ms, guest ready after ${readyMs.toFixed(0)} ms`);
  }, 300_000);
});
