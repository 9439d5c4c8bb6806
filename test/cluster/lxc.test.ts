// The real agent running an LXC container as its resource, on the real-cluster harness: `tsha
// agent` (built dist/) per namespaced node, one busybox container (no network) of the same name in
// every node's own /var/lib/lxc (test/cluster/lxc.ts), the test fence agent as the fence device.
// The container's state is sampled from outside with `lxc-info -s` in each node's lxcpath every
// 50 ms. Safety is asserted strictly (no sampled instant with two running copies); liveness within
// generous bounds; times are printed.

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStale, clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, run, samplingStats, sleep, type Cluster, type ClusterNode, type Timeline } from './harness.js';
import { allHierarchies } from './cgroup.js';
import { lxcMonitors, type ContainerSampler } from './lxc.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';
import { BASE_CONFIG, lxcPrerequisites } from '../helpers/lxc.js';

const pre = clusterPrerequisites();
const lxc = lxcPrerequisites();
const missing = [...pre.missing, ...lxc.missing];
if (missing.length && process.env.CI === 'true') throw new Error(`CI must run the LXC cluster tests; missing: ${missing.join(', ')}`);
if (missing.length) console.warn(`skipping LXC cluster tests, missing: ${missing.join(', ')}`);

const LIVENESS_MS = 15_000;
const FORM_MS = 30_000;

function overlapReport(tl: Timeline): string {
  const ov = overlap(tl);
  const around = tl.ticks.filter((k) => ov.intervals.some((iv) => k.t >= iv.from - 200 && k.t <= iv.to + 200));
  return `${JSON.stringify(ov.intervals)}\n${around.map((k) => `${Math.round(k.t)} ${JSON.stringify(k.states)}`).join('\n')}`;
}

/** Where a process is, per hierarchy line of /proc/PID/cgroup. */
function cgroupsOf(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
}

