// The witness as each node sees it (witness.ts): a member asks the witness once a heartbeat
// interval with a pre-vote request at its own current term, which the witness refuses without any
// change of its state; the answer makes the witness reachable in the member's view, with its term;
// the member reports the view to its coordinator, whose status lists it.
import { describe, expect, it } from 'vitest';
import { startNode, step, statusOf, type NodeState } from '../../../src/core/cluster/node.js';
import type { Message } from '../../../src/core/cluster/messages.js';
import type { Effect } from '../../../src/core/cluster/types.js';
import { makeConfig } from '../../sim/config.js';

const cfg = makeConfig({ nodes: 2, resources: 1, witness: true });
const sends = (effects: Effect[]) => effects.filter((e): e is Extract<Effect, { type: 'send' }> => e.type === 'send');

/** n2 following n1 in term 3 (one AppendEntries heard at `now`). */
function member(now: number): { n2: NodeState; effects: Effect[] } {
  const n2 = startNode(cfg, 'n2', null, 0, 7);
  const { effects } = step(n2, {
    type: 'message', from: 'n1', now,
    msg: { type: 'AppendEntries', term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, sentAt: now, lease: null, peerIncluded: false },
  });
  return { n2, effects };
}

describe('a member asks the witness, once a heartbeat interval', () => {
  it('with a pre-vote request at its own term, which the witness refuses and which changes nothing there', () => {
    const { n2, effects } = member(10_000);
    const ask = sends(effects).filter((e) => e.to === 'witness');
    expect(ask.map((e) => e.msg)).toEqual([{ type: 'PreVoteRequest', term: 3, lastLogIndex: 0, lastLogTerm: 0 }]);
    // not again within the heartbeat interval
    const again = step(n2, { type: 'tick', now: 10_000 + cfg.timing.heartbeatIntervalMs - 1 });
    expect(sends(again.effects).filter((e) => e.to === 'witness')).toEqual([]);

    const w = startNode(cfg, 'witness', null, 0, 9);
    w.term = 3;
    const before = JSON.stringify({ term: w.term, votedFor: w.votedFor, role: w.role, leader: w.leader });
    const { effects: answer } = step(w, { type: 'message', from: 'n2', msg: ask[0]!.msg, now: 10_001 });
    const reply = sends(answer).find((e) => e.to === 'n2')!.msg as Extract<Message, { type: 'PreVoteResponse' }>;
    expect(reply).toEqual({ type: 'PreVoteResponse', term: 3, granted: false });
    expect(JSON.stringify({ term: w.term, votedFor: w.votedFor, role: w.role, leader: w.leader })).toBe(before);
    expect(answer.some((e) => e.type === 'persist')).toBe(false);
  });

  it('the answer makes the witness reachable in the view, with its term; silence makes it unreachable', () => {
    const { n2 } = member(10_000);
    expect(statusOf(n2, 10_000).quorum.witnessViews.find((v) => v.node === 'n2')!.sight).toEqual({ reachable: false, lastContactAgeMs: null, term: 0 });
    step(n2, { type: 'message', from: 'witness', msg: { type: 'PreVoteResponse', term: 3, granted: false }, now: 10_002 });
    expect(n2.role).toBe('follower');
    expect(statusOf(n2, 10_102).quorum.witnessViews.find((v) => v.node === 'n2')!.sight).toEqual({ reachable: true, lastContactAgeMs: 100, term: 3 });
    const late = 10_002 + cfg.timing.failureTimeoutMs;
    expect(statusOf(n2, late).quorum.witnessViews.find((v) => v.node === 'n2')!.sight).toMatchObject({ reachable: false, lastContactAgeMs: cfg.timing.failureTimeoutMs });
  });

  it('the member reports its view to the coordinator with every answer', () => {
    const { n2 } = member(10_000);
    step(n2, { type: 'message', from: 'witness', msg: { type: 'PreVoteResponse', term: 3, granted: false }, now: 10_010 });
    const { effects } = step(n2, {
      type: 'message', from: 'n1', now: 10_150,
      msg: { type: 'AppendEntries', term: 3, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, sentAt: 10_150, lease: null, peerIncluded: false, witness: { reachable: false, lastContactAgeMs: 900, term: 3 } },
    });
    const res = sends(effects).find((e) => e.to === 'n1' && e.msg.type === 'AppendEntriesResponse')!.msg as Extract<Message, { type: 'AppendEntriesResponse' }>;
    expect(res.report?.witness).toEqual({ reachable: true, lastContactAgeMs: 140, term: 3 });
    // and shows its coordinator's view, as the heartbeat carried it, aged since
    expect(statusOf(n2, 10_200).quorum.witnessViews.find((v) => v.node === 'n1')).toEqual({ node: 'n1', sight: { reachable: false, lastContactAgeMs: 950, term: 3 }, reportAgeMs: 50 });
  });
});
