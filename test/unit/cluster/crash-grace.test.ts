// The crash grace (timing.crashGraceMs): "host alive, agent gone" evidence (peerAgentDown) turns a
// lost peer's fence into a `restarting` entry proposed by the coordinator. Driven by hand on a
// coordinator taken from a settled simulated cluster, so each rule is checked at chosen times.
import { describe, expect, it } from 'vitest';
import { startNode, step, type NodeState } from '../../../src/core/cluster/node.js';
import { returnWindowMs } from '../../../src/core/cluster/liveness.js';
import type { Effect } from '../../../src/core/cluster/types.js';
import { makeConfig } from '../../sim/config.js';
import { Sim } from '../../sim/engine.js';

// failure timeout 300 ms, election timeout 2 s: the coordinator keeps its leader lease while we step it by hand
const timing = { heartbeatIntervalMs: 100, failureTimeoutMs: 300, electionTimeoutMs: 2000, leaseMs: 3000 };

/** A settled 3-node cluster; its coordinator and a follower holding a resource. */
function settled(seed: number): { leader: NodeState; holder: string; t0: number } {
  const sim = new Sim({ seed, config: makeConfig({ nodes: 3, resources: 3, timing }) });
  sim.runUntil(4000);
  const c = sim.coordinator()!;
  const leader = sim.machine(c).core!;
  const holder = Object.keys(leader.cluster.active).find((n) => n !== c)!;
  expect(holder).toBeDefined();
  // from here on the core is stepped by hand: nothing else reaches it
  const t0 = Math.max(...leader.heard.values());
  return { leader, holder, t0 };
}

const fences = (effects: Effect[], target: string) => effects.filter((e) => e.type === 'fence' && e.target === target);
const graceProposed = (leader: NodeState, target: string) =>
  leader.log.some((e) => e.cmd.type === 'restarting' && e.cmd.node === target && e.cmd.cause === 'crash');

describe('crash grace: peerAgentDown evidence', () => {
  it('fresh evidence: the coordinator proposes a restarting entry (cause crash) instead of fencing', () => {
    const { leader, holder, t0 } = settled(3);
    step(leader, { type: 'peerAgentDown', node: holder, seenAt: t0 + 250, now: t0 + 250 });
    const { effects } = step(leader, { type: 'tick', now: t0 + 320 });
    expect(fences(effects, holder)).toEqual([]);
    expect(graceProposed(leader, holder)).toBe(true);
    const e = leader.log.find((x) => x.cmd.type === 'restarting' && x.cmd.node === holder)!.cmd;
    expect(e).toMatchObject({ graceMs: 10_000, cause: 'crash' });
    expect(effects.some((x) => x.type === 'crashGraceDecision' && x.node === holder && x.decision === 'grace')).toBe(true);
  });

  it('a node fenced since its last grace starts afresh: the crash-loop rule counts crashes of one boot', () => {
    const { leader, holder, t0 } = settled(3);
    // a grace given 10 s ago, then the node was fenced (reset) and rejoined
    leader.lead!.crashGraceGiven.set(holder, t0 - 10_000);
    leader.cluster.down[holder] = { node: holder, cause: 'fenced', term: leader.term, index: 0, at: 0 };
    step(leader, { type: 'tick', now: t0 + 10 });
    expect(leader.lead!.crashGraceGiven.has(holder)).toBe(false);
    // without the fence the record stays, and a second crash within 60 s is a crash loop
    const other = settled(3);
    other.leader.lead!.crashGraceGiven.set(other.holder, other.t0 - 10_000);
    step(other.leader, { type: 'peerAgentDown', node: other.holder, seenAt: other.t0 + 250, now: other.t0 + 250 });
    const { effects } = step(other.leader, { type: 'tick', now: other.t0 + 320 });
    expect(graceProposed(other.leader, other.holder)).toBe(false);
    expect(effects.some((x) => x.type === 'crashGraceDecision' && x.node === other.holder && x.decision === 'fence')).toBe(true);
  });

  it('evidence older than the failure timeout does not count: the lost holder is fenced', () => {
    const { leader, holder, t0 } = settled(3);
    step(leader, { type: 'peerAgentDown', node: holder, seenAt: t0 + 10, now: t0 + 10 });
    const { effects } = step(leader, { type: 'tick', now: t0 + 10 + timing.failureTimeoutMs + 1 });
    expect(fences(effects, holder)).toHaveLength(1);
    expect(graceProposed(leader, holder)).toBe(false);
  });

  it('evidence from before the last message heard from the peer is ignored', () => {
    const { leader, holder, t0 } = settled(3);
    step(leader, { type: 'peerAgentDown', node: holder, seenAt: t0 - 1, now: t0 - 1 });
    expect(leader.agentDownAt.has(holder)).toBe(false);
  });

  it('no evidence (power loss, cut link): fenced after the failure timeout, as before', () => {
    const { leader, holder, t0 } = settled(3);
    const { effects } = step(leader, { type: 'tick', now: t0 + timing.failureTimeoutMs + 1 });
    expect(fences(effects, holder)).toHaveLength(1);
  });

  it('a silent peer is probed from two heartbeats of silence on, at most once per heartbeat', () => {
    const { leader, holder, t0 } = settled(3);
    const probes = (now: number) => step(leader, { type: 'tick', now }).effects.filter((e) => e.type === 'probePeer' && e.target === holder).length;
    expect(probes(t0 + 150)).toBe(0);
    expect(probes(t0 + 210)).toBe(1);
    expect(probes(t0 + 260)).toBe(0);
    expect(probes(t0 + 315)).toBe(1);
  });

  /** a member (not the coordinator) whose coordinator was `followed`, silent since 100 */
  const probesAfterSilence = (timingOverride: object, nodes = 3, heard = true, followed = 'n2'): number => {
    const n = startNode(makeConfig({ nodes, resources: 1, timing: timingOverride }), 'n1', null, 0, 1);
    n.quorumReady = true;
    n.lastKnownLeader = followed;
    if (heard) n.heard.set('n2', 100);
    return step(n, { type: 'tick', now: 1000 }).effects.filter((e) => e.type === 'probePeer').length;
  };

  it('a peer heard since start and silent is probed; one never heard (cold start) is not', () => {
    expect(probesAfterSilence({})).toBe(1);
    expect(probesAfterSilence({}, 3, false)).toBe(0);
  });

  it('a member probes only the coordinator it followed, never another member (they do not talk)', () => {
    expect(probesAfterSilence({}, 3, true, 'n3')).toBe(0);
  });

  it('crashGraceMs 0 disables probing and the grace', () => {
    expect(probesAfterSilence({ crashGraceMs: 0 })).toBe(0);
  });

  it('two nodes alone (two_node) never probe: the fence race runs as before', () => {
    expect(probesAfterSilence({}, 2)).toBe(0);
  });

  it('an accepted probe that follows no refusal proves nothing (a paused agent\'s socket accepts): fenced after the failure timeout', () => {
    const { leader, holder, t0 } = settled(3);
    step(leader, { type: 'peerAgentListening', node: holder, seenAt: t0 + 250, now: t0 + 250 });
    expect(leader.agentListeningAt.has(holder)).toBe(false);
    const { effects } = step(leader, { type: 'tick', now: t0 + timing.failureTimeoutMs + 1 });
    expect(fences(effects, holder)).toHaveLength(1);
  });

  it('a refusal after the port accepted again voids the listening evidence (that agent is gone too)', () => {
    const { leader, holder, t0 } = settled(3);
    step(leader, { type: 'peerAgentDown', node: holder, seenAt: t0 + 210, now: t0 + 210 });
    step(leader, { type: 'peerAgentListening', node: holder, seenAt: t0 + 220, now: t0 + 220 });
    expect(leader.agentListeningAt.get(holder)).toBe(t0 + 220);
    // later accepts do not move it: the first one counts (a hung listener is not waited for forever)
    step(leader, { type: 'peerAgentListening', node: holder, seenAt: t0 + 240, now: t0 + 240 });
    expect(leader.agentListeningAt.get(holder)).toBe(t0 + 220);
    step(leader, { type: 'peerAgentDown', node: holder, seenAt: t0 + 260, now: t0 + 260 });
    expect(leader.agentListeningAt.has(holder)).toBe(false);
  });
});

