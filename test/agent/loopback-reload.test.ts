// A configuration reload (SIGHUP) on a running loopback cluster, real gRPC mesh: a resource of a
// kind no resource had at start runs once the reload adds it (the agent makes the kind's driver on
// first use).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execResource, LoopbackCluster } from './loopback-cluster.js';

describe('reload on loopback', () => {
  let c: LoopbackCluster;
  beforeAll(() => {
    c = new LoopbackCluster({ nodes: 3, resources: [] });
    c.startAll();
  });
  afterAll(async () => {
    await c?.destroy();
  });

  const reload = async (edit: (cfg: Record<string, unknown>) => void): Promise<void> => {
    const cfg = JSON.parse(readFileSync(c.configFile, 'utf8')) as Record<string, unknown>;
    edit(cfg);
    writeFileSync(c.configFile, JSON.stringify(cfg, null, 2));
    for (const n of c.nodes) n.proc!.kill('SIGHUP');
    await c.waitFor('every agent reloaded', () => c.nodes.every((n) => readFileSync(n.logFile, 'utf8').includes('configuration reloaded')), 10_000);
  };

  it('a reload that adds the first exec resource: it runs on one node', async () => {
    await c.waitFor('a quorate cluster', async () => ((await c.status('n1'))?.quorum?.quorate ? true : null), 40_000, 100);
    await reload((cfg) => {
      cfg.resources = { web: execResource(c.dir, 'web', 500) };
    });
    const on = await c.waitFor('web running on one node', () => {
      const nodes = c.runningOn('web');
      return nodes.length === 1 ? nodes : null;
    }, 20_000);
    const s = await c.waitFor('the status shows it started', async () => {
      const st = await c.status(on[0]!);
      return st?.resources.find((r) => r.id === 'web')?.state === 'started' ? st : null;
    }, 5000, 100);
    expect(s.resources.find((r) => r.id === 'web')?.nodes).toEqual(on);
    expect(s.lastChangeBy).toMatch(/resources added: web/);
  }, 90_000);
});
