// The running agents carry out the scheduler's plan, on the real-cluster harness (namespaced nodes,
// wireguard-go mesh, one real `systemd --user` per node, scripts/fence_tsha_test as the fence
// device, a stand-in for a power switch), sampled from outside:
//   - a group starts its members in order (each after the one before is active) and stops them in
//     reverse;
//   - a clone runs once on every node, and again on a node that comes back;
//   - a promotable resource (exec kind: a `sleep` process and a role file per node) has exactly one
//     promoted instance, and after the promoted node's power loss a survivor is promoted only after
//     the fence;
//   - `tsha resource cleanup` clears a fail count for good;
//   - maintenance mode (a configuration reload) leaves a failed unit alone, and it is recovered once
//     maintenance ends;
//   - a stop that does not finish in time gets its node fenced before the resource starts elsewhere.
// Safety is asserted strictly on the sampled timeline; liveness within generous bounds.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, now, overlap, sleep, unitTimeline, type Cluster, type ClusterNode, type SetTick, type Timeline } from './harness.js';
import { ensureBuilt, MAIN_JS, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn(`skipping plan-execution cluster tests, missing: ${pre.missing.join(', ')}`);

const FORM_MS = 30_000;
const LIVENESS_MS = 20_000;
type Json = Record<string, unknown>;

/** A unit that takes `startMs` to become active (ExecStartPre sleeps): a start out of order shows as overlapping activation. */
function slowUnit(startMs: number, extra = ''): string {
  return `[Unit]\nDescription=tsha plan-execution test\n[Service]\nExecStartPre=/bin/sleep ${startMs / 1000}\nExecStart=/bin/sleep infinity\n${extra}`;
}

/** Replace the test cluster's resources (and top-level sections such as groups and clones) in its configuration file. */
function configure(t: TshaCluster, resources: Json, sections: Json = {}): void {
  const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Json;
  cfg.resources = resources;
  Object.assign(cfg, sections);
  fs.writeFileSync(t.configFile, JSON.stringify(cfg, null, 2));
}

function systemd(unit: string, ops: Json = {}): Json {
  return { kind: 'systemd', params: { unit }, operations: { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 10_000 }, stop: { timeoutMs: 10_000 }, ...ops } };
}

function cli(t: TshaCluster, node: ClusterNode, args: string[]): string {
  return execFileSync(process.execPath, [MAIN_JS, ...args, '--socket', t.socket(node)], { encoding: 'utf8', timeout: 20_000 });
}

/** First tick at which `node` is in one of `states`. */
function firstIn(tl: Timeline, node: string, states: string[], from = -Infinity): number | undefined {
  return tl.ticks.find((k) => k.t >= from && states.includes(k.states[node] ?? ''))?.t;
}

