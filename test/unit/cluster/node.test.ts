// Unit tests of the cluster core's rules, driven by hand (no simulator). Each test names the rule.
import { describe, expect, it } from 'vitest';
import { startNode, step, lastIndex, type NodeState } from '../../../src/core/cluster/node.js';
import type { Message } from '../../../src/core/cluster/messages.js';
import type { Effect } from '../../../src/core/cluster/types.js';
import { applyCommand, initialClusterState } from '../../../src/core/cluster/state-machine.js';
import type { Command } from '../../../src/core/cluster/commands.js';
import { completeClusterState } from '../../../src/runtime/stored-state.js';
import type { PlanAction } from '../../../src/core/scheduler/types.js';
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
      step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntriesResponse', term: 1, success: true, matchIndex, echo, nodeTime: 5, incarnation: 7, report: { applied: 0, active: [], promoted: [], failed: [], busy: false, run: null, failures: [] } }, now: 10_010 });
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

const action = (id: number, type: PlanAction['type'], resource: string | null, node: string): PlanAction =>
  ({ id, key: `${type}${resource ? ` ${resource}` : ''} ${node}`, type, resource, node, timeoutMs: 20_000, reason: 'test' });

/** A committed transition for the whole cluster: start r0 on n1, then r1 on n2 after it. */
const transition: Command = {
  type: 'transition', term: 1, coordinator: 'n2', inputs: 0, at: 0,
  plan: { actions: [action(0, 'start', 'r0', 'n1'), action(1, 'start', 'r1', 'n2')], edges: [{ before: 0, after: 1 }], target: [] },
};
const executes = (effects: Effect[]) => effects.filter((e): e is Extract<Effect, { type: 'execute' }> => e.type === 'execute');

