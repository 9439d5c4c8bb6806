// OCF resources run by the real agents on the real-cluster harness (namespaced nodes, wireguard-go
// mesh, scripts/fence_tsha_test as the fence device), with the real agents of Debian's
// pacemaker-resource-agents and resource-agents:
//   - ocf:pacemaker:Dummy: its holder's power loss → it runs on a survivor, after the fence, never
//     on two nodes; an agent restart re-adopts it (a probe, no stop, no start); a failed monitor
//     (its state file gone) is recovered by the failure policy (restart);
//   - ocf:heartbeat:IPaddr2: an address of the nodes' subnet on the holder's interface; its
//     holder's power loss → on a survivor after the fence, never on two nodes;
//   - ocf:pacemaker:Stateful as a promotable clone: exactly one instance promoted (its monitor
//     says 8), and after the promoted node's power loss a survivor is promoted after the fence.
// The agents keep their state in the node's own /run (the harness gives every node a tmpfs there,
// emptied at power-on like a machine's): Dummy's /run/Dummy-<id>.state, Stateful's
// /run/Stateful-<id>.state holding its role. That, and the addresses of each node's network
// namespace, are sampled from outside every 20 ms through /proc/<pid> of a process of the node.
// Safety is asserted on the sampled timeline; liveness within generous bounds.

import fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, firstActiveAfter, now, overlap, samplingStats, sleep, type Cluster, type ClusterNode, type SampledState, type Tick, type Timeline } from './harness.js';
import { ensureBuilt, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
const agentsInstalled = ['pacemaker/Dummy', 'pacemaker/Stateful', 'heartbeat/IPaddr2'].every((a) => fs.existsSync(`/usr/lib/ocf/resource.d/${a}`));
if ((!pre.ok || !agentsInstalled) && process.env.CI === 'true') throw new Error(`CI must run the OCF cluster tests; missing: ${[...pre.missing, ...(agentsInstalled ? [] : ['pacemaker-resource-agents', 'resource-agents'])].join(', ')}`);
if (!pre.ok || !agentsInstalled) console.warn('skipping OCF cluster tests: needs the real-cluster harness, pacemaker-resource-agents and resource-agents');

const FORM_MS = 30_000;
const LIVENESS_MS = 20_000;
type Json = Record<string, unknown>;

/** What a sampler sees of one node, given a process of the node: a value, or null when absent; throws when it cannot tell. */
type Look = (pid: number) => string | null;

/** A file in the node's own /run (its mount namespace), and its content. */
const runFile = (file: string): Look => (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/root${file}`, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
};

/** An IPv4 address local to the node's network namespace (its FIB's "/32 host LOCAL" entries). */
const localAddress = (ip: string): Look => (pid) => {
  const fib = fs.readFileSync(`/proc/${pid}/net/fib_trie`, 'utf8');
  return new RegExp(`\\|-- ${ip.replace(/\./g, '\\.')}\\n\\s+/32 host LOCAL`).test(fib) ? ip : null;
};

/**
 * Samples every node from outside, all nodes in the same tick, through /proc/<pid> of a process in
 * the node's namespaces: 'active' when the looked-for thing is there (its value kept too),
 * 'inactive' when it is not, 'down' for a powered-off node, 'unknown' when no process of the node
 * could be found or it died while being read (counted as maybe running, as the unit sampler counts
 * a silent systemd). The timeline feeds the harness's overlap() and firstActiveAfter().
 */
class NodeSampler {
  readonly ticks: (Tick & { content: Record<string, string> })[] = [];
  private readonly pids = new Map<string, number>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly c: Cluster, readonly what: string, private readonly look: Look, readonly everyMs = 20) {
    this.loop = this.run();
  }

  private pidIn(n: ClusterNode): number | undefined {
    const pid = n.mountNsPid(this.pids.get(n.name));
    if (pid === undefined) this.pids.delete(n.name);
    else this.pids.set(n.name, pid);
    return pid;
  }

  read(n: ClusterNode): { state: SampledState; content?: string } {
    if (n.power === 'down' && n.processesGone()) return { state: 'down' };
    const pid = this.pidIn(n);
    if (pid === undefined) return { state: n.power === 'down' ? 'down' : 'unknown' };
    try {
      const v = this.look(pid);
      if (!fs.existsSync(`/proc/${pid}`)) throw new Error('the process died while it was read');
      return v === null ? { state: 'inactive' } : { state: 'active', content: v };
    } catch {
      this.pids.delete(n.name);
      return { state: 'unknown' };
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      const states: Record<string, SampledState> = {};
      const content: Record<string, string> = {};
      for (const n of this.c.nodes) {
        const r = this.read(n);
        states[n.name] = r.state;
        if (r.content !== undefined) content[n.name] = r.content;
      }
      this.ticks.push({ t, states, content });
      await sleep(this.everyMs);
    }
  }

  timeline(): Timeline {
    return { unit: this.what, nodes: this.c.nodes.map((n) => n.name), everyMs: this.everyMs, ticks: this.ticks };
  }

  async waitUntil(what: string, pred: (k: Tick & { content: Record<string, string> }) => boolean, timeoutMs: number, from = now()): Promise<Tick & { content: Record<string, string> }> {
    const end = now() + timeoutMs;
    for (;;) {
      const k = this.ticks.findLast((x) => x.t >= from && pred(x));
      if (k) return k;
      if (now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last tick ${JSON.stringify(this.ticks.at(-1))}`);
      await sleep(20);
    }
  }

  /** The one node holding the file for `stableMs` on end, nowhere else. */
  async stableHolder(stableMs = 1000, timeoutMs = LIVENESS_MS): Promise<string> {
    const end = now() + timeoutMs;
    for (;;) {
      const last = this.ticks.at(-1);
      const win = last ? this.ticks.filter((k) => k.t >= last.t - stableMs) : [];
      if (last && win.length > 2 && last.t - win[0]!.t >= stableMs * 0.9) {
        const holders = new Set(win.map((k) => Object.entries(k.states).filter(([, s]) => s !== 'inactive' && s !== 'down').map(([n]) => n).join(',')));
        const only = [...holders][0];
        if (holders.size === 1 && only && !only.includes(',') && win.every((k) => k.states[only] === 'active')) return only;
      }
      if (now() > end) throw new Error(`timed out waiting for ${this.what} steadily on one node; last tick ${JSON.stringify(last)}`);
      await sleep(50);
    }
  }

  async stop(): Promise<Timeline> {
    this.stopped = true;
    await this.loop;
    return this.timeline();
  }
}