describe.skipIf(!pre.ok)('the agents carry out the scheduler\'s plan on the real-cluster harness', () => {
  let c: Cluster | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  async function up(nodes: number, units: Record<string, string>, resources: (p: string) => Json, sections: (p: string) => Json = () => ({})): Promise<TshaCluster> {
    c = await createCluster({ nodes });
    const t = new TshaCluster(c);
    configure(t, resources(c.prefix), sections(c.prefix));
    for (const n of c.nodes) for (const [u, text] of Object.entries(units)) n.writeUnit(`${c.prefix}${u}`, text);
    await Promise.all(c.nodes.map((n) => n.daemonReload()));
    t.startAll();
    await t.waitQuorate(FORM_MS);
    return t;
  }

  it('a group starts A then B (B only once A is active) and stops B then A', async () => {
    const t = await up(3, { 'a.service': slowUnit(400), 'b.service': slowUnit(400, 'ExecStopPost=/bin/sleep 0.3\n') }, (p) => ({
      a: systemd(`${p}a.service`), b: systemd(`${p}b.service`),
    }), () => ({ groups: { g: { members: ['a', 'b'] } } }));
    const cl = c!;
    // both units read in one D-Bus call per node per tick, so their states share each tick's time
    const [ua, ub] = [`${cl.prefix}a.service`, `${cl.prefix}b.service`];
    const s = cl.sampleUnitSet([ua, ub], { everyMs: 20 });
    // a node's reading lists the units that are not inactive
    const stateOf = (k: SetTick, n: string, u: string): string => {
      const r = k.nodes[n];
      return typeof r === 'object' ? (r[u] ?? 'inactive') : (r ?? 'unknown');
    };
    const tb = await s.waitUntil('b active', (k) => cl.nodes.some((n) => stateOf(k, n.name, ub) === 'active'), LIVENESS_MS);
    const node = cl.nodes.find((n) => stateOf(tb, n.name, ub) === 'active')!.name;
    await sleep(500);
    // stop the group: the operator disables it
    const stopAt = now();
    cli(t, cl.node(node), ['resource', 'disable', 'g']);
    await s.waitUntil('a stopped', (k) => k.t > stopAt && stateOf(k, node, ua) === 'inactive', LIVENESS_MS);
    const set = await s.stop();
    const [ta, tlb] = [unitTimeline(set, ua), unitTimeline(set, ub)];
    // start: b's first activating/active sample comes after a's first active one, on the same node
    const aActive = firstIn(ta, node, ['active'])!;
    const bStart = firstIn(tlb, node, ['activating', 'active'])!;
    expect(bStart, `b began at ${bStart}, a active at ${aActive}`).toBeGreaterThanOrEqual(aActive);
    // stop: a leaves 'active' only after b is gone
    const bGone = firstIn(tlb, node, ['inactive', 'failed'], stopAt)!;
    const aStops = firstIn(ta, node, ['deactivating', 'inactive', 'failed'], stopAt)!;
    expect(aStops, `a stopped at ${aStops}, b gone at ${bGone}`).toBeGreaterThanOrEqual(bGone);
    console.log(`[itest group] on ${node}: a active ${Math.round(aActive - ta.ticks[0]!.t)} ms, b began ${Math.round(bStart - aActive)} ms later; stop: b gone ${Math.round(bGone - stopAt)} ms, a stopping ${Math.round(aStops - bGone)} ms after`);
  }, 120_000);

  it('a clone runs once on each of 3 nodes, and comes back on a node that rejoins', async () => {
    const t = await up(3, { 'c.service': slowUnit(0) }, (p) => ({ cr: systemd(`${p}c.service`) }), () => ({ clones: { cl: { child: 'cr' } } }));
    const cl = c!;
    const s = cl.sampleUnits(`${cl.prefix}c.service`);
    const allUp = await s.waitUntil('active on every node', (k) => cl.nodes.every((n) => k.states[n.name] === 'active'), LIVENESS_MS);
    const victim = cl.nodes[2]!;
    await cl.powerLoss(victim);
    await sleep(2000);
    const others = cl.nodes.filter((n) => n !== victim);
    expect(await Promise.all(others.map((n) => n.unitState(`${cl.prefix}c.service`)))).toEqual(['active', 'active']);
    await cl.powerOn(victim);
    t.startAgent(victim);
    const back = await s.waitUntil(`active on ${victim.name} again`, (k) => k.states[victim.name] === 'active', LIVENESS_MS, true);
    const tl = await s.stop();
    expect(cl.nodes.map((n) => back.states[n.name])).toEqual(['active', 'active', 'active']);
    // the survivors' instances ran on untouched through the loss and the rejoin
    const others2 = cl.nodes.filter((n) => n !== victim).map((n) => n.name);
    const blips = tl.ticks.filter((k) => k.t >= allUp.t && others2.some((n) => k.states[n] !== 'active'));
    expect(blips.map((k) => k.states)).toEqual([]);
    // and the cluster's status says so (it follows the samples by one commit)
    await t.waitFor('status: the clone started on every node', async () => {
      const st = await t.status(cl.nodes[0]!);
      const on = st?.resources.filter((r) => r.clone === 'cl' && r.state === 'started').flatMap((r) => r.nodes).sort();
      return JSON.stringify(on) === JSON.stringify(cl.nodes.map((n) => n.name)) ? true : null;
    }, 5000, 100);
    console.log(`[itest clone] once per node, back on ${victim.name} after its power-on (${tl.ticks.length} samples)`);
  }, 120_000);

  it('a promotable resource has exactly one promoted instance; after the promoted node\'s power loss a survivor is promoted after the fence', async () => {
    const dir = fs.mkdtempSync('/tmp/tshprom-');
    const script = path.join(dir, 'stateful.sh');
    fs.writeFileSync(script, [
      '#!/bin/sh',
      `D=${dir}; N=$TSHA_NODE; PID=$D/$N.pid; ROLE=$D/$N.role`,
      'alive() { [ -f $PID ] && kill -0 "$(cat $PID)" 2>/dev/null; }',
      'case "$1" in',
      '  start) alive && exit 0; setsid sleep infinity >/dev/null 2>&1 </dev/null & echo $! > $PID; echo unpromoted > $ROLE; exit 0;;',
      '  stop) alive && kill "$(cat $PID)"; rm -f $PID $ROLE; exit 0;;',
      '  monitor) alive || exit 7; grep -qx promoted $ROLE && exit 8; exit 0;;',
      '  promote) alive || exit 7; echo promoted > $ROLE; exit 0;;',
      '  demote) alive || exit 7; echo unpromoted > $ROLE; exit 0;;',
      'esac; exit 3',
    ].join('\n'));
    fs.chmodSync(script, 0o755);
    const t = await up(3, {}, () => ({
      st: {
        kind: 'exec',
        params: { start: `${script} start`, stop: `${script} stop`, monitor: `${script} monitor`, promote: `${script} promote`, demote: `${script} demote` },
        operations: { monitor: { intervalMs: 1000, timeoutMs: 5000 } },
      },
    }), () => ({ clones: { pst: { child: 'st', promotable: true } } }));
    const cl = c!;
    // sampled from outside every 20 ms: which powered nodes run a promoted instance
    const samples: { t: number; promoted: string[] }[] = [];
    const promotedNow = (): string[] => cl.nodes.filter((n) => {
      if (n.power !== 'up') return false;
      try {
        const pid = Number(fs.readFileSync(path.join(dir, `${n.name}.pid`), 'utf8'));
        process.kill(pid, 0);
        return fs.readFileSync(path.join(dir, `${n.name}.role`), 'utf8').trim() === 'promoted';
      } catch {
        return false;
      }
    }).map((n) => n.name);
    let sampling = true;
    const loop = (async () => {
      while (sampling) {
        samples.push({ t: now(), promoted: promotedNow() });
        await sleep(20);
      }
    })();
    try {
      await t.waitFor('one promoted instance', async () => (promotedNow().length === 1 ? true : null), LIVENESS_MS, 50);
      await sleep(1500);
      const primary = cl.node(promotedNow()[0]!);
      const { t: faultT } = await cl.powerLoss(primary);
      await t.waitFor('a survivor promoted', async () => (promotedNow().some((n) => n !== primary.name) ? true : null), LIVENESS_MS, 50);
      await sleep(1000);
      sampling = false;
      await loop;
      expect(samples.filter((x) => x.promoted.length > 1), 'two promoted at once').toEqual([]);
      const fenced = cl.fenceLog.find((e) => e.action === 'off' && e.plug === primary.name && e.t >= faultT);
      expect(fenced, 'the lost primary was fenced').toBeDefined();
      const promotedAt = samples.find((x) => x.t > faultT && x.promoted.length === 1)!.t;
      expect(promotedAt).toBeGreaterThanOrEqual(fenced!.t);
      const st = await t.status(cl.nodes.find((n) => n !== primary)!);
      expect(st?.resources.filter((r) => r.clone === 'pst' && r.state === 'promoted').flatMap((r) => r.nodes)).toHaveLength(1);
      console.log(`[itest promotable] ${primary.name} promoted, power loss → fenced after ${Math.round(fenced!.t - faultT)} ms, a survivor promoted after ${Math.round(promotedAt - faultT)} ms; never two promoted (${samples.length} samples)`);
    } finally {
      sampling = false;
      await loop;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('`tsha resource cleanup` clears a fail count for good', async () => {
    const t = await up(3, { 'w.service': slowUnit(0) }, (p) => ({ w: systemd(`${p}w.service`) }));
    const cl = c!;
    const holder = await waitActive(cl, `${cl.prefix}w.service`);
    // the monitor finds it dead: counted (monitor), restarted in place
    await holder.systemctl('kill', '--signal=KILL', `${cl.prefix}w.service`);
    const failCount = async (): Promise<number> => {
      const st = await t.status(holder);
      return st?.resources.find((r) => r.id === 'w')?.failCounts.reduce((n, f) => n + f.count, 0) ?? -1;
    };
    await t.waitFor('the failure counted', async () => ((await failCount()) === 1 ? true : null), LIVENESS_MS, 100);
    const st = await t.status(holder);
    expect(st?.resources.find((r) => r.id === 'w')?.failCounts).toEqual([expect.objectContaining({ node: holder.name, operation: 'monitor', count: 1 })]);
    await waitActive(cl, `${cl.prefix}w.service`);
    cli(t, holder, ['resource', 'cleanup', 'w']);
    expect(await failCount()).toBe(0);
    await sleep(3000); // reported again by the node that saw it? it must not be
    expect(await failCount()).toBe(0);
    const other = cl.nodes.find((n) => n !== holder)!;
    expect((await t.status(other))?.resources.find((r) => r.id === 'w')?.failCounts).toEqual([]);
  }, 120_000);

  it('maintenance mode (a configuration reload) leaves a failed unit alone; it is recovered once maintenance ends', async () => {
    const t = await up(3, { 'm.service': slowUnit(0) }, (p) => ({ m: systemd(`${p}m.service`) }));
    const cl = c!;
    const unit = `${cl.prefix}m.service`;
    const holder = await waitActive(cl, unit);
    const reload = async (maintenance: boolean): Promise<void> => {
      const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Json;
      cfg.maintenanceMode = maintenance;
      fs.writeFileSync(t.configFile, JSON.stringify(cfg, null, 2));
      for (const n of cl.nodes) t.agents.get(n.name)!.kill('SIGHUP');
      await t.waitFor(`maintenance ${maintenance} in force`, async () => {
        const all = await Promise.all(cl.nodes.map((n) => t.status(n)));
        return all.every((s) => s?.maintenanceMode === maintenance) ? true : null;
      }, 10_000, 100);
    };
    await reload(true);
    await holder.systemctl('kill', '--signal=KILL', unit);
    // systemctl kill returns before systemd saw the process die: the window starts once it did
    const s = cl.sampleUnits(unit);
    await s.waitUntil(`${unit} down on ${holder.name}`, (k) => k.states[holder.name] !== 'active' && k.states[holder.name] !== 'activating', 10_000);
    const killedAt = now();
    await sleep(4000);
    const tl = await s.stop();
    expect(tl.ticks.filter((k) => k.t >= killedAt && Object.values(k.states).some((x) => x === 'active' || x === 'activating')), 'restarted in maintenance').toEqual([]);
    const st = await t.status(holder);
    expect(st?.resources.find((r) => r.id === 'm')).toMatchObject({ state: 'failed', managed: false });
    expect(st?.lastChangeBy).toMatch(/maintenanceMode: false → true/);
    await reload(false);
    await waitActive(cl, unit);
  }, 120_000);

  it('a stop that does not finish in time gets its node fenced before the resource starts elsewhere', async () => {
    // ignores SIGTERM, and systemd waits for it forever: the agent's stop times out after 2 s
    const stubborn = "[Unit]\nDescription=tsha plan-execution test\n[Service]\nExecStart=/bin/sh -c 'trap \"\" TERM; while :; do sleep 1; done'\nTimeoutStopSec=infinity\n";
    const t = await up(3, { 's.service': stubborn }, (p) => ({ s: systemd(`${p}s.service`, { stop: { timeoutMs: 2000 } }) }));
    const cl = c!;
    const unit = `${cl.prefix}s.service`;
    const holder = await waitActive(cl, unit);
    const target = cl.nodes.find((n) => n !== holder)!;
    const s = cl.sampleUnits(unit);
    const moveAt = now();
    cli(t, target, ['resource', 'move', 's', target.name]);
    await s.waitUntil(`active on ${target.name}`, (k) => k.states[target.name] === 'active', LIVENESS_MS);
    await sleep(1000);
    const tl = await s.stop();
    expect(overlap(tl).ticks, JSON.stringify(overlap(tl).intervals)).toBe(0);
    const fenced = cl.fenceLog.find((e) => e.action === 'off' && e.plug === holder.name && e.t >= moveAt);
    expect(fenced, `${holder.name} fenced after its stop failed`).toBeDefined();
    const active = firstIn(tl, target.name, ['active'])!;
    expect(active).toBeGreaterThanOrEqual(fenced!.t);
    console.log(`[itest stop-failure] move → ${holder.name}'s stop timed out, fenced after ${Math.round(fenced!.t - moveAt)} ms, active on ${target.name} after ${Math.round(active - moveAt)} ms`);
  }, 120_000);

  it('`tsha resource disable/enable` stop and start a resource; `tsha node maintenance` leaves a failed unit on that node alone', async () => {
    const t = await up(3, { 'e.service': slowUnit(0) }, (p) => ({ e: systemd(`${p}e.service`) }));
    const cl = c!;
    const unit = `${cl.prefix}e.service`;
    const holder = await waitActive(cl, unit);
    cli(t, holder, ['resource', 'disable', 'e']);
    await t.waitFor('e stopped everywhere', async () => {
      const st = await Promise.all(cl.nodes.map((n) => n.unitState(unit)));
      return st.every((x) => x === 'inactive' || x === 'failed') ? true : null;
    }, LIVENESS_MS, 100);
    // the status says so once the stop's result is committed: it follows the unit by one commit
    const stopped = await t.waitFor('status: e stopped', async () => {
      const r = (await t.status(holder))?.resources.find((x) => x.id === 'e');
      return r?.state === 'stopped' ? r : null;
    }, 5000, 50);
    expect(stopped).toMatchObject({ state: 'stopped', targetRole: 'stopped' });
    cli(t, holder, ['resource', 'enable', 'e']);
    const again = await waitActive(cl, unit);
    cli(t, again, ['node', 'maintenance', again.name, 'on']);
    await again.systemctl('kill', '--signal=KILL', unit);
    // `systemctl kill` returns once the signal is sent; systemd notices the death a little later
    await t.waitFor('the killed unit failed', async () => ((await again.unitState(unit)) === 'failed' ? true : null), 5000, 20);
    const s = cl.sampleUnits(unit);
    await sleep(4000);
    const tl = await s.stop();
    expect(tl.ticks.filter((k) => Object.values(k.states).some((x) => x === 'active' || x === 'activating')), 'recovered in node maintenance').toEqual([]);
    const st = await t.status(again);
    expect(st?.nodes.find((n) => n.name === again.name)?.maintenance).toBe(true);
    expect(st?.resources.find((r) => r.id === 'e')?.state).toBe('failed');
    cli(t, again, ['node', 'maintenance', again.name, 'off']);
    await waitActive(cl, unit);
  }, 120_000);

  it('a reload that changes the fence device: the next fence goes through the new one', async () => {
    const t = await up(3, { 'f.service': slowUnit(0) }, (p) => ({ f: systemd(`${p}f.service`) }));
    const cl = c!;
    const unit = `${cl.prefix}f.service`;
    const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as { fencing: { devices: Record<string, Json> } };
    const power = cfg.fencing.devices.power!;
    // started with a device that cannot reach the harness: every fence through it fails
    const broken = { ...power, parameters: { ...(power.parameters as Json), harness_socket: '/nonexistent/fence.sock' } };
    const write = (devices: Record<string, Json>): void => {
      const now = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Json;
      (now.fencing as Json).devices = devices;
      fs.writeFileSync(t.configFile, JSON.stringify(now, null, 2));
    };
    for (const n of cl.nodes) t.agents.get(n.name)!.kill('SIGTERM');
    await sleep(1500);
    write({ broken });
    for (const n of cl.nodes) t.startAgent(n);
    await t.waitQuorate(FORM_MS);
    const holder = await waitActive(cl, unit);
    // the reload swaps it for the working one
    write({ power });
    for (const n of cl.nodes) t.agents.get(n.name)!.kill('SIGHUP');
    await t.waitFor('the reload applied everywhere', async () => {
      const all = await Promise.all(cl.nodes.map((n) => t.status(n)));
      return all.every((x) => /fence devices added: power/.test(x?.lastChangeBy ?? '')) ? true : null;
    }, 10_000, 100);
    const s = cl.sampleUnits(unit);
    const { t: faultT } = await cl.powerLoss(holder);
    await s.waitUntil('active on a survivor', (k) => cl.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), LIVENESS_MS);
    const tl = await s.stop();
    expect(overlap(tl).ticks).toBe(0);
    expect(cl.fenceLog.some((e) => e.action === 'off' && e.plug === holder.name && e.t >= faultT && e.response.ok)).toBe(true);
  }, 120_000);
});

/** The node where the unit is active, once it is active on exactly one. */
async function waitActive(cl: Cluster, unit: string): Promise<ClusterNode> {
  const end = now() + LIVENESS_MS;
  for (;;) {
    const on: ClusterNode[] = [];
    for (const n of cl.nodes) if (n.power === 'up' && (await n.unitState(unit).catch(() => '')) === 'active') on.push(n);
    if (on.length === 1) return on[0]!;
    if (now() > end) throw new Error(`${unit} not active on exactly one node within ${LIVENESS_MS} ms (on ${on.map((n) => n.name).join(',') || 'none'})`);
    await sleep(100);
  }
}
