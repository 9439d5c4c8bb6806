// A resource found running on a second node, because the operator started its unit there by hand
// (systemctl on that node's own systemd, beside the cluster), is resolved by the running agents
// by its multiple-active policy, on the real-cluster harness (namespaced nodes, wireguard-go mesh,
// one real `systemd --user` per node), sampled from outside every 20 ms:
//   - stop_start (the default): both copies stop, then exactly one starts;
//   - stop_only: both copies stop and stay stopped (its target role is set to stopped);
//   - block: both copies run on, untouched, and `tsha status` shows it on both nodes, blocked.
// The second node's agent finds the copy by its probe of the resources it does not run, at the
// resource's monitor interval (1 s here): nothing else tells it.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites, createCluster, now, sleep, type Cluster, type ClusterNode, type Tick } from './harness.js';
import { ensureBuilt, MAIN_JS, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn(`skipping multiple-active cluster tests, missing: ${pre.missing.join(', ')}`);

const FORM_MS = 30_000;
const LIVENESS_MS = 20_000;
const UNIT = 'web.service';
type Json = Record<string, unknown>;

const active = (k: Tick): string[] => Object.entries(k.states).filter(([, s]) => s === 'active' || s === 'activating').map(([n]) => n).sort();

describe.skipIf(!pre.ok)('a copy started by hand on a second node is resolved by the multiple-active policy', () => {
  let c: Cluster | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  /** A 3-node cluster running `web` (a unit that sleeps) with the given meta; resolves once it runs on one node. */
  async function up(meta: Json): Promise<{ t: TshaCluster; cl: Cluster; unit: string; home: ClusterNode; other: ClusterNode }> {
    c = await createCluster({ nodes: 3 });
    const cl = c;
    const t = new TshaCluster(cl);
    const unit = `${cl.prefix}${UNIT}`;
    const cfg = JSON.parse(fs.readFileSync(t.configFile, 'utf8')) as Json;
    cfg.resources = {
      web: {
        kind: 'systemd', params: { unit }, meta,
        operations: { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 10_000 }, stop: { timeoutMs: 10_000 } },
      },
    };
    fs.writeFileSync(t.configFile, JSON.stringify(cfg, null, 2));
    for (const n of cl.nodes) n.writeUnit(unit, '[Unit]\nDescription=tsha multiple-active test\n[Service]\nExecStart=/bin/sleep infinity\n');
    await Promise.all(cl.nodes.map((n) => n.daemonReload()));
    t.startAll();
    await t.waitQuorate(FORM_MS);
    const name = await t.waitFor('web active on exactly one node', async () => {
      const on = (await Promise.all(cl.nodes.map(async (n) => ((await n.unitState(unit)) === 'active' ? n.name : null)))).filter((x) => x !== null);
      return on.length === 1 ? on[0] : null;
    }, LIVENESS_MS, 100);
    const home = cl.node(name);
    // settle: the start's transition has ended, the record says where web runs
    await t.waitFor('status: web started on one node', async () => {
      const st = await t.status(home);
      const web = st?.resources.find((r) => r.id === 'web');
      return web?.state === 'started' && web.nodes.length === 1 ? true : null;
    }, LIVENESS_MS, 100);
    return { t, cl, unit, home, other: cl.nodes.find((n) => n !== home)! };
  }

  /** The operator starts the unit by hand on `n`, beside the cluster; returns when systemd says it is active. */
  async function startByHand(n: ClusterNode, unit: string): Promise<number> {
    const at = now();
    const r = await n.systemctl('start', unit);
    expect(r.code, r.stderr).toBe(0);
    expect(await n.unitState(unit)).toBe('active');
    return at;
  }

  it('stop_start (the default): both copies stop, then exactly one starts', async () => {
    const { cl, unit, home, other } = await up({});
    const s = cl.sampleUnits(unit);
    await sleep(300);
    const handAt = await startByHand(other, unit);
    const two = await s.waitUntil('active on two nodes', (k) => k.t >= handAt && active(k).length === 2, 5000);
    const none = await s.waitUntil('stopped on both', (k) => k.t > two.t && active(k).length === 0, LIVENESS_MS);
    const one = await s.waitUntil('started again on one node', (k) => k.t > none.t && active(k).length === 1, LIVENESS_MS);
    await sleep(3000); // steady: no further copy
    const tl = await s.stop();
    const after = tl.ticks.filter((k) => k.t >= none.t);
    // the cluster never ran more than one copy itself: from the moment both stopped, at most one
    expect(after.filter((k) => active(k).length > 1).map((k) => k.states)).toEqual([]);
    expect(active(tl.ticks.at(-1)!)).toEqual(active(one));
    // the stop came before the start: no node went from the hand-made pair straight to one copy
    // without a tick in which none ran
    expect(none.t).toBeLessThan(one.t);
    console.log(`[itest multiple-active stop_start] hand copy on ${other.name} beside ${home.name}: both stopped ${Math.round(none.t - two.t)} ms after the pair was seen, one started on ${active(one).join(',')} ${Math.round(one.t - none.t)} ms later`);
  }, 120_000);

  it('stop_only: both copies stop and stay stopped, and the resource is disabled', async () => {
    const { t, cl, unit, home, other } = await up({ multipleActive: 'stop_only' });
    const s = cl.sampleUnits(unit);
    await sleep(300);
    const handAt = await startByHand(other, unit);
    const two = await s.waitUntil('active on two nodes', (k) => k.t >= handAt && active(k).length === 2, 5000);
    const none = await s.waitUntil('stopped on both', (k) => k.t > two.t && active(k).length === 0, LIVENESS_MS);
    await sleep(5000); // five probe intervals: nothing starts it again
    const tl = await s.stop();
    expect(tl.ticks.filter((k) => k.t >= none.t && active(k).length > 0).map((k) => k.states)).toEqual([]);
    const st = await t.status(home, 5000);
    const web = st?.resources.find((r) => r.id === 'web');
    expect(web).toMatchObject({ state: 'stopped', targetRole: 'stopped', nodes: [] });
    console.log(`[itest multiple-active stop_only] hand copy on ${other.name} beside ${home.name}: both stopped ${Math.round(none.t - two.t)} ms after the pair was seen, none for 5 s after`);
  }, 120_000);

  it('block: both copies run on untouched, and tsha status shows the resource on both nodes, blocked', async () => {
    const { t, cl, unit, home, other } = await up({ multipleActive: 'block' });
    const s = cl.sampleUnits(unit);
    await sleep(300);
    const handAt = await startByHand(other, unit);
    // the second node's agent finds the copy (its probe, at the monitor interval) and the status says so
    const both = [home.name, other.name].sort();
    await t.waitFor('status: web on both nodes, blocked', async () => {
      const st = await t.status(home);
      const web = st?.resources.find((r) => r.id === 'web');
      return web && JSON.stringify(web.nodes) === JSON.stringify(both) && web.blocked ? true : null;
    }, LIVENESS_MS, 100);
    const seenAt = now();
    const text = execFileSync(process.execPath, [MAIN_JS, 'status', '--socket', t.socket(home)], { encoding: 'utf8', timeout: 20_000 });
    expect(text).toContain(`web (systemd:${unit}): Started [ ${both.join(' ')} ] (blocked)`);
    const json = JSON.parse(execFileSync(process.execPath, [MAIN_JS, 'status', '--output', 'json', '--socket', t.socket(home)], { encoding: 'utf8', timeout: 20_000 })) as { resources: { id: string; nodes: string[]; blocked: boolean; reason: string }[] };
    expect(json.resources.find((r) => r.id === 'web')).toMatchObject({ nodes: both, blocked: true, reason: `multiple-active=block: active on ${both.join(', ')}` });
    await sleep(4000); // the cluster touches neither copy
    const tl = await s.stop();
    const since = tl.ticks.filter((k) => k.t >= handAt + 200);
    expect(since.filter((k) => JSON.stringify(active(k)) !== JSON.stringify(both)).map((k) => k.states)).toEqual([]);
    console.log(`[itest multiple-active block] hand copy on ${other.name} beside ${home.name}: shown on both, blocked, ${Math.round(seenAt - handAt)} ms after the hand start; both ran on for 4 s`);
  }, 120_000);
});