describe('execution: a node carries out its own actions of the committed transition', () => {
  const appendWith = (n: NodeState, cmd: Command, lease: boolean, now: number) =>
    step(n, {
      type: 'message', from: 'n2', now,
      msg: { type: 'AppendEntries', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term: 1, cmd }], leaderCommit: 1, sentAt: 0, lease: lease ? { at: now, incarnation: n.incarnation } : null, peerIncluded: false },
    });

  it('its own start, once committed and while its lease holds; not another node\'s', () => {
    const n = node('n1');
    const { effects } = appendWith(n, transition, true, 1000);
    expect(executes(effects).map((e) => e.action.key)).toEqual(['start r0 n1']);
    expect(n.local.get('r0')).toBe('started'); // counted as running from the moment it may begin
  });

  it('nothing starts without a lease, even when the committed transition says so (the lease gate)', () => {
    const n = node('n1');
    const { effects } = appendWith(n, transition, false, 10);
    expect(executes(effects)).toEqual([]);
    // the grant arrives with the next heartbeat: the gated action goes then
    const hb = step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntries', term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1, sentAt: 0, lease: { at: 20, incarnation: n.incarnation }, peerIncluded: false }, now: 20 });
    expect(executes(hb.effects).map((e) => e.action.key)).toEqual(['start r0 n1']);
  });

  it('an action after another node\'s waits for that node\'s committed outcome (order across nodes)', () => {
    const n = node('n2');
    const first = appendWith(n, transition, true, 1000);
    expect(executes(first.effects)).toEqual([]);
    const results: Command = { type: 'results', transition: 1, at: 1, results: [{ action: 0, status: 'ok', role: 'started' }] };
    const next = step(n, {
      type: 'message', from: 'n1', now: 1100,
      msg: { type: 'AppendEntries', term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [{ index: 2, term: 1, cmd: results }], leaderCommit: 2, sentAt: 0, lease: { at: 1100, incarnation: n.incarnation }, peerIncluded: false },
    });
    expect(executes(next.effects).map((e) => e.action.key)).toEqual(['start r1 n2']);
  });

  it('a node catching up does not carry out a transition that already ended further on in the log', () => {
    const n = node('n1');
    const end: Command = { type: 'transitionEnd', transition: 1, outcome: 'aborted', reason: 'n1 lost' };
    const { effects } = step(n, {
      type: 'message', from: 'n2', now: 1000,
      msg: {
        type: 'AppendEntries', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: [{ index: 1, term: 1, cmd: transition }, { index: 2, term: 1, cmd: end }],
        leaderCommit: 2, sentAt: 0, lease: { at: 1000, incarnation: n.incarnation }, peerIncluded: false,
      },
    });
    expect(executes(effects)).toEqual([]);
  });

  it('the outcome goes into the report until the transition ends', () => {
    const n = node('n1');
    appendWith(n, transition, true, 1000);
    step(n, { type: 'actionResult', transition: 1, actionId: 0, result: { status: 'ok' }, now: 1050 });
    const rep = (step(n, { type: 'tick', now: 1060 }), n);
    expect(rep.local.get('r0')).toBe('started');
    const r = (step(n, { type: 'message', from: 'n2', msg: { type: 'AppendEntries', term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [], leaderCommit: 1, sentAt: 7, lease: null, peerIncluded: false }, now: 1070 }).effects
      .find((e) => e.type === 'send' && e.msg.type === 'AppendEntriesResponse') as Extract<Effect, { type: 'send' }>).msg;
    expect(r.type === 'AppendEntriesResponse' && r.report?.run).toEqual({ transition: 1, results: [{ action: 0, status: 'ok' }] });
  });

  it('a node applies its no-quorum policy (stop) a margin before its lease ends, by a plan of its own', () => {
    const n = node('n1');
    appendWith(n, transition, true, 1000);
    step(n, { type: 'actionResult', transition: 1, actionId: 0, result: { status: 'ok' }, now: 1100 });
    const lease = n.leaseUntil;
    const before = step(n, { type: 'tick', now: lease - cfg.timing.leaseMs / 4 - 1 });
    expect(executes(before.effects)).toEqual([]);
    const at = step(n, { type: 'tick', now: lease - cfg.timing.leaseMs / 4 });
    expect(executes(at.effects).map((e) => [e.transition, e.action.key])).toEqual([[0, 'stop r0 n1']]);
    expect(at.effects.some((e) => e.type === 'applyNoQuorumPolicy')).toBe(true);
    step(n, { type: 'actionResult', transition: 0, actionId: 0, result: { status: 'ok' }, now: lease - 100 });
    expect(n.local.size).toBe(0);
  });
});