/**
 * Default timing, in the simulator: the holder's agent is killed (host up) and a new one listens
 * shortly before the crash grace runs out on the coordinator, as a cold start on a loaded machine
 * does (the real-cluster harness saw a throttled agent open its port 80 ms before the grace ended,
 * and the coordinator fence the node). Whether it is fenced depends on when it is heard.
 */
describe('crash grace: a restart that ends just before the grace does', () => {
  function slowRestart(seed: number, silentMs: number | null): { fencedAfterListening: number | null; listenedAt: number; windowMs: number } {
    const sim = new Sim({ seed, config: makeConfig({ nodes: 3, resources: 3, watchdog: false }) });
    sim.runUntil(4000);
    const c = sim.coordinator()!;
    const active = sim.machine(c).core!.cluster.active;
    const v = Object.keys(active).find((n) => n !== c && Object.keys(active[n] ?? {}).length > 0)!;
    expect(v, 'a member holds a resource').toBeDefined();
    const m = sim.machine(v);
    sim.crashAgent(m, null);
    const coord = sim.machine(c);
    for (let i = 0; i < 300 && !coord.core!.graceStart.get(v); i++) sim.runUntil(sim.now + 10);
    const g = coord.core!.graceStart.get(v)!;
    expect(g, 'the coordinator applied a crash grace').toBeDefined();
    const t = sim.config.timing;
    const endsIn = (g.at + Math.ceil(t.crashGraceMs * (1 + t.maxDriftPpm / 1e6)) - sim.local(coord)) / coord.rate;
    // the new agent listens 300 ms before the grace ends, then says nothing for silentMs (null: never)
    sim.runUntil(sim.now + endsIn - 300);
    sim.startAgent(m);
    sim.pause(m);
    const listenedAt = sim.now;
    if (silentMs !== null) sim.at(listenedAt + silentMs, () => sim.resume(m));
    sim.runUntil(listenedAt + 8000);
    return { fencedAfterListening: m.fencedAt === null ? null : m.fencedAt - listenedAt, listenedAt, windowMs: returnWindowMs(coord.core!) };
  }

  it('heard 1 s after it listened (after the grace ran out): not fenced, the node stays', () => {
    for (const seed of [1, 2, 3, 4, 5]) expect(slowRestart(seed, 1000).fencedAfterListening, `seed ${seed}`).toBeNull();
  });

  it('listening but never heard (a hung agent): fenced once the return window after it listened has passed, not before', () => {
    for (const seed of [1, 2, 3]) {
      const r = slowRestart(seed, null);
      expect(r.fencedAfterListening, `seed ${seed}`).not.toBeNull();
      expect(r.fencedAfterListening!, `seed ${seed}`).toBeGreaterThanOrEqual(r.windowMs - 300);
      expect(r.fencedAfterListening!, `seed ${seed}`).toBeLessThan(r.windowMs + 1500);
    }
  });
});
