// A node whose log segment went bad, on a loopback cluster (real agents, gRPC mesh): it refuses to
// start naming the file and the byte offset, touching nothing; the operator moves the log and the
// snapshot away (the hard state, with its term and vote, stays: docs/agent.md, "Durable state"),
// and the node rejoins from its peers: it follows the coordinator and catches up with the
// replicated log. The resource keeps running once, where it ran.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBlob } from '../../src/adapters/disk-store.js';
import { LoopbackCluster } from './loopback-cluster.js';

describe('loopback: a corrupt log segment, moved away by the operator, and the node rejoins', () => {
  let c: LoopbackCluster | null = null;
  afterAll(async () => {
    await c?.destroy();
  });

  it('refuses, then rejoins from its peers with its hard state kept', async () => {
    c = new LoopbackCluster({ nodes: 3, resources: ['web'] });
    c.startAll();
    const holder = await c.waitFor('web running on one node', () => (c!.runningOn('web').length === 1 ? c!.runningOn('web')[0] : null), 40_000);
    const coordinatorOf = async (n: string): Promise<string | null> => (await c!.status(n))?.coordinator || null;
    const coord = await c.waitFor('a coordinator', () => coordinatorOf(holder), 10_000);
    const victim = c.nodes.find((n) => n.name !== holder && n.name !== coord)!;

    // its agent crashes (kill -9), then a bit flips in its first log record
    const exited = new Promise((r) => victim.proc!.once('exit', r));
    c.killAgent(victim.name);
    await exited;
    const seg = join(victim.stateDir, 'log', readdirSync(join(victim.stateDir, 'log')).filter((f) => f.endsWith('.seg')).sort()[0]!);
    const bytes = readFileSync(seg);
    expect(bytes.length).toBeGreaterThan(40);
    bytes[8 + 8 + 5]! ^= 0x10;
    writeFileSync(seg, bytes);
    const hardstate = readFileSync(join(victim.stateDir, 'hardstate'));

    const refused = c.start(victim.name);
    const code = await new Promise<number | null>((r) => refused.once('exit', (cd) => r(cd)));
    expect(code).toBe(1);
    const log = readFileSync(victim.logFile, 'utf8');
    expect(log).toContain(`state file ${seg} is corrupt: checksum mismatch in record at byte 8`);
    expect(readFileSync(seg).equals(bytes)).toBe(true);

    // the operator moves the log and the snapshot away, keeping the hard state (term and vote)
    const aside = join(dirname(victim.stateDir), `${victim.name}.bad`);
    mkdirSync(aside);
    renameSync(join(victim.stateDir, 'log'), join(aside, 'log'));
    if (existsSync(join(victim.stateDir, 'snapshot'))) renameSync(join(victim.stateDir, 'snapshot'), join(aside, 'snapshot'));
    const target = (await c.status(coord))!.commitIndex;
    c.start(victim.name);
    // it follows the coordinator again and has the replicated log back, up to what was committed before
    const st = await c.waitFor('the node caught up with the coordinator', async () => {
      const s = await c!.status(victim.name);
      return s && s.quorum?.quorate && s.coordinator === coord && s.commitIndex >= target ? s : null;
    }, 30_000, 100);
    expect(st.nodes.find((n) => n.name === victim.name)?.state).toBe('online');
    // its term never went backwards: the kept hard state was its starting point
    expect(st.term).toBeGreaterThanOrEqual((decodeBlob('hardstate', hardstate) as { term: number }).term);
    expect(readdirSync(join(victim.stateDir, 'log')).some((f) => f.endsWith('.seg'))).toBe(true);
    expect(c.runningOn('web')).toEqual([holder]);
  }, 120_000);
});
