// `tsha history` on a loopback cluster (real agents, real gRPC mesh and control sockets): after a
// power loss and an operator ban, every node tells the same story from the replicated state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackCluster, tshaCliSync } from './loopback-cluster.js';

const tsha = (...args: string[]) => tshaCliSync(args);

describe('tsha history on loopback', () => {
  let c: LoopbackCluster;
  let lost = '';
  let survivor = '';
  beforeAll(async () => {
    c = new LoopbackCluster({ nodes: 3, resources: ['web'] });
    c.startAll();
    lost = (await c.waitFor('web running on one node', () => (c.runningOn('web').length === 1 ? c.runningOn('web')[0] : null), 40_000))!;
    c.powerOff(lost);
    survivor = (await c.waitFor('web on a survivor', () => c.runningOn('web').find((n) => n !== lost), 30_000))!;
    const other = c.nodes.find((n) => n.name !== lost && n.name !== survivor)!.name;
    const ban = tsha('resource', 'ban', 'web', other, '--socket', c.node(survivor).socket);
    expect(ban.status, ban.stderr).toBe(0);
  }, 90_000);
  afterAll(async () => {
    await c?.destroy();
  });

  it('shows the fence, the failover and the ban, the same on every live node', async () => {
    const live = c.nodes.filter((n) => n.name !== lost);
    const texts = await c.waitFor('the ban in every node\'s history', () => {
      const outs = live.map((n) => tsha('history', '--socket', n.socket));
      return outs.every((o) => o.status === 0 && o.stdout.includes('web banned from')) ? outs.map((o) => o.stdout) : null;
    }, 10_000, 200);
    const t = texts[0]!;
    expect(t).toMatch(new RegExp(`node-down\\s+${lost} fenced \\(device power, by n\\d\\): node ${lost} is unclean \\(lost without confirmation\\) \\(it ran web\\)`));
    expect(t).toMatch(new RegExp(`failover\\s+web recovered on ${survivor}, lost with ${lost}`));
    expect(t).toMatch(/transition\s+transition \d+ by n\d \(term \d+\): .*start web/);
    // one story: the lines every node shows are the same (times come from each node's clock)
    const strip = (s: string) => s.split('\n').map((l) => l.slice(26)).filter((l) => !l.includes('transition-end'));
    expect(strip(texts[1]!).slice(0, 5)).toEqual(strip(t).slice(0, 5));
  }, 30_000);

  it('the fencing history says which device fenced the node and which coordinator ran it (from the replicated state)', async () => {
    const st = await c.status(survivor);
    const f = st?.fenceHistory.find((x) => x.target === lost && x.status === 'ok' && x.executor !== '');
    expect(f, JSON.stringify(st?.fenceHistory)).toBeDefined();
    expect(f!.device).toBe('power');
    expect(c.nodes.map((n) => n.name)).toContain(f!.executor);
    const text = tsha('status', '--socket', c.node(survivor).socket).stdout;
    expect(text).toMatch(new RegExp(`\\* off of ${lost} successful: fenced: node ${lost} is unclean \\(lost without confirmation\\) \\(term \\d+, log index \\d+\\) \\(device power, by ${f!.executor}\\) at \\d{4}-`));
  }, 30_000);

  it('filters by resource, node, kind and time, and prints JSON', () => {
    const socket = c.node(survivor).socket;
    const byKind = tsha('history', '--kind', 'node-down', '--socket', socket);
    expect(byKind.stdout.trim().split('\n')).toHaveLength(1);
    expect(byKind.stdout).toContain(`${lost} fenced`);
    const json = JSON.parse(tsha('history', '--resource', 'web', '--output', 'json', '--socket', socket).stdout) as { node: string; events: { kind: string; resource: string; timeUnixMs: number }[] };
    expect(json.node).toBe(survivor);
    expect(json.events.length).toBeGreaterThan(0);
    expect(json.events.every((e) => e.resource === 'web')).toBe(true);
    expect(json.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['failover', 'constraint']));
    const ages = json.events.map((e) => Date.now() - e.timeUnixMs);
    expect(Math.max(...ages)).toBeLessThan(120_000);
    expect(tsha('history', '--since', '1ms', '--socket', socket).stdout).toBe('No events.\n');
    const bad = tsha('history', '--since', 'yesterday', '--socket', socket);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--since yesterday: expected a duration');
  }, 30_000);
});
