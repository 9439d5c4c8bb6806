// Unit tests of the cluster core's rules, driven by hand (no simulator). Each test names the rule.
import { describe, expect, it } from 'vitest';
import { startNode, step, lastIndex, type NodeState } from '../../../src/core/cluster/node.js';
import type { Message } from '../../../src/core/cluster/messages.js';
import type { Effect } from '../../../src/core/cluster/types.js';
import { applyCommand, initialClusterState } from '../../../src/core/cluster/state-machine.js';
import { defaultPlacer } from '../../../src/core/cluster/placement.js';
import { makeConfig } from '../../sim/config.js';

const cfg = makeConfig({ nodes: 3, resources: 2 });
const sends = (effects: Effect[]) => effects.filter((e): e is Extract<Effect, { type: 'send' }> => e.type === 'send');

function node(name = 'n1', now = 0): NodeState {
  return startNode(cfg, name, null, now, 42);
}

describe('elections (Raft §5.2, thesis §4.2.3 and §9.6)', () => {
  it('a vote is persisted before the grant is sent', () => {
    const n = node('n1');
    const { effects } = step(n, { type: 'message', from: 'n2', msg: { type: 'VoteRequest', term: 1, lastLogIndex: 0, lastLogTerm: 0 }, now: 10_000 });
    const persist = effects.findIndex((e) => e.type === 'persist');
    const grant = effects.findIndex((e) => e.type === 'send' && e.msg.type === 'VoteResponse' && e.msg.granted);
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(grant).toBeGreaterThan(persist);
    expect(n.votedFor).toBe('n2');
  });

  it('one vote per term: a second candidate in the same term is refused', () => {
    const n = node('n1');
    step(n, { type: 'message', from: 'n2', msg: { type: 'VoteRequest', term: 1, lastLogIndex: 0, lastLogTerm: 0 }, now: 10_000 });
    const { effects } = step(n, { type: 'message', from: 'n3', msg: { type: 'VoteRequest', term: 1, lastLogIndex: 0, lastLogTerm: 0 }, now: 10_001 });
    const r = sends(effects).find((e) => e.msg.type === 'VoteResponse')!.msg as Extract<Message, { type: 'VoteResponse' }>;
    expect(r.granted).toBe(false);
  });

  it('leader stickiness: a node that heard a leader recently refuses votes without adopting the term', () => {
    const n = node('n1');
    step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntries', term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, sentAt: 0, lease: null, peerIncluded: false }, now: 10_000 });
    const { effects } = step(n, { type: 'message', from: 'n3', msg: { type: 'VoteRequest', term: 9, lastLogIndex: 5, lastLogTerm: 5 }, now: 10_100 });
    expect(n.term).toBe(3);
    expect((sends(effects)[0]!.msg as { granted: boolean }).granted).toBe(false);
  });

  it('a restarted node waits an election timeout before voting (leader leases survive restarts)', () => {
    const n = node('n1', 10_000);
    const { effects } = step(n, { type: 'message', from: 'n3', msg: { type: 'VoteRequest', term: 1, lastLogIndex: 0, lastLogTerm: 0 }, now: 10_100 });
    expect((sends(effects)[0]!.msg as { granted: boolean }).granted).toBe(false);
  });

  it('pre-vote does not change the term of either side', () => {
    const n = node('n1');
    step(n, { type: 'tick', now: 10_000 });
    expect(n.role).toBe('precandidate');
    expect(n.term).toBe(0);
    const peer = node('n2');
    const { effects } = step(peer, { type: 'message', from: 'n1', msg: { type: 'PreVoteRequest', term: 1, lastLogIndex: 0, lastLogTerm: 0 }, now: 10_000 });
    expect(peer.term).toBe(0);
    expect((sends(effects)[0]!.msg as { granted: boolean }).granted).toBe(true);
  });

  it('simultaneous pre-candidates: the lower name wins the tie unless its log is behind', () => {
    const two = makeConfig({ nodes: 2, resources: 1 });
    const a = startNode(two, 'n1', null, 0, 1);
    const b = startNode(two, 'n2', null, 0, 2);
    step(a, { type: 'tick', now: 10_000 });
    step(b, { type: 'tick', now: 10_000 });
    expect([a.role, b.role]).toEqual(['precandidate', 'precandidate']);
    const req = { type: 'PreVoteRequest' as const, term: 1, lastLogIndex: 0, lastLogTerm: 0 };
    const fromB = step(a, { type: 'message', from: 'n2', msg: req, now: 10_001 });
    expect((sends(fromB.effects)[0]!.msg as { granted: boolean }).granted).toBe(false);
    const fromA = step(b, { type: 'message', from: 'n1', msg: req, now: 10_001 });
    expect((sends(fromA.effects)[0]!.msg as { granted: boolean }).granted).toBe(true);
    expect(b.role).toBe('follower');
    // with a newer log, the higher name is granted
    const c = startNode(two, 'n1', null, 0, 3);
    step(c, { type: 'tick', now: 10_000 });
    const newer = step(c, { type: 'message', from: 'n2', msg: { ...req, lastLogIndex: 4, lastLogTerm: 1 }, now: 10_001 });
    expect((sends(newer.effects)[0]!.msg as { granted: boolean }).granted).toBe(true);
  });

  it('a vote grant answering an older term is not counted', () => {
    const n = node('n1');
    step(n, { type: 'tick', now: 10_000 });
    step(n, { type: 'message', from: 'n2', msg: { type: 'PreVoteResponse', term: 1, granted: true }, now: 10_001 });
    expect(n.role).toBe('candidate');
    n.term = 2; // as if this were a later candidacy
    step(n, { type: 'message', from: 'n2', msg: { type: 'VoteResponse', term: 1, granted: true }, now: 10_002 });
    expect(n.role).toBe('candidate');
  });

  it('winning: pre-vote, vote, then leader with a noop entry of its term', () => {
    const n = node('n1');
    step(n, { type: 'tick', now: 10_000 });
    step(n, { type: 'message', from: 'n2', msg: { type: 'PreVoteResponse', term: 1, granted: true }, now: 10_001 });
    const { effects } = step(n, { type: 'message', from: 'n3', msg: { type: 'VoteResponse', term: 1, granted: true }, now: 10_002 });
    expect(n.role).toBe('leader');
    expect(effects.some((e) => e.type === 'becameCoordinator')).toBe(true);
    expect(n.log.at(-1)).toMatchObject({ index: 1, term: 1, cmd: { type: 'noop' } });
  });
});

