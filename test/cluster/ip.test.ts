// A virtual IP that fails over, on the real-cluster harness: the group "svc" = [vip, web], a virtual
// IP on the nodes' shared LAN (the bridge every underlay veth is a port of, interface "lan0" on every
// node) and a systemd unit. A client namespace on the same bridge pings the IP every 20 ms. The
// holder loses power; then, checked from outside:
//   - the address is never configured on two powered nodes in one sample (`ip -j address show` of
//     every node every 25 ms) and the unit never active on two;
//   - the IP answers the client's pings again, from the survivor: the client's neighbour entry
//     (which held the dead node's MAC) now holds the survivor's, and an arping from the client is
//     answered by the survivor's MAC. That is the gratuitous ARP: without it the client would keep
//     the dead MAC for its neighbour entry's reachable time plus DELAY and PROBE (5 to 40 s);
//   - on the survivor the group ran in order: web's start began after vip's start ended (the
//     agent's own "plan action done" lines), and whenever web was sampled active the address was
//     there.
// The time from the power loss until the IP answers again is printed. The same with a move
// (`tsha resource move`), and with an IPv6 address (announced by the kernel after DAD).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, LAN_IF, now, overlap, run, runOk, samplingStats, sleep, type Cluster, type ClusterNode } from './harness.js';
import { ensureBuilt, MAIN_JS, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
const arping = (await run(['sh', '-c', 'command -v arping'])).code === 0;
if ((!pre.ok || !arping) && process.env.CI === 'true') throw new Error(`CI must run the virtual IP cluster tests; missing: ${[...pre.missing, ...(arping ? [] : ['arping'])].join(', ')}`);
if (!pre.ok || !arping) console.warn(`skipping virtual IP cluster tests, missing: ${[...pre.missing, ...(arping ? [] : ['arping'])].join(', ')}`);

const FORM_MS = 30_000;
const LIVENESS_MS = 20_000;
const VIP = '10.213.0.100';
const CLIENT_IP = '10.213.0.200';
/** the LAN's IPv6 prefix (unique local), for the IPv6 test */
const VIP6 = 'fd13:213::100';
const CLIENT_IP6 = 'fd13:213::200';

type Held = 'holds' | 'none' | 'down';
interface AddrTick { t: number; states: Record<string, Held> }

/**
 * Where the address is, from outside: every node's `ip -j address show dev lan0` in one tick.
 * 'holds' = the address is on the interface and the interface is up (it answers ARP and ping);
 * 'down' = the interface is down (a node without power), whatever addresses it still lists.
 */
class AddressSampler {
  readonly ticks: AddrTick[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly nodes: readonly ClusterNode[],
    readonly address: string,
    readonly everyMs = 25,
  ) {
    this.loop = this.run();
  }

  private async read(n: ClusterNode): Promise<Held> {
    const r = await run(['ip', '-n', n.netns, '-j', 'address', 'show', 'dev', LAN_IF]);
    if (r.code !== 0) throw new Error(`ip address show in ${n.name}: ${r.stderr}`);
    const [link] = JSON.parse(r.stdout) as { flags: string[]; addr_info: { family: string; local: string }[] }[];
    if (!link!.flags.includes('UP')) return 'down';
    return link!.addr_info.some((a) => a.local === this.address) ? 'holds' : 'none';
  }

  /** why sampling ended early (a node's namespace could not be read) */
  private failure: Error | undefined;

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      try {
        const held = await Promise.all(this.nodes.map((n) => this.read(n)));
        this.ticks.push({ t, states: Object.fromEntries(this.nodes.map((n, i) => [n.name, held[i]!])) });
      } catch (e) {
        this.failure = e as Error;
        return;
      }
      await sleep(Math.max(0, this.everyMs - (now() - t)));
    }
  }

  holders(k: AddrTick): string[] {
    return Object.entries(k.states).filter(([, s]) => s === 'holds').map(([n]) => n);
  }

  async waitUntil(what: string, pred: (k: AddrTick) => boolean, timeoutMs: number, from = -Infinity): Promise<AddrTick> {
    const end = now() + timeoutMs;
    for (let i = 0; ; ) {
      for (; i < this.ticks.length; i++) if (this.ticks[i]!.t >= from && pred(this.ticks[i]!)) return this.ticks[i]!;
      if (this.failure) throw this.failure;
      if (now() > end) throw new Error(`address sampler: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(this.everyMs / 2);
    }
  }

  async stop(): Promise<AddrTick[]> {
    this.stopped = true;
    await this.loop;
    if (this.failure) throw this.failure;
    return this.ticks;
  }
}

/** A client on the LAN: its own namespace with a veth port on the cluster's bridge. */
class LanClient {
  readonly netns: string;
  private readonly ifname: string;
  private readonly port: string;
  private readonly pingers: (() => Promise<void>)[] = [];

  private constructor(readonly c: Cluster) {
    this.netns = `${c.prefix}-cl`; // tsh<run>-…: cleanupStale removes it after a killed run
    this.ifname = `${c.prefix}-ec`;
    this.port = `${c.prefix}-sc`;
  }

  static async create(c: Cluster): Promise<LanClient> {
    const cl = new LanClient(c);
    await runOk(['ip', 'netns', 'add', cl.netns]);
    await runOk(['ip', 'link', 'add', cl.ifname, 'netns', cl.netns, 'type', 'veth', 'peer', 'name', cl.port, 'netns', c.switchNs]);
    await runOk(['ip', '-n', cl.netns, '-batch', '-'], {
      input: `link set lo up\naddr add ${CLIENT_IP}/24 dev ${cl.ifname}\naddr add ${CLIENT_IP6}/64 dev ${cl.ifname} nodad\nlink set ${cl.ifname} up\n`,
    });
    await runOk(['ip', '-n', c.switchNs, 'link', 'set', cl.port, 'master', c.bridge, 'up']);
    return cl;
  }

  /** The MAC the client's neighbour table has for the address (null: no entry or not resolved). */
  async neighbour(ip: string): Promise<{ mac: string | null; state: string[] }> {
    const out = await runOk(['ip', '-n', this.netns, '-j', 'neigh', 'show', 'to', ip, 'dev', this.ifname]);
    const [e] = JSON.parse(out) as { lladdr?: string; state?: string[] }[];
    return { mac: e?.lladdr ?? null, state: e?.state ?? [] };
  }

  /** The MAC that answers an ARP request for the address (one request, 1 s). */
  async arpReply(ip: string): Promise<string | null> {
    const r = await run(['ip', 'netns', 'exec', this.netns, 'arping', '-c', '1', '-w', '1', '-I', this.ifname, ip]);
    return /\[([0-9a-f:]{17})\]/i.exec(r.stdout)?.[1]?.toLowerCase() ?? null;
  }

  /** ping every `everyMs`; each reply and each missed one (-O) with the harness time it was read. */
  pinger(ip: string, everyMs = 20): { replies: { t: number; seq: number }[]; sent: () => number; stop: () => Promise<void> } {
    const p = spawn('ip', ['netns', 'exec', this.netns, 'ping', '-n', '-O', '-i', String(everyMs / 1000), '-W', '1', ip], { stdio: ['ignore', 'pipe', 'ignore'] });
    const replies: { t: number; seq: number }[] = [];
    let last = 0;
    let buf = '';
    p.stdout.on('data', (d: Buffer) => {
      const t = now();
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const seq = /icmp_seq=(\d+)/.exec(l);
        if (seq) last = Math.max(last, Number(seq[1]));
        if (seq && /bytes from/.test(l)) replies.push({ t, seq: Number(seq[1]) });
      }
    });
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    const stop = async (): Promise<void> => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGINT');
      await exited;
    };
    this.pingers.push(stop);
    return { replies, sent: () => last, stop };
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pingers.map((stop) => stop()));
    await run(['ip', 'netns', 'del', this.netns]); // takes the veth pair with it
  }
}

interface PlanLine { msg?: string; key?: string; beganAt?: number; endedAt?: number; status?: string }
function planActions(t: TshaCluster, node: string): PlanLine[] {
  return (t.agents.get(node)?.output() ?? '').split('\n').flatMap((l) => {
    try {
      const j = JSON.parse(l) as PlanLine;
      return j.msg === 'plan action done' ? [j] : [];
    } catch {
      return [];
    }
  });
}

describe.skipIf(!pre.ok || !arping)('a virtual IP fails over with its group on the real-cluster harness', () => {
  let c: Cluster | undefined;
  let client: LanClient | undefined;
  let addrs: AddressSampler | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await addrs?.stop().catch(() => undefined);
    addrs = undefined;
    await client?.destroy();
    client = undefined;
    await c?.destroy();
    c = undefined;
  }, 60_000);

  /** 3 nodes running the group svc = [vip, web], a client pinging the address; returns once it answers from the holder. */
  async function setUp(address = VIP, prefix = 24) {
    c = await createCluster({ nodes: 3 });
    const cl = c;
    const t = new TshaCluster(cl, { monitorIntervalMs: 1000 });
    const config = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Record<string, unknown>;
    const web = (config.resources as Record<string, unknown>)[t.resourceId];
    config.resources = {
      vip: { kind: 'ip', params: { address: `${address}/${prefix}`, interface: LAN_IF }, operations: { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 5000 }, stop: { timeoutMs: 5000 } } },
      [t.resourceId]: web,
    };
    config.groups = { svc: { members: ['vip', t.resourceId] } };
    fs.writeFileSync(t.configFile, JSON.stringify(config, null, 2));
    await t.installUnit();
    const lan = (client = await LanClient.create(cl));
    t.startAll();
    await t.waitQuorate(FORM_MS);

    const at = (addrs = new AddressSampler(cl.nodes, address));
    const { s: units, holder } = await t.sampledHolder(LIVENESS_MS);
    await at.waitUntil(`the address on ${holder.name} alone`, (k) => at.holders(k).join() === holder.name, LIVENESS_MS);
    const ping = lan.pinger(address);
    await t.waitFor('the client\'s pings answered', async () => ping.replies.length >= 5, 5000, 20);
    expect((await lan.neighbour(address)).mac).toBe(holder.mac);
    return { cl, t, lan, at, units, holder, ping };
  }

  it('power loss of the holder: the IP answers again from a survivor (its MAC, by gratuitous ARP), never on two nodes, vip before web', async () => {
    const { cl, t, lan: client, at: addrs, units, holder, ping } = await setUp();

    const fault = await cl.powerLoss(holder);
    const back = await t.waitFor('a ping answered after the power loss', async () => ping.replies.find((r) => r.t > fault.goneAt) ?? null, LIVENESS_MS, 10);
    // a node other than the holder: a round of readings that began after the fault may still see the
    // holder's address, its link not yet down
    const moved = await addrs.waitUntil('the address on a survivor', (k) => addrs.holders(k).some((n) => n !== holder.name), LIVENESS_MS, fault.t);
    const survivor = cl.node(addrs.holders(moved).find((n) => n !== holder.name)!);
    await units.waitUntil(`web active on ${survivor.name}`, (k) => k.states[survivor.name] === 'active', LIVENESS_MS, true);
    const neigh = await client.neighbour(VIP);
    const answeredBy = await client.arpReply(VIP);
    await sleep(300);
    await ping.stop();
    const tl = await units.stop();
    const at = await addrs.stop();

    // the IP is where the agents put it, and the LAN knows it there
    expect(survivor.name).not.toBe(holder.name);
    expect(neigh.mac, `client neighbour entry ${JSON.stringify(neigh)}; survivor ${survivor.mac}, old holder ${holder.mac}`).toBe(survivor.mac);
    expect(answeredBy).toBe(survivor.mac);
    // never on two nodes at once, the address and the unit
    const doubles = at.filter((k) => addrs.holders(k).length > 1);
    expect(doubles.map((k) => k.states)).toEqual([]);
    expect(overlap(tl).ticks).toBe(0);
    // the address went with the dead node (its link) and came back only on the survivor
    expect(at.filter((k) => k.t > fault.goneAt).every((k) => k.states[holder.name] === 'down')).toBe(true);
    // order on the survivor: web's start began after vip's start ended; with web active, the address was there
    const acts = planActions(t, survivor.name);
    const vipStart = acts.find((a) => a.key === `start vip ${survivor.name}` && a.status === 'ok');
    const webStart = acts.find((a) => a.key === `start ${t.resourceId} ${survivor.name}` && a.status === 'ok');
    expect(vipStart && webStart, `plan actions on ${survivor.name}: ${JSON.stringify(acts)}`).toBeTruthy();
    expect(webStart!.beganAt!).toBeGreaterThanOrEqual(vipStart!.endedAt!);
    const webActive = tl.ticks.find((k) => k.t > fault.t && k.states[survivor.name] === 'active')!;
    expect(at.filter((k) => k.t >= webActive.t).every((k) => k.states[survivor.name] === 'holds')).toBe(true);
    // the gratuitous ARP moved the client: its pings were answered within 2 s of the address being
    // added. Without it the client keeps sending to the dead MAC until its entry is no longer
    // REACHABLE and the unicast probes fail: at least delay_first_probe_time (5 s) plus 3 probes.
    expect(back.t - vipStart!.endedAt!, 'first answered ping after the address was added').toBeLessThan(2000);
    // the pings: answered before, a gap, answered again with no second gap
    const after = ping.replies.filter((r) => r.t >= back.t);
    const seqs = after.map((r) => r.seq);
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs.at(-1)! - seqs[0]! + 1 - seqs.length, 'pings lost after the IP answered again').toBeLessThanOrEqual(2);

    const ms = (x: number) => Math.round(x - fault.t);
    const gap = samplingStats(tl);
    console.log(
      `[itest vip] holder ${holder.name} lost power; address on ${survivor.name} after ${ms(moved.t)} ms (sampled every 25 ms), ` +
        `vip start ended ${ms(vipStart!.endedAt!)} ms, web start began ${ms(webStart!.beganAt!)} ms, ` +
        `first ping answered ${ms(back.t)} ms after the power loss (pings every 20 ms; unit sampler median/max gap ${Math.round(gap.medianGapMs)}/${Math.round(gap.maxGapMs)} ms)`,
    );
  }, 120_000);

  it('an agent restart keeps the address (re-adopted: no stop, no start); an address removed from outside is added again by the failure policy', async () => {
    const { t, at: addrs, holder, ping } = await setUp();
    const restartAt = now();
    const agent = t.agents.get(holder.name)!;
    agent.kill('SIGTERM');
    await agent.exited;
    t.startAgent(holder);
    await t.waitBackWithResource(holder, LIVENESS_MS);
    await sleep(2500); // a few monitors (every 1 s) of the new agent
    const readopted = planActions(t, holder.name).filter((a) => a.beganAt! >= restartAt); // the node's log holds the old agent's lines too
    expect(readopted.filter((a) => /^(start|stop) vip /.test(a.key ?? '')), JSON.stringify(readopted)).toEqual([]);
    expect(addrs.ticks.filter((k) => k.t >= restartAt && k.states[holder.name] !== 'holds').map((k) => k.states)).toEqual([]);

    // someone removes the address: the next monitor fails, on-fail restart adds it again
    const delAt = now();
    await runOk(['ip', '-n', holder.netns, 'address', 'del', `${VIP}/24`, 'dev', LAN_IF]);
    const gone = await addrs.waitUntil('the address gone', (k) => addrs.holders(k).length === 0, 5000, delAt);
    const back = await addrs.waitUntil('the address back', (k) => addrs.holders(k).length === 1, LIVENESS_MS, gone.t);
    const answered = await t.waitFor('a ping answered after the address came back', async () => ping.replies.find((r) => r.t > back.t) ?? null, LIVENESS_MS, 10);
    await sleep(300);
    await ping.stop();
    const at = await addrs.stop();
    expect(at.filter((k) => addrs.holders(k).length > 1).map((k) => k.states)).toEqual([]);
    const on = addrs.holders(back)[0]!;
    const acts = planActions(t, on);
    expect(acts.some((a) => a.key === `start vip ${on}` && a.status === 'ok' && a.beganAt! >= delAt), JSON.stringify(acts)).toBe(true);
    console.log(`[itest vip restart] same address through ${holder.name}'s agent restart; removed from outside, back on ${on} ${Math.round(back.t - delAt)} ms later, answering ${Math.round(answered.t - delAt)} ms after the removal`);
  }, 120_000);

  it('a move: web then vip stop on the old holder, the address leaves it before it appears on the target, the client follows', async () => {
    const { cl, t, lan: client, at: addrs, units, holder, ping } = await setUp();
    const target = cl.nodes.find((n) => n !== holder)!;
    const moveAt = now();
    execFileSync(process.execPath, [MAIN_JS, 'resource', 'move', 'svc', target.name, '--socket', t.socket(holder)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    const moved = await addrs.waitUntil(`the address on ${target.name}`, (k) => k.states[target.name] === 'holds', LIVENESS_MS, moveAt);
    const back = await t.waitFor('a ping answered after the move', async () => ping.replies.find((r) => r.t > moved.t) ?? null, LIVENESS_MS, 10);
    await units.waitUntil(`web active on ${target.name}`, (k) => k.states[target.name] === 'active', LIVENESS_MS, true);
    const neigh = await client.neighbour(VIP);
    await sleep(300);
    await ping.stop();
    const tl = await units.stop();
    const at = await addrs.stop();

    expect(neigh.mac).toBe(target.mac);
    expect(at.filter((k) => addrs.holders(k).length > 1).map((k) => k.states)).toEqual([]);
    expect(overlap(tl).ticks).toBe(0);
    // the old holder, still powered, showed the address gone before the target had it
    const left = at.find((k) => k.t >= moveAt && k.states[holder.name] === 'none');
    expect(left && left.t <= moved.t).toBe(true);
    // stop in reverse order on the old holder, start in order on the target
    const old = planActions(t, holder.name);
    const webStop = old.find((a) => a.key === `stop ${t.resourceId} ${holder.name}` && a.status === 'ok');
    const vipStop = old.find((a) => a.key === `stop vip ${holder.name}` && a.status === 'ok');
    expect(webStop && vipStop, `plan actions on ${holder.name}: ${JSON.stringify(old)}`).toBeTruthy();
    expect(vipStop!.beganAt!).toBeGreaterThanOrEqual(webStop!.endedAt!);
    const acts = planActions(t, target.name);
    const vipStart = acts.find((a) => a.key === `start vip ${target.name}` && a.status === 'ok');
    const webStart = acts.find((a) => a.key === `start ${t.resourceId} ${target.name}` && a.status === 'ok');
    expect(vipStart && webStart, `plan actions on ${target.name}: ${JSON.stringify(acts)}`).toBeTruthy();
    expect(webStart!.beganAt!).toBeGreaterThanOrEqual(vipStart!.endedAt!);
    expect(back.t - vipStart!.endedAt!, 'first answered ping after the address was added').toBeLessThan(2000);
    execFileSync(process.execPath, [MAIN_JS, 'resource', 'clear', 'svc', '--socket', t.socket(target)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    const ms = (x: number) => Math.round(x - moveAt);
    console.log(
      `[itest vip move] ${holder.name} → ${target.name}: vip stopped ${ms(vipStop!.endedAt!)} ms after the move command, ` +
        `started on ${target.name} ${ms(vipStart!.endedAt!)} ms, first ping answered ${ms(back.t)} ms (web stopped first, started last)`,
    );
  }, 120_000);

  it('IPv6: power loss of the holder: after DAD the kernel\'s unsolicited advertisement moves the client to the survivor\'s MAC', async () => {
    const { cl, t, lan: client, at: addrs, units, holder, ping } = await setUp(VIP6, 64);
    const fault = await cl.powerLoss(holder);
    const back = await t.waitFor('a ping answered after the power loss', async () => ping.replies.find((r) => r.t > fault.goneAt) ?? null, LIVENESS_MS, 10);
    // a node other than the holder: a round of readings that began after the fault may still see the
    // holder's address, its link not yet down
    const moved = await addrs.waitUntil('the address on a survivor', (k) => addrs.holders(k).some((n) => n !== holder.name), LIVENESS_MS, fault.t);
    const survivor = cl.node(addrs.holders(moved).find((n) => n !== holder.name)!);
    await units.waitUntil(`web active on ${survivor.name}`, (k) => k.states[survivor.name] === 'active', LIVENESS_MS, true);
    const neigh = await client.neighbour(VIP6);
    await ping.stop();
    const tl = await units.stop();
    const at = await addrs.stop();

    expect(neigh.mac, `client neighbour entry ${JSON.stringify(neigh)}; survivor ${survivor.mac}, old holder ${holder.mac}`).toBe(survivor.mac);
    expect(at.filter((k) => addrs.holders(k).length > 1).map((k) => k.states)).toEqual([]);
    expect(overlap(tl).ticks).toBe(0);
    const acts = planActions(t, survivor.name);
    const vipStart = acts.find((a) => a.key === `start vip ${survivor.name}` && a.status === 'ok');
    const webStart = acts.find((a) => a.key === `start ${t.resourceId} ${survivor.name}` && a.status === 'ok');
    expect(vipStart && webStart, `plan actions on ${survivor.name}: ${JSON.stringify(acts)}`).toBeTruthy();
    expect(webStart!.beganAt!).toBeGreaterThanOrEqual(vipStart!.endedAt!);
    // without the advertisement the client would wait for neighbour unreachability detection (5 s and more)
    expect(back.t - vipStart!.endedAt!, 'first answered ping after DAD').toBeLessThan(2000);
    const ms = (x: number) => Math.round(x - fault.t);
    console.log(
      `[itest vip6] holder ${holder.name} lost power; address on ${survivor.name} (tentative, then DAD) after ${ms(moved.t)} ms, ` +
        `vip start (with DAD) ended ${ms(vipStart!.endedAt!)} ms, first ping answered ${ms(back.t)} ms after the power loss`,
    );
  }, 120_000);
});
