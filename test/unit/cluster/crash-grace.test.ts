// The crash grace (timing.crashGraceMs): "host alive, agent gone" evidence (peerAgentDown) turns a
// lost peer's fence into a `restarting` entry proposed by the coordinator. Driven by hand on a
// coordinator taken from a settled simulated cluster, so each rule is checked at chosen times.
import { describe, expect, it } from 'vitest';
import { startNode, step, type NodeState } from '../../../src/core/cluster/node.js';
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
    expect(e).toMatchObject({ graceMs: 5000, cause: 'crash' });
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
});