/** Replace the test cluster's resources (and sections such as clones) in its configuration file. */
function configure(t: TshaCluster, resources: Json, sections: Json = {}): void {
  const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Json;
  cfg.resources = resources;
  Object.assign(cfg, sections);
  fs.writeFileSync(t.configFile, JSON.stringify(cfg, null, 2));
}

const OPS = { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 10_000 }, stop: { timeoutMs: 10_000 } };
/** ocf:pacemaker:Dummy keeping its state in /run/Dummy-d.state and appending every action's environment to /run/d.env. */
const DUMMY = { d: { kind: 'ocf', params: { agent: 'pacemaker:Dummy', envfile: '/run/d.env' }, operations: OPS } };


/** The environment of every action the agent ran on a node, from the envfile ocf:pacemaker:Dummy and Stateful append to. */
function envBlocks(n: ClusterNode, file: string): Record<string, string>[] {
  const pid = n.mountNsPid();
  if (pid === undefined) return [];
  let text = '';
  try {
    text = fs.readFileSync(`/proc/${pid}/root${file}`, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n###\n').filter((b) => b.includes('### ')).map((b) => {
    const env: Record<string, string> = { action: /### (\S+) @/.exec(b)?.[1] ?? '?' };
    for (const m of b.matchAll(/^([A-Z_a-z][A-Za-z0-9_]*)=(.*)$/gm)) env[m[1]!] = m[2]!;
    return env;
  });
}

/** The actions the agent ran on a node, with their interval: "monitor@0", "start@0", "monitor@1000", ... */
function actionsOn(n: ClusterNode): string[] {
  return envBlocks(n, '/run/d.env').map((e) => `${e.action}@${e.OCF_RESKEY_CRM_meta_interval ?? '?'}`);
}

describe.skipIf(!pre.ok || !agentsInstalled)('OCF resources on the real-cluster harness', () => {
  let c: Cluster | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  async function up(resourcesOf: Json | ((c: Cluster) => Json), sections: Json = {}): Promise<TshaCluster> {
    c = await createCluster({ nodes: 3 });
    const resources = typeof resourcesOf === 'function' ? resourcesOf(c) : resourcesOf;
    // the configuration's resources are replaced below; resourceId names the one the helpers wait for
    const t = new TshaCluster(c, { resourceId: Object.keys(resources)[0]! });
    configure(t, resources, sections);
    // what resource-agents' tmpfiles.d makes at boot: heartbeat agents keep their state there
    await Promise.all(c.nodes.map((n) => n.exec(['mkdir', '-p', '/run/resource-agents'])));
    t.startAll();
    await t.waitQuorate(FORM_MS);
    return t;
  }

  it('ocf:pacemaker:Dummy: its holder\'s power loss → it runs on a survivor after the fence, never on two nodes', async () => {
    const t = await up(DUMMY);
    const cl = c!;
    const s = new NodeSampler(cl, '/run/Dummy-d.state', runFile('/run/Dummy-d.state'));
    try {
      const holder = cl.node(await s.stableHolder());
      const st = await t.status(holder);
      expect(st?.resources.find((r) => r.id === 'd')).toMatchObject({ kind: 'ocf', agent: 'ocf:pacemaker:Dummy', state: 'started', nodes: [holder.name] });
      const { t: faultT } = await cl.powerLoss(holder);
      await s.waitUntil('Dummy on a survivor', (k) => cl.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), LIVENESS_MS, faultT);
      await sleep(1000);
      const tl = await s.stop();
      expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
      const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] })!;
      const fence = cl.fenceLog.find((e) => e.action === 'off' && e.plug === holder.name && e.t >= faultT);
      expect(fence, JSON.stringify(cl.fenceLog)).toBeDefined();
      expect(first.t).toBeGreaterThanOrEqual(fence!.t);
      console.log(`[itest ocf-power-loss] ${holder.name} off → fenced after ${Math.round(fence!.t - faultT)} ms, ocf:pacemaker:Dummy on ${first.node} after ${Math.round(first.ms)} ms; never two (sampling ${JSON.stringify(samplingStats(tl))})`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('ocf:pacemaker:Dummy: an agent restart re-adopts it: a probe (interval 0), no stop, no start, and it never left', async () => {
    const t = await up(DUMMY);
    const cl = c!;
    const s = new NodeSampler(cl, '/run/Dummy-d.state', runFile('/run/Dummy-d.state'));
    try {
      const holder = cl.node(await s.stableHolder());
      const inode = (): number => fs.statSync(`/proc/${holder.mountNsPid()}/root/run/Dummy-d.state`).ino;
      const before = inode();
      const agent = t.agents.get(holder.name)!;
      const t0 = now();
      agent.kill('SIGTERM');
      await agent.exited;
      // what the first agent ran on the holder: a probe at its start, the start, recurring monitors
      const actionsBefore = actionsOn(holder);
      expect(actionsBefore.filter((a) => a.startsWith('start') || a.startsWith('stop'))).toEqual(['start@0']);
      t.startAgent(holder);
      await t.waitBackWithResource(holder, FORM_MS);
      const backMs = now() - t0;
      await sleep(3000);
      const tl = await s.stop();
      const after = actionsOn(holder).slice(actionsBefore.length);
      // the new agent probed it (monitor with interval 0) and monitors it again; nothing else
      expect(after[0]).toBe('monitor@0');
      expect(after.filter((a) => !a.startsWith('monitor@')), after.join(' ')).toEqual([]);
      expect(after.filter((a) => a === 'monitor@1000').length).toBeGreaterThan(0);
      expect(inode()).toBe(before);
      expect(tl.ticks.filter((k) => k.t >= t0).every((k) => k.states[holder.name] === 'active')).toBe(true);
      expect(overlap(tl).ticks).toBe(0);
      expect(cl.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot')).toEqual([]);
      console.log(`[itest ocf-readopt] ${holder.name}: agent SIGTERM → back with ocf:pacemaker:Dummy after ${Math.round(backMs)} ms; actions since: ${after.join(' ')}; same state file, never absent`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('ocf:pacemaker:Dummy: a failed monitor (its state gone) is recovered by on-fail restart, and counted', async () => {
    const t = await up(DUMMY);
    const cl = c!;
    const s = new NodeSampler(cl, '/run/Dummy-d.state', runFile('/run/Dummy-d.state'));
    try {
      const holder = cl.node(await s.stableHolder());
      const actionsBefore = actionsOn(holder).length;
      // the workload dies behind the cluster's back
      await holder.exec(['rm', '-f', '/run/Dummy-d.state']);
      const gone = await s.waitUntil('Dummy gone', (k) => !Object.values(k.states).includes('active'), LIVENESS_MS);
      const failT = gone.t;
      const back = await s.waitUntil('Dummy running again', (k) => Object.values(k.states).includes('active'), LIVENESS_MS, failT);
      await sleep(1500);
      const tl = await s.stop();
      expect(overlap(tl).ticks).toBe(0);
      const where = Object.entries(back.states).filter(([, v]) => v === 'active').map(([n]) => n);
      expect(where).toEqual([holder.name]); // restarted in place: no stickiness lost, no threshold reached
      const st = await t.waitFor('the failure in status', async () => {
        const x = await t.status(holder);
        return x?.resources.find((r) => r.id === 'd')?.failCounts.some((f) => f.node === holder.name && f.count >= 1) ? x : null;
      }, 10_000, 100);
      const failed = st.failedActions.find((a) => a.resource === 'd' && a.operation === 'monitor');
      expect(failed).toMatchObject({ node: holder.name, intervalMs: 1000, exitCode: 7 });
      // the recovery the agent ran: the failed monitor (7), a stop, a start, monitors again
      const after = actionsOn(holder).slice(actionsBefore);
      const firstStop = after.indexOf('stop@0');
      expect(firstStop, after.join(' ')).toBeGreaterThan(0);
      expect(after.slice(firstStop, firstStop + 2), after.join(' ')).toEqual(['stop@0', 'start@0']);
      console.log(`[itest ocf-monitor-failure] state removed on ${holder.name} → running again there ${Math.round(back.t - failT)} ms after it was seen gone; actions since: ${after.join(' ')}; fail count ${st.resources.find((r) => r.id === 'd')?.failCounts[0]?.count}`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('ocf:heartbeat:IPaddr2: an address on the node\'s interface; its holder\'s power loss → on a survivor after the fence, never on two nodes', async () => {
    // an address of the nodes' underlay subnet: IPaddr2 finds the interface (the node's veth) itself
    const vipOf = (cl: Cluster) => cl.nodes[0]!.underlayIp.replace(/\.\d+$/, '.250');
    const t = await up((cl) => ({ vip: { kind: 'ocf', params: { agent: 'heartbeat:IPaddr2', ip: vipOf(cl), cidr_netmask: '24' }, operations: OPS } }));
    const cl = c!;
    const vip = vipOf(cl);
    const s = new NodeSampler(cl, vip, localAddress(vip));
    try {
      const holder = cl.node(await s.stableHolder());
      const st = await t.status(holder);
      expect(st?.resources.find((r) => r.id === 'vip')).toMatchObject({ agent: 'ocf:heartbeat:IPaddr2', state: 'started', nodes: [holder.name] });
      const { t: faultT } = await cl.powerLoss(holder);
      await s.waitUntil('the address on a survivor', (k) => cl.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), LIVENESS_MS, faultT);
      await sleep(1000);
      const tl = await s.stop();
      expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
      const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] })!;
      const fence = cl.fenceLog.find((e) => e.action === 'off' && e.plug === holder.name && e.t >= faultT);
      expect(fence, JSON.stringify(cl.fenceLog)).toBeDefined();
      expect(first.t).toBeGreaterThanOrEqual(fence!.t);
      console.log(`[itest ocf-ipaddr2] ${vip} on ${holder.name}; power loss → fenced after ${Math.round(fence!.t - faultT)} ms, on ${first.node} after ${Math.round(first.ms)} ms; never two (sampling ${JSON.stringify(samplingStats(tl))})`);
    } finally {
      await s.stop();
    }
  }, 120_000);

  it('ocf:pacemaker:Stateful as a promotable clone: exactly one promoted (monitor 8); after its node\'s power loss a survivor is promoted after the fence', async () => {
    // promote has no configured timeout: it gets the 10 s Stateful's meta-data advises (not the 20 s default)
    const t = await up({ st: { kind: 'ocf', params: { agent: 'pacemaker:Stateful', envfile: '/run/st.env' }, operations: OPS } }, { clones: { pst: { child: 'st', promotable: true } } });
    const cl = c!;
    const s = new NodeSampler(cl, '/run/Stateful-st.state', runFile('/run/Stateful-st.state'));
    const promoted = (k: { content: Record<string, string>; states: Record<string, SampledState> }) => cl.nodes.filter((n) => k.states[n.name] === 'active' && k.content[n.name] === 'Promoted').map((n) => n.name);
    try {
      await s.waitUntil('one promoted, two unpromoted', (k) => promoted(k).length === 1 && Object.values(k.content).filter((v) => v === 'Unpromoted').length === 2, LIVENESS_MS);
      await sleep(1500);
      // the agent's own monitor, run inside each node: 8 on the promoted one, 0 on the others
      const rcs = await Promise.all(cl.nodes.map(async (n) => (await n.exec(['env', 'OCF_ROOT=/usr/lib/ocf', 'OCF_RESOURCE_INSTANCE=st', '/usr/lib/ocf/resource.d/pacemaker/Stateful', 'monitor'])).code));
      expect(rcs.sort()).toEqual([0, 0, 8]);
      const primary = cl.node(promoted(s.ticks.at(-1)!)[0]!);
      const promote = envBlocks(primary, '/run/st.env').find((e) => e.action === 'promote');
      expect(promote).toMatchObject({
        OCF_RESOURCE_INSTANCE: 'st', OCF_RESKEY_CRM_meta_timeout: '10000', OCF_RESKEY_CRM_meta_on_node: primary.name,
        OCF_RESKEY_CRM_meta_clone_max: '3', OCF_RESKEY_CRM_meta_promotable: 'true', OCF_RESKEY_CRM_meta_promoted_max: '1',
      });
      expect(promote?.OCF_RESKEY_CRM_meta_clone).toMatch(/^\d+$/);
      const st0 = await t.status(primary);
      expect(st0?.resources.filter((r) => r.clone === 'pst' && r.state === 'promoted').flatMap((r) => r.nodes)).toEqual([primary.name]);
      const { t: faultT } = await cl.powerLoss(primary);
      const newPrimary = await s.waitUntil('a survivor promoted', (k) => promoted(k).some((n) => n !== primary.name), LIVENESS_MS, faultT);
      await sleep(1000);
      const tl = await s.stop();
      const twice = s.ticks.filter((k) => promoted(k).length > 1);
      expect(twice.map((k) => k.content), 'two promoted at once').toEqual([]);
      const fence = cl.fenceLog.find((e) => e.action === 'off' && e.plug === primary.name && e.t >= faultT);
      expect(fence, JSON.stringify(cl.fenceLog)).toBeDefined();
      const promotedAt = s.ticks.find((k) => k.t > faultT && promoted(k).some((n) => n !== primary.name))!.t;
      expect(promotedAt).toBeGreaterThanOrEqual(fence!.t);
      const survivors = cl.nodes.filter((n) => n !== primary);
      const rcs2 = await Promise.all(survivors.map(async (n) => (await n.exec(['env', 'OCF_ROOT=/usr/lib/ocf', 'OCF_RESOURCE_INSTANCE=st', '/usr/lib/ocf/resource.d/pacemaker/Stateful', 'monitor'])).code));
      expect(rcs2.sort()).toEqual([0, 8]);
      console.log(`[itest ocf-stateful] ${primary.name} promoted, power loss → fenced after ${Math.round(fence!.t - faultT)} ms, ${promoted(newPrimary).join()} promoted after ${Math.round(promotedAt - faultT)} ms; never two promoted (${tl.ticks.length} samples, ${JSON.stringify(samplingStats(tl))})`);
    } finally {
      await s.stop();
    }
  }, 120_000);
});