describe('replication', () => {
  it('an append from an older term is refused and does not touch the log', () => {
    const n = node('n1');
    n.term = 5;
    const { effects } = step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntries', term: 4, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term: 4, cmd: { type: 'noop' } }], leaderCommit: 1, sentAt: 0, lease: null, peerIncluded: false }, now: 1 });
    expect(lastIndex(n)).toBe(0);
    expect(sends(effects)[0]!.msg).toMatchObject({ type: 'AppendEntriesResponse', success: false, term: 5 });
  });

  it('entries are persisted before they are acknowledged', () => {
    const n = node('n1');
    const { effects } = step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntries', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term: 1, cmd: { type: 'noop' } }], leaderCommit: 0, sentAt: 0, lease: null, peerIncluded: false }, now: 1 });
    expect(effects[0]!.type).toBe('persist');
    expect(effects.findIndex((e) => e.type === 'send')).toBeGreaterThan(0);
  });

  it('a lease grant is honoured only for this incarnation and only once caught up to the leader commit', () => {
    const n = node('n1');
    const base = { type: 'AppendEntries' as const, term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [], sentAt: 0, peerIncluded: false };
    step(n, { type: 'message', from: 'n2', msg: { ...base, leaderCommit: 0, lease: { at: 100, incarnation: n.incarnation + 1 } }, now: 150 });
    expect(n.leaseGrace).toBe(true);
    step(n, { type: 'message', from: 'n2', msg: { ...base, leaderCommit: 3, lease: { at: 100, incarnation: n.incarnation } }, now: 160 });
    expect(n.leaseGrace).toBe(true); // commit 3 not reached
    step(n, { type: 'message', from: 'n2', msg: { ...base, leaderCommit: 0, lease: { at: 100, incarnation: n.incarnation } }, now: 170 });
    expect(n.leaseGrace).toBe(false);
    expect(n.leaseUntil).toBe(100 + cfg.timing.leaseMs); // from the node's own echoed clock, not the receipt time
  });
});

describe('leases after a coordinator change', () => {
  it('a new coordinator grants no lease (to others or itself) before its first entry commits', () => {
    const n = node('n1');
    step(n, { type: 'tick', now: 10_000 });
    step(n, { type: 'message', from: 'n2', msg: { type: 'PreVoteResponse', term: 1, granted: true }, now: 10_001 });
    step(n, { type: 'message', from: 'n2', msg: { type: 'VoteResponse', term: 1, granted: true }, now: 10_002 });
    expect(n.role).toBe('leader');
    // n2 acknowledges the heartbeat but not the noop entry yet (matchIndex 0): no commit
    const ack = (matchIndex: number, echo: number) =>
      step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex, echo, nodeTime: 5, incarnation: 7, report: { applied: 0, active: [], failures: {} } }, now: 10_010 });
    ack(0, 10_002);
    expect(n.commitIndex).toBe(0);
    step(n, { type: 'tick', now: 10_110 });
    expect(n.leaseGrace).toBe(true);
    const hb = step(n, { type: 'tick', now: 10_120 });
    for (const e of sends(hb.effects)) if (e.msg.type === 'AppendEntries') expect(e.msg.lease).toBeNull();
    ack(1, 10_110);
    expect(n.commitIndex).toBe(1);
    const hb2 = step(n, { type: 'tick', now: 10_230 });
    expect(sends(hb2.effects).some((e) => e.to === 'n2' && e.msg.type === 'AppendEntries' && e.msg.lease !== null)).toBe(true);
    expect(n.leaseGrace).toBe(false);
  });
});

