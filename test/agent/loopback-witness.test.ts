// Two nodes and a witness (`tsha witness`) on loopback, real gRPC mesh: the witness votes and hosts
// nothing; when the holder loses power, the survivor and the witness are a quorum, the holder is
// fenced (loopback fence agent), and the resource runs on the survivor.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackCluster } from './loopback-cluster.js';

describe('two nodes + witness on loopback', () => {
  let c: LoopbackCluster;
  beforeAll(() => {
    c = new LoopbackCluster({ nodes: 2, witness: true, resources: ['web'], monitorIntervalMs: 500 });
    c.startAll();
  });
  afterAll(async () => {
    await c?.destroy();
  });

  let holder = '';

  it('forms a quorate cluster with the witness and fails over when the holder loses power', async () => {
    const first = await c.waitFor('web running on one node', () => {
      const on = c.runningOn('web');
      return on.length === 1 ? on[0] : null;
    }, 40_000);
    const w = await c.waitFor('the witness sees the coordinator', async () => {
      const s = await c.status('w');
      return s?.coordinator && s.quorum?.quorate ? s : null;
    }, 20_000, 100);
    expect(w.quorum?.mode).toBe('witness');
    expect(w.nodeSelf).toBe('w');
    expect(['n1', 'n2']).toContain(w.coordinator); // the witness never leads: it hosts nothing

    const t0 = performance.now();
    c.powerOff(first!);
    const survivor = await c.waitFor('web on the survivor', () => {
      const on = c.runningOn('web');
      return on.length === 1 && on[0] !== first ? on[0] : null;
    }, 30_000);
    process.stdout.write(`[loopback witness] power loss of ${first} → web active on ${survivor} after ${Math.round(performance.now() - t0)} ms\n`);
    const s = await c.status(survivor!);
    expect(s?.quorum).toMatchObject({ quorate: true, witness: 'w', witnessState: 'reachable' });
    holder = survivor!;
  }, 90_000);

  it('SIGHUP with an invalid configuration changes nothing; a valid one is applied', async () => {
    const good = readFileSync(c.configFile, 'utf8');
    const n = c.node(holder);
    const pid = c.resourcePid(holder, 'web');
    const logged = (text: string): boolean => readFileSync(n.logFile, 'utf8').includes(text);
    writeFileSync(c.configFile, good.replace('"fencing": {', '"fencing": { "bogus": 1,'));
    n.proc!.kill('SIGHUP');
    await c.waitFor('the refusal in the log', () => logged('reload refused: invalid configuration; nothing changed'), 10_000);
    expect(readFileSync(n.logFile, 'utf8')).toContain('fencing.bogus');
    expect(n.proc!.exitCode).toBeNull();
    expect(c.resourcePid(holder, 'web')).toBe(pid);
    writeFileSync(c.configFile, good.replace('"intervalMs": 500', '"intervalMs": 700'));
    n.proc!.kill('SIGHUP');
    await c.waitFor('the reload in the log', () => logged('configuration reloaded'), 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(c.resourcePid(holder, 'web')).toBe(pid);
    expect((await c.status(holder))?.quorum?.quorate).toBe(true);
  }, 60_000);
});
