// Elections (Raft §5.2, thesis §4.2.3 and §9.6): pre-vote, vote, and the three roles.
//
// - A node grants at most one vote per term, and persists it before answering (§5.2).
// - A node that heard from a leader less than the election timeout ago refuses both pre-votes and
//   votes without adopting the higher term (thesis §4.2.3): that is what makes leader leases sound.
// - Pre-vote (§9.6) asks "would you vote for me?" without changing anybody's term, so a node that
//   was cut off does not disturb the cluster when it comes back.

import type { NodeName } from '../../config/types.js';
import { clusterNow } from './clock.js';
import type { Command } from './commands.js';
import { appendCommands, lastIndex, lastTerm, logUpToDate } from './log.js';
import type { PreVoteRequest, PreVoteResponse, VoteRequest, VoteResponse } from './messages.js';
import { hasQuorum } from './quorum.js';
import { broadcastAppend, maybeCommit } from './replication.js';
import { nextRandom } from './rng.js';
import type { NodeState, Out } from './state.js';
import { currentVoters, peers, quorumSpec } from './state.js';

export function randomElectionTimeout(st: NodeState): number {
  const [r, s] = nextRandom(st.rng);
  st.rng = s;
  const base = st.config.timing.electionTimeoutMs;
  return base + Math.floor(r * base);
}

/** Leader stickiness (thesis §4.2.3): recently heard a leader, or am one. */
function heardLeaderRecently(st: NodeState, now: number): boolean {
  if (st.role === 'leader') return true;
  return now - st.lastHeardLeaderAt < st.config.timing.electionTimeoutMs;
}

/** Leaves the coordinator role, if held (the leader-only state goes with it). */
export function stepDown(st: NodeState, out: Out, cause: string): void {
  if (st.role !== 'leader') return;
  st.role = 'follower';
  st.lead = null;
  // A fence this coordinator saw confirmed is its evidence only while it leads: as a member it no
  // longer hears the fenced node come back, so a later term must not take it for a fresh one.
  st.fencedConfirmed.clear();
  out.effects.push({ type: 'lostCoordinator', term: st.term, cause });
}

export function becomeFollower(st: NodeState, out: Out, term: number, leader: NodeName | null, now: number, cause: string): void {
  const from = st.role;
  if (term > st.term) {
    st.term = term;
    st.votedFor = null;
    out.persist = true;
  }
  stepDown(st, out, cause);
  st.role = 'follower';
  st.leader = leader;
  st.votes = new Set();
  st.electionDeadline = now + randomElectionTimeout(st);
  if (from !== 'follower') out.trace('role', cause, from, 'follower');
}

export function canCampaign(st: NodeState): boolean {
  if (st.isWitness || st.stopping) return false; // the witness votes and hosts nothing; it never leads
  return currentVoters(st).includes(st.self);
}

export function startPreVote(st: NodeState, out: Out, now: number): void {
  st.role = 'precandidate';
  st.leader = null;
  st.votes = new Set([st.self]);
  st.electionDeadline = now + randomElectionTimeout(st);
  out.trace('role', 'election timeout', 'follower', 'precandidate');
  if (hasQuorum(quorumSpec(st), st.votes)) {
    becomeCandidate(st, out, now);
    return;
  }
  const msg: PreVoteRequest = { type: 'PreVoteRequest', term: st.term + 1, lastLogIndex: lastIndex(st), lastLogTerm: lastTerm(st) };
  for (const p of quorumSpec(st).voters) if (p.name !== st.self) out.send(p.name, msg);
}

function becomeCandidate(st: NodeState, out: Out, now: number): void {
  st.term += 1;
  st.votedFor = st.self;
  out.persist = true;
  st.role = 'candidate';
  st.votes = new Set([st.self]);
  st.electionDeadline = now + randomElectionTimeout(st);
  out.trace('role', 'pre-vote won', 'precandidate', 'candidate');
  if (hasQuorum(quorumSpec(st), st.votes)) {
    becomeLeader(st, out, now);
    return;
  }
  const msg: VoteRequest = { type: 'VoteRequest', term: st.term, lastLogIndex: lastIndex(st), lastLogTerm: lastTerm(st) };
  for (const p of quorumSpec(st).voters) if (p.name !== st.self) out.send(p.name, msg);
}

