// nextTickAt: the agent's and the simulator's tick schedule. Half a heartbeat while anything is
// unsettled; in a steady cluster only the coordinator's heartbeats and the deadlines a tick decides.
import { describe, expect, it } from 'vitest';
import { nextTickAt, startNode, step } from '../../../src/core/cluster/node.js';
import type { Message } from '../../../src/core/cluster/messages.js';
import { Sim } from '../../sim/engine.js';
import { makeConfig } from '../../sim/config.js';

const cfg = makeConfig({ nodes: 3, resources: 1 });
const hb = cfg.timing.heartbeatIntervalMs;
const heartbeat = (term: number, sentAt: number): Message => ({ type: 'AppendEntries', term, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, sentAt, lease: null, peerIncluded: false });

describe('nextTickAt', () => {
  it('a follower hearing its coordinator next ticks 2.5 heartbeats after the last message, then every half heartbeat', () => {
    const n = startNode(cfg, 'n1', null, 0, 7);
    step(n, { type: 'message', from: 'n2', msg: heartbeat(1, 0), now: 10_000 });
    expect(n.leader).toBe('n2');
    expect(nextTickAt(n, 10_000)).toBe(10_000 + Math.floor(hb * 2.5));
    // heard again: the tick moves on with the heartbeats
    step(n, { type: 'message', from: 'n2', msg: heartbeat(1, 100), now: 10_100 });
    expect(nextTickAt(n, 10_100)).toBe(10_100 + Math.floor(hb * 2.5));
    // the coordinator fell silent: the half-heartbeat pace, anchored at the last tick
    const silentAt = 10_100 + Math.floor(hb * 2.5);
    step(n, { type: 'tick', now: silentAt });
    expect(nextTickAt(n, silentAt)).toBe(silentAt + hb / 2);
    expect(nextTickAt(n, silentAt + 10)).toBe(silentAt + hb / 2); // a message in between does not postpone it
  });

  it('a node without a coordinator ticks every half heartbeat', () => {
    const n = startNode(cfg, 'n1', null, 0, 7);
    step(n, { type: 'tick', now: 100 });
    expect(nextTickAt(n, 100)).toBe(100 + hb / 2);
  });

  it('the lease end and its no-quorum margin are ticks of their own', () => {
    const n = startNode(cfg, 'n1', null, 0, 7, {}, [{ resource: 'r0', role: 'started' }]); // re-adopted: keeps r0 for one lease
    step(n, { type: 'message', from: 'n2', msg: heartbeat(1, 0), now: 10 });
    const margin = Math.floor(cfg.timing.leaseMs / 4);
    const at = n.leaseUntil - margin - 20;
    step(n, { type: 'message', from: 'n2', msg: heartbeat(1, 100), now: at });
    expect(nextTickAt(n, at)).toBe(n.leaseUntil - margin);
  });

  it('in a steady simulated cluster the coordinator ticks once a heartbeat and members almost never; a silent member restores the pace', () => {
    const sim = new Sim({ seed: 3, config: cfg });
    sim.runUntil(5000);
    const leader = sim.coordinator()!;
    expect(leader).not.toBeNull();
    const ticks = () => new Map([...sim.machines].map(([name, m]) => [name, m.ticks]));
    const t0 = ticks();
    sim.runUntil(7000);
    const steady = new Map([...ticks()].map(([name, n]) => [name, n - t0.get(name)!]));
    const beats = 2000 / hb; // 2 s of heartbeats
    expect(steady.get(leader)).toBeGreaterThanOrEqual(beats - 2);
    expect(steady.get(leader)).toBeLessThanOrEqual(beats + 2);
    for (const [name, n] of steady) if (name !== leader) expect(n).toBeLessThanOrEqual(2);
    // a member that runs nothing: cut off, it stays silent (one that runs something is fenced, and then down)
    const record = sim.machine(leader).core!.cluster.active;
    const member = [...sim.machines.keys()].find((x) => x !== leader && !record[x])!;
    expect(member).toBeDefined();
    sim.partition([member], [...sim.machines.keys()].filter((x) => x !== member));
    const t1 = ticks();
    sim.runUntil(9000);
    // both sides unsettled: every half heartbeat, from 1.5 heartbeats of silence on the
    // coordinator and from 2.5 on the member
    expect(ticks().get(leader)! - t1.get(leader)!).toBeGreaterThanOrEqual(2 * beats - 4);
    expect(ticks().get(member)! - t1.get(member)!).toBeGreaterThanOrEqual((2000 - 2.5 * hb) / (hb / 2) - 1);
  });
});