describe.skipIf(missing.length > 0)('tsha agents running an LXC container on the real-cluster harness', () => {
  let c: Cluster | undefined;
  beforeAll(() => {
    ensureBuilt();
  }, 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  /**
   * Three nodes, each with its own copy of container `<prefix>-ct` (lxc-create inside the node, so
   * in its own /var/lib/lxc), the resource `ct` of kind lxc with the health command given.
   */
  async function up(healthCommand?: string): Promise<{ c: Cluster; t: TshaCluster; name: string }> {
    c = await createCluster({ nodes: 3 });
    const cl = c;
    const name = `${cl.prefix}-ct`;
    await Promise.all(
      cl.nodes.map(async (n) => {
        const r = await n.exec(['sh', '-c', `printf '%s\\n' "$@" > /var/lib/lxc/base.conf && lxc-create -n ${name} -f /var/lib/lxc/base.conf -t busybox`, 'sh', ...BASE_CONFIG]);
        if (r.code !== 0) throw new Error(`lxc-create on ${n.name}: ${r.stderr}`);
        expect(fs.existsSync(`${n.lxcDir}/${name}/config`)).toBe(true); // on the node's own disk
      }),
    );
    const t = new TshaCluster(cl, { resourceId: 'ct', primitive: { kind: 'lxc', params: { name, ...(healthCommand ? { healthCommand } : {}) } } });
    t.startAll();
    await t.waitQuorate(FORM_MS);
    return { c: cl, t, name };
  }

  /** The node the container runs on steadily (every tick of the last second, one node, RUNNING). */
  async function stableHolder(cl: Cluster, s: ContainerSampler): Promise<ClusterNode> {
    const tick = await s.waitUntil('the container steadily on one node', (k) => {
      const win = s.timeline().ticks.filter((x) => x.t >= k.t - 1000 && x.t <= k.t);
      if (win.length < 10 || k.t - win[0]!.t < 900) return false;
      const holders = new Set(win.map((x) => Object.entries(x.states).filter(([, st]) => st !== 'inactive' && st !== 'down').map(([n, st]) => `${n}:${st}`).join()));
      return holders.size === 1 && /^n\d:active$/.test([...holders][0]!);
    }, LIVENESS_MS + 5000);
    const name = Object.entries(tick.states).find(([, st]) => st === 'active')![0];
    return cl.node(name);
  }

  /** The container's init PID on a node (lxc-info -p inside it). */
  async function initPid(n: ClusterNode, name: string): Promise<number | null> {
    const r = await n.exec(['lxc-info', '-n', name, '-p', '-H']);
    return r.code === 0 && /^\d+$/.test(r.stdout.trim()) ? Number(r.stdout.trim()) : null;
  }

  it('holder power loss: the container dies with the node and runs on a survivor, never on two nodes; the node comes back without a second copy', async () => {
    const { c, t, name } = await up();
    const s = c.sampleContainers(name);
    const holder = await stableHolder(c, s);
    const pid = (await initPid(holder, name))!;
    expect(pid).toBeGreaterThan(0);
    const { t: faultT, goneAt } = await c.powerLoss(holder);
    expect(fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
    expect(lxcMonitors(holder)).toEqual([]);
    await s.waitUntil('container running on a survivor', (k) => c.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), LIVENESS_MS);
    await sleep(1000);
    const tl = await s.stop();
    const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
    expect(first).toBeTruthy();
    expect(overlap(tl).ticks, overlapReport(tl)).toBe(0);
    expect(c.fenceLog.some((e) => e.action === 'off' && e.plug === holder.name)).toBe(true);
    console.log(`[lxc power-loss] ${holder.name} off (container gone ${(goneAt - faultT).toFixed(0)} ms after the fault) → running on ${first?.node} after ${first?.ms.toFixed(0)} ms (sampling ${JSON.stringify(samplingStats(tl))})`);

    // power on: the node's /var/lib/lxc is still there, its container stopped; its agent rejoins and
    // probes it (stopped), and at no sampled instant do two copies run
    await c.powerOn(holder);
    const s2 = c.sampleContainers(name);
    t.startAgent(holder);
    await t.waitFor(`${holder.name} back online at the coordinator`, async () => {
      const st = await t.status(first!.node);
      const coord = st?.coordinator ? await t.status(st.coordinator) : null;
      return coord?.nodes.every((x) => x.state === 'online') ?? false;
    }, FORM_MS, 100);
    await sleep(1000);
    const tl2 = await s2.stop();
    expect(overlap(tl2).ticks, overlapReport(tl2)).toBe(0);
    expect(Object.values(tl2.ticks.at(-1)!.states).filter((x) => x === 'active')).toHaveLength(1);
  }, 150_000);

  it('agent restart: the container keeps running outside the agent\'s cgroup and is re-adopted with the same init PID', async () => {
    const { c, t, name } = await up();
    const s = c.sampleContainers(name);
    const holder = await stableHolder(c, s);
    const steadyFrom = now(); // the ticks before this one include the start
    const pid = (await initPid(holder, name))!;
    // the container and its LXC monitor left the node's cgroup (where the agent runs) for LXC's own
    const monitor = Number(/^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    expect(cgroupsOf(pid).filter((l) => l.includes(holder.cgroup))).toEqual([]);
    expect(cgroupsOf(monitor).filter((l) => l.includes(holder.cgroup))).toEqual([]);
    expect(cgroupsOf(pid)).toContain(`0::/lxc.payload.${name}`);
    const agent = t.agents.get(holder.name)!;
    expect(cgroupsOf(t.agentPid(holder)!)).toContain(`0::/${holder.cgroup}/ext`);

    const t0 = performance.now();
    agent.kill('SIGTERM'); // as systemctl restart does
    await agent.exited;
    await sleep(500);
    t.startAgent(holder);
    await t.waitFor(`${holder.name} back with the container`, async () => {
      const st = await t.status(holder);
      return st?.quorum?.quorate && st.resources.find((r) => r.id === 'ct')?.nodes.includes(holder.name) ? st : null;
    }, FORM_MS, 100);
    const backMs = performance.now() - t0;
    await sleep(3000); // longer than the failure timeout and the lease: nobody acts on it afterwards either
    const tl = await s.stop();
    expect(await initPid(holder, name)).toBe(pid);
    const notActive = tl.ticks.filter((k) => k.t >= steadyFrom && k.states[holder.name] !== 'active');
    expect(notActive.map((k) => `${Math.round(k.t)} ${JSON.stringify(k.states)}`)).toEqual([]);
    expect(overlap(tl).ticks, overlapReport(tl)).toBe(0);
    expect(c.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot')).toEqual([]);
    expect(t.agents.get(holder.name)!.output()).toMatch(/"msg":"probe"[^\n]*"running":true|"running":true[^\n]*"msg":"probe"/);
    console.log(`[lxc agent-restart] ${holder.name}: agent back with the container after ${backMs.toFixed(0)} ms; same init PID ${pid}`);
  }, 120_000);

  it('a test process that dies with a container running: the exit hook kills it; after SIGKILL cleanupStale kills it and removes its cgroups', async () => {
    const child = path.join(import.meta.dirname, 'lxc-crash-child.ts');
    const lxcCgroups = (prefix: string) => allHierarchies().flatMap((h) => fs.readdirSync(h).filter((e) => e.startsWith(`lxc.payload.${prefix}-`) || e.startsWith(`lxc.monitor.${prefix}-`)));
    const live = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    const results = await Promise.all(
      ['throw', 'sigkill'].map(async (mode) => {
        const r = await run([process.execPath, '--import', 'tsx', child, mode], { timeoutMs: 60_000 });
        const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
        if (!line) throw new Error(`lxc-crash-child ${mode} printed nothing: ${r.stderr}`);
        return { mode, ...(JSON.parse(line) as { prefix: string; dir: string; name: string; pid: number }) };
      }),
    );
    const thrown = results.find((x) => x.mode === 'throw')!;
    const killed = results.find((x) => x.mode === 'sigkill')!;
    expect(thrown.pid).toBeGreaterThan(1);
    expect(live(thrown.pid)).toBe(false);
    expect(live(killed.pid)).toBe(true); // nothing ran: the container outlived its test process
    for (const x of results) {
      const report = await cleanupStale(x.prefix);
      expect(report.problems).toEqual([]);
      expect(report.runs).toContain(x.prefix);
      expect(lxcCgroups(x.prefix)).toEqual([]);
      expect((await run(['ip', 'netns', 'list'])).stdout).not.toContain(x.prefix);
      expect(fs.existsSync(x.dir)).toBe(false);
    }
    expect(live(killed.pid)).toBe(false);
  }, 120_000);

  it('failing monitor: a failing health command and a container killed from outside are each recovered (restarted), never two copies', async () => {
    const { c, t, name } = await up('test ! -e /dev/shm/sick');
    const s = c.sampleContainers(name);
    const holder = await stableHolder(c, s);
    const pid = (await initPid(holder, name))!;

    // the health command fails from now on (/dev/shm is a tmpfs of this container start)
    const sick = await holder.exec(['lxc-attach', '-n', name, '--', '/bin/touch', '/dev/shm/sick']);
    expect(sick.code).toBe(0);
    const sickAt = now();
    const restarted = await t.waitFor('the container restarted after its failed health check', async () => {
      const p = await Promise.all(c.nodes.map(async (n) => [n, await initPid(n, name)] as const));
      const running = p.filter(([, x]) => x !== null);
      return running.length === 1 && running[0]![1] !== pid ? running[0] : null;
    }, LIVENESS_MS, 100);
    const recoveredMs = now() - sickAt;
    // a fresh start: the health command passes again where it runs now
    expect((await restarted[0].exec(['lxc-attach', '-n', name, '--', '/bin/sh', '-c', 'test ! -e /dev/shm/sick'])).code).toBe(0);
    const log = t.agents.get(holder.name)!.output();
    expect(log).toContain('health command failed (exit 1)');

    // the container killed from outside (its init, SIGKILL): the monitor sees it stopped
    const [n2, pid2] = restarted;
    await stableHolder(c, s);
    const killedAt = now();
    process.kill(pid2!, 'SIGKILL');
    const back = await t.waitFor('the container running again after it was killed', async () => {
      const p = await Promise.all(c.nodes.map(async (n) => [n, await initPid(n, name)] as const));
      const running = p.filter(([, x]) => x !== null);
      return running.length === 1 && running[0]![1] !== pid2 ? running[0] : null;
    }, LIVENESS_MS, 100);
    const killRecoveredMs = now() - killedAt;
    await sleep(1000);
    const tl = await s.stop();
    expect(overlap(tl).ticks, overlapReport(tl)).toBe(0);
    expect(c.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot')).toEqual([]);
    console.log(
      `[lxc monitor-failure] health failed on ${holder.name} → running again on ${restarted[0].name} after ${recoveredMs.toFixed(0)} ms; ` +
        `killed on ${n2.name} → running again on ${back[0].name} after ${killRecoveredMs.toFixed(0)} ms`,
    );
  }, 150_000);
});