describe('two nodes alone', () => {
  const two = makeConfig({ nodes: 2, resources: 1 });
  it('wait-for-all: a node that has not been counted with its peer since it started never fences it', () => {
    const n = startNode(two, 'n1', null, 0, 1);
    const { effects } = step(n, { type: 'tick', now: 60_000 });
    expect(effects.some((e) => e.type === 'fence')).toBe(false);
  });

  it('fence race: the non-preferred side waits fenceRaceDelayMs before fencing', () => {
    const n = startNode(two, 'n2', null, 0, 1);
    n.quorumReady = true;
    n.heard.set('n1', 1000);
    const first = step(n, { type: 'tick', now: 1000 + two.timing.failureTimeoutMs });
    expect(first.effects.some((e) => e.type === 'fence')).toBe(false); // n2 > n1: not preferred
    const later = step(n, { type: 'tick', now: 1000 + two.timing.failureTimeoutMs + two.timing.fenceRaceDelayMs });
    expect(later.effects.some((e) => e.type === 'fence' && e.target === 'n1')).toBe(true);
  });

  it('after a confirmed fence the survivor is quorate alone', () => {
    const n = startNode(two, 'n1', null, 0, 1);
    n.quorumReady = true;
    n.heard.set('n2', 1000);
    const t = 1000 + two.timing.failureTimeoutMs;
    const { effects } = step(n, { type: 'tick', now: t });
    const f = effects.find((e): e is Extract<Effect, { type: 'fence' }> => e.type === 'fence')!;
    step(n, { type: 'fenceResult', requestId: f.requestId, target: 'n2', ok: true, now: t + 50 });
    expect(n.excluded.has('n2')).toBe(true);
    step(n, { type: 'tick', now: t + 5000 });
    expect(['candidate', 'leader']).toContain(n.role);
    expect(n.role).toBe('leader');
  });
});

describe('resources', () => {
  it('a node applies its no-quorum policy (stop) a margin before its lease ends', () => {
    const n = node('n1');
    const base = { type: 'AppendEntries' as const, term: 1, prevLogIndex: 0, prevLogTerm: 0, sentAt: 0, peerIncluded: false };
    step(n, { type: 'message', from: 'n2', msg: { ...base, entries: [{ index: 1, term: 1, cmd: { type: 'assign', resource: 'r0', node: 'n1' } }], leaderCommit: 1, lease: { at: 1000, incarnation: n.incarnation } }, now: 1000 });
    const started = step(n, { type: 'tick', now: 1001 });
    expect(n.local.get('r0')).toBe('starting');
    void started;
    step(n, { type: 'resourceStarted', resource: 'r0', now: 1100 });
    const lease = n.leaseUntil;
    const before = step(n, { type: 'tick', now: lease - cfg.timing.leaseMs / 4 - 1 });
    expect(before.effects.some((e) => e.type === 'stopResource')).toBe(false);
    const at = step(n, { type: 'tick', now: lease - cfg.timing.leaseMs / 4 });
    expect(at.effects.some((e) => e.type === 'stopResource' && e.resource === 'r0')).toBe(true);
    expect(at.effects.some((e) => e.type === 'applyNoQuorumPolicy')).toBe(true);
  });

  it('nothing starts without a lease, even when placed here', () => {
    const n = node('n1');
    const { effects } = step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntries', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term: 1, cmd: { type: 'assign', resource: 'r0', node: 'n1' } }], leaderCommit: 1, sentAt: 0, lease: null, peerIncluded: false }, now: 10 });
    expect(effects.some((e) => e.type === 'startResource')).toBe(false);
  });
});

describe('replicated state machine and default placer', () => {
  it('taking a node down releases everything placed on it', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, { type: 'assign', resource: 'r0', node: 'n2' }, 1);
    applyCommand(s, { type: 'nodeDown', node: 'n2', cause: 'fenced', term: 1 }, 2);
    expect(s.placements.r0).toBeUndefined();
    expect(s.released.r0).toEqual({ from: 'n2', index: 2 });
    expect(s.fenceHistory).toHaveLength(1);
  });

  it('placer: stickiness first, then the least-loaded online node by name', () => {
    const snapshot = {
      now: 0,
      quorate: true,
      nodes: ['n1', 'n2', 'n3'].map((name) => ({ name, state: 'online' as const, standby: false, maintenance: false, attributes: {} })),
      observations: [],
      failures: [],
      bans: [],
      fenced: [],
    };
    const out = defaultPlacer(snapshot, cfg, new Map([['r1', 'n3']]));
    expect(out.get('r1')).toBe('n3');
    expect(out.get('r0')).toBe('n1');
    snapshot.nodes[2]!.standby = true;
    expect(defaultPlacer(snapshot, cfg, new Map([['r1', 'n3']])).get('r1')).toBe('n2');
  });
});