function becomeLeader(st: NodeState, out: Out, now: number): void {
  st.role = 'leader';
  st.leader = st.self;
  const lead = (st.lead = {
    since: now, startIndex: 0, nextHeartbeatAt: 0, next: new Map(), match: new Map(), acked: new Map(), echoes: new Map(),
    grantExpiry: new Map(), reports: new Map(), crashGraceGiven: new Map(), crashGraceRefused: new Set(),
    scheduled: null, plannedWith: null, retryAt: 0, failedInARow: 0, progressAt: now, unfencing: new Map(),
  });
  st.fencing = new Map();
  for (const p of peers(st)) {
    lead.next.set(p, lastIndex(st) + 1);
    // followers talked to the old leader, not to us: give them a failure timeout to answer; the
    // old leader itself is judged on when we last heard it
    if (p !== st.lastKnownLeader) st.heard.set(p, Math.max(st.heard.get(p) ?? -Infinity, now));
  }
  if (st.config.quorumMode === 'two_node' && st.votes.size >= 2) st.quorumReady = true;
  out.trace('role', 'won election', 'candidate', 'leader');
  out.effects.push({ type: 'becameCoordinator', term: st.term });
  // A "node down" proposed in an older term and not known committed may have been overtaken:
  // the node may have rebooted and been granted a lease by a later coordinator since. It will be
  // committed with our noop, so follow it with "node up": what the node ran is cleared from the
  // record, but nothing of it moves before the node itself reports it stopped (or a new fence).
  const stale = new Set<NodeName>();
  for (const e of st.log) {
    if (e.index > st.commitIndex && e.cmd.type === 'nodeDown' && e.term < st.term) stale.add(e.cmd.node);
  }
  const cmds: Command[] = [{ type: 'noop', at: clusterNow(st, now) }];
  for (const n of [...stale].sort()) cmds.push({ type: 'nodeUp', node: n });
  if (stale.size > 0) out.trace('recover', `older-term node-down for ${[...stale].join(',')} neutralised by node-up`);
  appendCommands(st, out, cmds);
  lead.startIndex = lastIndex(st);
  broadcastAppend(st, out, now);
  maybeCommit(st, out, now);
}

export function onPreVoteRequest(st: NodeState, out: Out, from: NodeName, m: PreVoteRequest, now: number): void {
  if (m.term <= st.term) {
    out.send(from, { type: 'PreVoteResponse', term: st.term, granted: false });
    return;
  }
  let granted = !heardLeaderRecently(st, now) && logUpToDate(st, m.lastLogTerm, m.lastLogIndex);
  if (granted && st.role === 'precandidate') {
    // Simultaneous pre-candidates (two nodes alone time out together and would split the vote
    // forever): the lower name wins unless its log is behind. Pre-votes change no durable state,
    // so this tie-break only affects liveness.
    const theirsNewer = m.lastLogTerm > lastTerm(st) || (m.lastLogTerm === lastTerm(st) && m.lastLogIndex > lastIndex(st));
    if (st.self < from && !theirsNewer) granted = false;
    else {
      st.role = 'follower';
      st.votes = new Set();
      st.electionDeadline = now + randomElectionTimeout(st);
      out.trace('role', `yields to pre-candidate ${from}`, 'precandidate', 'follower');
    }
  }
  out.send(from, { type: 'PreVoteResponse', term: granted ? m.term : st.term, granted });
}

export function onPreVoteResponse(st: NodeState, out: Out, from: NodeName, m: PreVoteResponse, now: number): void {
  if (st.role !== 'precandidate') return;
  if (!m.granted) {
    if (m.term > st.term) becomeFollower(st, out, m.term, null, now, `pre-vote refused by ${from} at a higher term`);
    return;
  }
  if (m.term !== st.term + 1) return;
  st.votes.add(from);
  if (hasQuorum(quorumSpec(st), st.votes)) becomeCandidate(st, out, now);
}

export function onVoteRequest(st: NodeState, out: Out, from: NodeName, m: VoteRequest, now: number): void {
  if (m.term < st.term) {
    out.send(from, { type: 'VoteResponse', term: st.term, granted: false });
    return;
  }
  if (m.term > st.term) {
    // Leader stickiness: do not even adopt the term while a leader is alive (leader leases rely on it).
    if (heardLeaderRecently(st, now)) {
      out.send(from, { type: 'VoteResponse', term: st.term, granted: false });
      return;
    }
    becomeFollower(st, out, m.term, null, now, `vote request from ${from} at a higher term`);
  }
  const free = st.votedFor === null || st.votedFor === from;
  if (free && logUpToDate(st, m.lastLogTerm, m.lastLogIndex)) {
    st.votedFor = from;
    out.persist = true; // the vote is on disk before the grant leaves (rule 1)
    st.electionDeadline = now + randomElectionTimeout(st);
    out.trace('vote', `granted to ${from}`);
    out.send(from, { type: 'VoteResponse', term: st.term, granted: true });
  } else {
    out.send(from, { type: 'VoteResponse', term: st.term, granted: false });
  }
}

export function onVoteResponse(st: NodeState, out: Out, from: NodeName, m: VoteResponse, now: number): void {
  if (m.term > st.term) {
    becomeFollower(st, out, m.term, null, now, `vote refused by ${from} at a higher term`);
    return;
  }
  if (st.role !== 'candidate' || !m.granted) return;
  // A grant counts only for the term it answers (Raft §5.2); the unsafe switch drops this check.
  if (m.term !== st.term && !st.opts.unsafe.acceptStaleVotes) return;
  st.votes.add(from);
  if (hasQuorum(quorumSpec(st), st.votes)) becomeLeader(st, out, now);
}