describe('replicated state machine', () => {
  const plan = (transition as Extract<Command, { type: 'transition' }>).plan;
  it('a committed transition counts its starts as running until outcomes say otherwise', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, transition, 5);
    expect(s.active).toEqual({ n1: { r0: 'started' }, n2: { r1: 'started' } });
    applyCommand(s, { type: 'results', transition: 5, at: 9, results: [{ action: 0, status: 'ok', role: 'started' }, { action: 1, status: 'error', role: 'failed', reason: 'x' }] }, 6);
    expect(s.active).toEqual({ n1: { r0: 'started' }, n2: { r1: 'failed' } });
    expect(s.failures).toEqual([expect.objectContaining({ resource: 'r1', node: 'n2', operation: 'start', count: 1, at: 9 })]);
    expect(s.transition?.results[1]?.status).toBe('error');
    void plan;
  });

  it('records every committed storage takeover step, with its outcome, in a bounded history', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    const steps: PlanAction[] = [
      action(0, 'fence', null, 'n1'),
      { ...action(1, 'storage_blocklist', 'r0', 'n2'), target: 'n1' },
      { ...action(2, 'storage_break_lock', 'r0', 'n2'), target: 'n1' },
      action(3, 'start', 'r0', 'n2'),
    ];
    applyCommand(s, { ...transition, plan: { ...plan, actions: steps } } as Command, 7);
    applyCommand(s, { type: 'results', transition: 7, at: 20, results: [{ action: 1, status: 'ok' }, { action: 2, status: 'error', reason: 'rbd: timed out' }, { action: 3, status: 'ok', role: 'started' }] }, 8);
    expect(s.storageHistory).toEqual([
      { resource: 'r0', step: 'blocklist', node: 'n2', lost: 'n1', status: 'ok', reason: '', transition: 7, at: 20 },
      { resource: 'r0', step: 'break_lock', node: 'n2', lost: 'n1', status: 'error', reason: 'rbd: timed out', transition: 7, at: 20 },
    ]);
    // a state written before storage takeover existed has no history: completed where it is
    // loaded, the first step starts one
    const { storageHistory: _absent, ...stored } = initialClusterState(['n1', 'n2', 'n3']);
    const old = completeClusterState(stored);
    applyCommand(old, { ...transition, plan: { ...plan, actions: steps } } as Command, 7);
    applyCommand(old, { type: 'results', transition: 7, at: 20, results: [{ action: 1, status: 'ok' }] }, 8);
    expect(old.storageHistory).toHaveLength(1);
  });

  it('history: a failover is told once, whether the fence came before the plan or within it', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, { type: 'observed', node: 'n1', active: { r0: 'started' } } as Command, 1);
    // the fence within the plan: fence n1, then start r0 on n2 (the scheduler says why)
    const recover = { ...action(1, 'start', 'r0', 'n2'), reason: 'recover from lost node n1' };
    applyCommand(s, { ...transition, plan: { ...plan, actions: [action(0, 'fence', null, 'n1'), recover] } } as Command, 2);
    applyCommand(s, { type: 'nodeDown', node: 'n1', cause: 'fenced', term: 1 }, 3);
    applyCommand(s, { type: 'results', transition: 2, at: 9, results: [{ action: 0, status: 'ok' }, { action: 1, status: 'ok', role: 'started' }] }, 4);
    // a later, ordinary move of r0 is no failover
    applyCommand(s, { ...transition, plan: { ...plan, actions: [action(0, 'stop', 'r0', 'n2'), action(1, 'start', 'r0', 'n3')] } } as Command, 5);
    expect(s.history.filter((e) => e.kind === 'failover').map((e) => e.text)).toEqual(['r0 recovered on n2, lost with n1']);
    expect(s.history.find((e) => e.kind === 'node-down')?.text).toBe('n1 fenced (it ran r0)');
    // the fence before the plan: the next start of what n3 ran is its failover
    applyCommand(s, { type: 'nodeDown', node: 'n3', cause: 'lease-expired', term: 1 }, 6);
    applyCommand(s, { ...transition, plan: { ...plan, actions: [action(0, 'start', 'r0', 'n1')] } } as Command, 7);
    expect(s.history.filter((e) => e.kind === 'failover').map((e) => e.text)).toEqual(['r0 recovered on n2, lost with n1', 'r0 recovered on n1, lost with n3']);
  });

  it('taking a node down clears what it ran and its failures', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, transition, 1);
    applyCommand(s, { type: 'failure', node: 'n2', resource: 'r1', operation: 'monitor', intervalMs: 10_000, status: 'error', exitCode: 7, reason: 'not running', seq: 1, incarnation: 3, at: 5 }, 2);
    applyCommand(s, { type: 'nodeDown', node: 'n2', cause: 'fenced', term: 1 }, 3);
    expect(s.active.n2).toBeUndefined();
    expect(s.failures).toEqual([]);
    expect(s.fenceHistory).toHaveLength(1);
  });

  it('a fence the running transition waits for is its expected outcome, not a change of its input', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, { ...transition, plan: { ...plan, actions: [action(0, 'fence', null, 'n3'), action(1, 'start', 'r1', 'n2')] } } as Command, 1);
    const inputs = s.inputs;
    applyCommand(s, { type: 'nodeDown', node: 'n3', cause: 'fenced', term: 1 }, 2);
    expect(s.inputs).toBe(inputs);
    applyCommand(s, { type: 'nodeDown', node: 'n1', cause: 'fenced', term: 1 }, 3);
    expect(s.inputs).toBe(inputs + 1);
  });

  it('a failure counts once per report; cleanup forgets it for good', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    const f: Command = { type: 'failure', node: 'n1', resource: 'r0', operation: 'monitor', intervalMs: 10_000, status: 'error', exitCode: 7, reason: 'not running', seq: 4, incarnation: 9, at: 5 };
    applyCommand(s, f, 1);
    expect(s.failureAck.n1).toEqual({ incarnation: 9, seq: 4 });
    applyCommand(s, { type: 'cleanup', resource: 'r0', node: null }, 2);
    expect(s.failures).toEqual([]);
    expect(s.failureAck.n1).toEqual({ incarnation: 9, seq: 4 }); // the node does not report it again
  });
});

