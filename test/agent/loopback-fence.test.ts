// `tsha fence NODE --yes` against a live loopback cluster (three `tsha agent` processes, real gRPC
// mesh and control sockets, the loopback fence agent scripts/fence_tsha_loopback, which "powers a
// node off" by killing its agent and resources): the request is committed through the coordinator,
// the node is fenced, its resource recovered on a survivor, and `tsha status` shows the fence in
// its history with who asked; `tsha fence check` answered by an agent. Refusals: an unknown node, a node already down, no quorum.

import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackCluster, tshaCli } from './loopback-cluster.js';

/** fence commands wait for the fence itself */
const fenceCli = (args: string[]) => tshaCli(args, 60_000);

describe('tsha fence NODE on a loopback cluster', () => {
  let c: LoopbackCluster;
  beforeAll(() => {
    c = new LoopbackCluster({ nodes: 3, resources: ['web'], monitorIntervalMs: 500 });
    c.startAll();
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it('fences the holder through the coordinator; web recovers elsewhere; the fence history shows it', async () => {
    await c.waitFor('a quorate cluster every node agrees on', async () => {
      const all = await Promise.all(c.nodes.map((n) => c.status(n.name)));
      const names = new Set(all.map((s) => s?.coordinator ?? ''));
      return names.size === 1 && !names.has('') && all.every((s) => s?.quorum?.quorate);
    }, 30_000, 100);
    const holder = await c.waitFor('web running on one node', () => {
      const on = c.runningOn('web');
      return on.length === 1 ? on[0] : null;
    }, 20_000);
    const asker = c.nodes.find((n) => n.name !== holder)!;

    // the preflight, run by the asker's agent (its fence path): every node can be fenced
    const check = await fenceCli(['fence', 'check', '--socket', asker.socket]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(new RegExp(`^${holder} +1 +power +fence_tsha_loopback +${holder} +ok +on +ok +\\d+ ms$`, 'm'));
    expect(check.stdout).toContain(`checked from ${asker.name} (its path to the devices)`);
    expect(check.stdout).toContain('every node checked can be fenced (3)');
    const one = await fenceCli(['fence', 'check', 'n9', '--socket', asker.socket]);
    expect(one).toMatchObject({ code: 2, stderr: expect.stringContaining('no node named "n9"') });

    const unknown = await fenceCli(['fence', 'n9', '--yes', '--socket', asker.socket]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no node named "n9"');

    const r = await fenceCli(['fence', holder, '--yes', '--socket', asker.socket]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^fenced: ${holder} confirmed powered off \\(log index \\d+\\) \\(commit index \\d+\\)$`, 'm'));
    // the holder's agent is gone (the loopback "power off"), web runs on a survivor
    expect(c.node(holder).proc?.exitCode !== null || c.node(holder).proc?.signalCode !== null).toBe(true);
    const survivor = await c.waitFor('web running on a survivor', () => {
      const on = c.runningOn('web');
      return on.length === 1 && on[0] !== holder ? on[0] : null;
    }, 20_000);
    expect(survivor).not.toBe(holder);

    const text = await fenceCli(['status', '--socket', asker.socket]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Fencing History:');
    // why: the operator's request, or, when the holder was the coordinator (it resets itself and
    // its successor fences it as a lost node), that it was lost
    expect(text.stdout).toMatch(new RegExp(`\\* off of ${holder} successful \\(requested by cli:[^)]+\\): fenced: (operator request by cli:|node ${holder} is unclean \\(lost without confirmation\\))`));
    const json = await fenceCli(['status', '--socket', asker.socket, '--output', 'json']);
    const s = JSON.parse(json.stdout) as { fenceHistory: { target: string; status: string; requestedBy: string }[]; nodes: { name: string; state: string }[] };
    expect(s.fenceHistory).toContainEqual(expect.objectContaining({ target: holder, status: 'ok', requestedBy: expect.stringMatching(/^cli:/) }));
    expect(s.nodes.find((n) => n.name === holder)?.state).toBe('offline');

    // a node already down is not fenced again
    const again = await fenceCli(['fence', holder, '--yes', '--socket', asker.socket]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${holder} is already down`);

    // the asker alone (one vote of three): no quorum, so no fence
    const third = c.nodes.find((n) => n.name !== holder && n.name !== asker.name)!;
    c.killAgent(third.name);
    await c.waitFor(`${asker.name} without quorum`, async () => (await c.status(asker.name))?.quorum?.quorate === false, 30_000, 100);
    const nq = await fenceCli(['fence', third.name, '--yes', '--socket', asker.socket]);
    expect(nq.code).toBe(1);
    expect(nq.stderr).toMatch(/no quorum: .* cannot fence/);
  }, 120_000);
});

describe('tsha fence NODE when the fence device fails', () => {
  let c: LoopbackCluster;
  beforeAll(() => {
    c = new LoopbackCluster({ nodes: 3, resources: ['web'], monitorIntervalMs: 500 });
    // a device that cannot fence anybody: fence_tsha_loopback without dir= fails every action
    const cfg = JSON.parse(readFileSync(c.configFile, 'utf8')) as { fencing: { devices: { power: { parameters: Record<string, string> } } } };
    cfg.fencing.devices.power.parameters = {};
    writeFileSync(c.configFile, JSON.stringify(cfg, null, 2));
    c.startAll();
  });
  afterAll(async () => {
    await c?.destroy();
  });

  it('answers after --wait with the request still pending, shows it in the history, and --cancel withdraws it', async () => {
    await c.waitFor('a quorate cluster running web', async () => (await c.status('n1'))?.quorum?.quorate && c.runningOn('web').length === 1, 30_000, 100);
    const holder = c.runningOn('web')[0]!;
    const asker = c.nodes.find((n) => n.name !== holder)!;
    const check = await fenceCli(['fence', 'check', holder, '--socket', asker.socket]);
    expect(check.code).toBe(1);
    expect(check.stderr).toBe(`tsha fence check: cannot fence ${holder}\n`);

    const r = await fenceCli(['fence', holder, '--yes', '--wait', '3', '--socket', asker.socket]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`fence of ${holder} requested \\(log index \\d+\\) but not confirmed within 3000 ms: the cluster keeps trying`));
    const pending = JSON.parse((await fenceCli(['status', '--socket', asker.socket, '--output', 'json'])).stdout) as { fenceHistory: { target: string; status: string }[] };
    expect(pending.fenceHistory).toContainEqual(expect.objectContaining({ target: holder, status: 'pending' }));
    // nothing moved: web is not started elsewhere before a confirmed fence
    expect(c.runningOn('web')).toEqual([holder]);

    const cancel = await fenceCli(['fence', holder, '--cancel', '--socket', asker.socket]);
    expect(cancel.stderr).toBe('');
    expect(cancel.stdout).toMatch(new RegExp(`^withdraw the fence request for ${holder}: done`));
    const after = JSON.parse((await fenceCli(['status', '--socket', asker.socket, '--output', 'json'])).stdout) as { fenceHistory: { target: string; status: string }[] };
    expect(after.fenceHistory.filter((f) => f.status === 'pending')).toEqual([]);
    await new Promise((res) => setTimeout(res, 1000));
    expect(c.runningOn('web')).toEqual([holder]);
  }, 120_000);
});