describe('graceful stop: the restart announcement reaches a coordinator', () => {
  const heartbeat = (term: number, from: string, now: number): Parameters<typeof step>[1] => ({
    type: 'message',
    from,
    msg: { type: 'AppendEntries', term, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, sentAt: now, lease: null, peerIncluded: false },
    now,
  });
  const proposals = (effects: Effect[]) =>
    sends(effects).filter((e) => e.msg.type === 'Propose' && e.msg.cmds.some((c) => c.type === 'restarting' && c.node === 'n1'));

  it('SIGTERM during an election: proposed again to the coordinator elected next', () => {
    const n = node('n1');
    step(n, { type: 'gracefulStop', now: 10_000 }); // no coordinator known yet: dropped
    const { effects } = step(n, heartbeat(1, 'n2', 10_050));
    const later = step(n, { type: 'tick', now: 10_100 });
    expect([...proposals(effects), ...proposals(later.effects)].map((e) => e.to)).toEqual(['n2']);
    // the same coordinator again before an election timeout: nothing more
    expect(proposals(step(n, { type: 'tick', now: 10_200 }).effects)).toEqual([]);
  });

  it('a new coordinator after the proposal: proposed again to it', () => {
    const n = node('n1');
    step(n, heartbeat(1, 'n2', 10_000));
    expect(proposals(step(n, { type: 'gracefulStop', now: 10_010 }).effects).map((e) => e.to)).toEqual(['n2']);
    step(n, heartbeat(2, 'n3', 10_100));
    expect(proposals(step(n, { type: 'tick', now: 10_150 }).effects).map((e) => e.to)).toEqual(['n3']);
  });

  it('a second committed announcement of the same incarnation changes nothing', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, { type: 'restarting', node: 'n1', incarnation: 4, graceMs: 10_000, cause: 'stop' }, 7);
    applyCommand(s, { type: 'restarting', node: 'n1', incarnation: 4, graceMs: 10_000, cause: 'stop' }, 9);
    expect(s.restarting.n1).toEqual({ incarnation: 4, graceMs: 10_000, index: 7, cause: 'stop' });
  });
});

describe('a copy found running here (a probe of what this node does not run)', () => {
  it('is held from then on, in its role, so the node reports it', () => {
    const n = node('n2');
    expect(n.local.has('r0')).toBe(false);
    step(n, { type: 'found', resource: 'r0', role: 'started', now: 10 });
    expect(n.local.get('r0')).toBe('started');
  });

  it('leaves a resource held already as it is (its actions and monitor speak for it)', () => {
    const n = startNode(cfg, 'n2', null, 0, 42, {}, [{ resource: 'r0', role: 'started' }]);
    step(n, { type: 'monitored', resource: 'r0', intervalMs: 10_000, result: { status: 'error', reason: 'not running' }, running: false, promoted: false, now: 5 });
    expect(n.local.get('r0')).toBe('failed');
    step(n, { type: 'found', resource: 'r0', role: 'started', now: 10 });
    expect(n.local.get('r0')).toBe('failed');
  });
});
