// Replication (Raft §5.3, §5.4, §7): the coordinator's AppendEntries and InstallSnapshot, the
// members' answers (which carry their lease echo and their report), commit by quorum, and applying
// committed entries to the cluster state in order.

import type { NodeName } from '../../config/types.js';
import { observeClock, observeEntries } from './clock.js';
import type { Command } from './commands.js';
import { stepDown, becomeFollower, randomElectionTimeout } from './election.js';
import { afterApply, afterStateReplaced, selfReport } from './execution.js';
import { witnessSight } from './witness.js';
import { leaderLeaseUntil, mayGrantLease, renewLease } from './leases.js';
import { appendCommands, entryAt, lastIndex, maybeCompact, termAt } from './log.js';
import type { AppendEntries, AppendEntriesResponse, InstallSnapshot } from './messages.js';
import { quorumIndexOf } from './quorum.js';
import type { NodeState, Out } from './state.js';
import { drift, peers, quorumSpec, touch } from './state.js';
import { applyCommand, cloneClusterState } from './state-machine.js';

const MAX_BATCH = 64;

export function propose(st: NodeState, out: Out, cmds: Command[], now: number): void {
  if (st.role === 'leader') {
    appendCommands(st, out, cmds);
    maybeCommit(st, out, now);
    broadcastAppend(st, out, now);
  } else if (st.leader !== null) {
    out.send(st.leader, { type: 'Propose', term: st.term, cmds });
  } else {
    out.trace('command-dropped', `no coordinator known for ${cmds.map((c) => c.type).join(',')}`);
  }
}

function respond(st: NodeState, out: Out, to: NodeName, success: boolean, matchIndex: number, echo: number, now: number): void {
  let report = null;
  if (!st.isWitness) {
    report = selfReport(st);
    const w = witnessSight(st, now);
    if (w) report.witness = w;
  }
  const r: AppendEntriesResponse = {
    type: 'AppendEntriesResponse',
    term: st.term,
    success,
    matchIndex,
    echo,
    nodeTime: now,
    incarnation: st.incarnation,
    report,
  };
  out.send(to, r);
}

/** Common to AppendEntries and InstallSnapshot: a current leader speaks. */
function acceptLeader(st: NodeState, out: Out, from: NodeName, term: number, now: number): boolean {
  if (term < st.term) return false;
  if (term > st.term || st.role !== 'follower' || st.leader !== from) {
    becomeFollower(st, out, term, from, now, `append from leader ${from}`);
  }
  st.leader = from;
  st.lastKnownLeader = from;
  st.lastHeardLeaderAt = now;
  st.electionDeadline = now + randomElectionTimeout(st);
  return true;
}

export function onAppendEntries(st: NodeState, out: Out, from: NodeName, m: AppendEntries, now: number): void {
  if (!acceptLeader(st, out, from, m.term, now)) {
    respond(st, out, from, false, 0, m.sentAt, now);
    return;
  }
  if (m.witness) st.coordinatorWitness = { from, sight: m.witness, at: now };
  let prev = m.prevLogIndex;
  let prevTerm = m.prevLogTerm;
  let entries = m.entries;
  if (prev < st.snapshot.index) {
    // everything up to our snapshot is committed, hence identical: skip it
    entries = entries.filter((e) => e.index > st.snapshot.index);
    if (entries.length === 0 && prev + m.entries.length <= st.snapshot.index) {
      respond(st, out, from, true, st.snapshot.index, m.sentAt, now);
      return;
    }
    prev = st.snapshot.index;
    prevTerm = st.snapshot.term;
  }
  if (prev > lastIndex(st)) {
    respond(st, out, from, false, lastIndex(st), m.sentAt, now);
    return;
  }
  if (termAt(st, prev) !== prevTerm) {
    respond(st, out, from, false, Math.max(st.commitIndex, prev - 1), m.sentAt, now);
    return;
  }
  for (const e of entries) {
    const t = termAt(st, e.index);
    if (t === e.term) continue;
    if (t !== undefined) {
      // conflicting suffix: drop it (never a committed entry, by Log Matching + Leader Completeness)
      st.log = st.log.slice(0, e.index - st.snapshot.index - 1);
    }
    st.log.push(e);
    out.persist = true;
    touch(st);
  }
  observeEntries(st, entries, now);
  const newLast = prev + entries.length;
  const commit = Math.min(m.leaderCommit, newLast);
  if (commit > st.commitIndex) {
    st.commitIndex = commit;
    applyCommitted(st, out, now);
  }
  if (m.peerIncluded) st.quorumReady = true;
  if (m.lease && m.lease.incarnation === st.incarnation && st.commitIndex >= m.leaderCommit && !st.isWitness) {
    renewLease(st, m.lease.at + st.config.timing.leaseMs);
  }
  respond(st, out, from, true, newLast, m.sentAt, now);
}

export function onInstallSnapshot(st: NodeState, out: Out, from: NodeName, m: InstallSnapshot, now: number): void {
  if (!acceptLeader(st, out, from, m.term, now)) {
    respond(st, out, from, false, 0, m.sentAt, now);
    return;
  }
  const snap = m.snapshot;
  if (snap.index > st.commitIndex) {
    if (termAt(st, snap.index) === snap.term) st.log = st.log.filter((e) => e.index > snap.index);
    else st.log = [];
    st.snapshot = snap;
    st.cluster = cloneClusterState(snap.state);
    st.commitIndex = snap.index;
    st.applied = snap.index;
    observeClock(st, snap.state.clock, now);
    out.persist = true;
    touch(st);
    out.trace('snapshot-installed', `index ${snap.index} from ${from}`);
    afterStateReplaced(st, out, now);
  }
  respond(st, out, from, true, Math.max(snap.index, Math.min(st.commitIndex, lastIndex(st))), m.sentAt, now);
}

export function onAppendResponse(st: NodeState, out: Out, from: NodeName, m: AppendEntriesResponse, now: number): void {
  if (m.term > st.term) {
    becomeFollower(st, out, m.term, null, now, `${from} is at a higher term`);
    return;
  }
  const lead = st.lead;
  if (st.role !== 'leader' || !lead || m.term !== st.term) return;
  lead.acked.set(from, Math.max(lead.acked.get(from) ?? -Infinity, m.echo));
  const prevEcho = lead.echoes.get(from);
  if (!prevEcho || prevEcho.incarnation !== m.incarnation || m.nodeTime > prevEcho.at) {
    lead.echoes.set(from, { at: m.nodeTime, incarnation: m.incarnation, receivedAt: now });
  }
  if (m.report) {
    const prev = lead.reports.get(from);
    if (!prev || prev.incarnation !== m.incarnation || m.report.applied >= prev.report.applied) {
      lead.reports.set(from, { report: m.report, incarnation: m.incarnation, at: now });
    }
  }
  if (m.success) {
    const match = Math.max(lead.match.get(from) ?? 0, m.matchIndex);
    lead.match.set(from, match);
    lead.next.set(from, Math.max(lead.next.get(from) ?? 1, match + 1));
    if (st.excluded.has(from) && match >= st.commitIndex) {
      // two_node: the fenced peer is back and caught up; count it in the quorum again
      st.excluded.delete(from);
      out.trace('quorum', `${from} caught up: counted in the quorum again`);
    }
    maybeCommit(st, out, now);
    if ((lead.next.get(from) ?? 1) <= lastIndex(st)) sendAppend(st, out, from, now);
  } else {
    lead.next.set(from, Math.max(1, Math.min((lead.next.get(from) ?? 1) - 1, m.matchIndex + 1)));
    sendAppend(st, out, from, now);
  }
}

function sendAppend(st: NodeState, out: Out, to: NodeName, now: number, leaseUntil = leaderLeaseUntil(st, now)): void {
  const lead = st.lead!;
  const next = lead.next.get(to) ?? lastIndex(st) + 1;
  if (next <= st.snapshot.index) {
    const m: InstallSnapshot = { type: 'InstallSnapshot', term: st.term, snapshot: st.snapshot, sentAt: now };
    out.send(to, m);
    return;
  }
  const prev = next - 1;
  const entries = st.log.slice(next - st.snapshot.index - 1, next - st.snapshot.index - 1 + MAX_BATCH);
  let lease: AppendEntries['lease'] = null;
  const echo = lead.echoes.get(to);
  if (echo && now < leaseUntil && mayGrantLease(st, to)) {
    lease = { at: echo.at, incarnation: echo.incarnation };
    // on our clock, the lease that this grant extends surely ends by then
    const bound = echo.receivedAt + Math.ceil(st.config.timing.leaseMs * (1 + drift(st))) + 1;
    lead.grantExpiry.set(to, Math.max(lead.grantExpiry.get(to) ?? 0, bound));
  }
  const m: AppendEntries = {
    type: 'AppendEntries',
    term: st.term,
    prevLogIndex: prev,
    prevLogTerm: termAt(st, prev) ?? 0,
    entries,
    leaderCommit: st.commitIndex,
    sentAt: now,
    lease,
    peerIncluded: st.config.quorumMode === 'two_node' && !st.excluded.has(to),
  };
  if (to !== st.config.witness?.name) {
    const w = witnessSight(st, now);
    if (w) m.witness = w;
  }
  out.send(to, m);
}

export function broadcastAppend(st: NodeState, out: Out, now: number): void {
  const lead = st.lead;
  if (!lead) return;
  const leaseUntil = leaderLeaseUntil(st, now);
  for (const p of peers(st)) sendAppend(st, out, p, now, leaseUntil);
  lead.nextHeartbeatAt = now + st.config.timing.heartbeatIntervalMs;
  out.commitAdvanced = false;
}

export function maybeCommit(st: NodeState, out: Out, now: number): void {
  const lead = st.lead;
  if (st.role !== 'leader' || !lead) return;
  const last = lastIndex(st);
  const n = quorumIndexOf(quorumSpec(st), (name) => (name === st.self ? last : (lead.match.get(name) ?? 0)), 0);
  // only entries of the current term are committed by counting (Raft §5.4.2)
  if (n > st.commitIndex && termAt(st, n) === st.term) {
    st.commitIndex = n;
    out.commitAdvanced = true;
    applyCommitted(st, out, now);
  }
}

export function applyCommitted(st: NodeState, out: Out, now: number): void {
  while (st.applied < st.commitIndex) {
    const i = st.applied + 1;
    const e = entryAt(st, i);
    if (!e) break;
    applyCommand(st.cluster, e.cmd, i);
    st.applied = i;
    if ('at' in e.cmd && typeof e.cmd.at === 'number') observeClock(st, e.cmd.at, now);
    if (e.cmd.type === 'restarting' && e.cmd.node !== st.self) {
      // the grace runs from when THIS node learned it was committed, on its own clock
      st.graceStart.set(e.cmd.node, { index: i, at: now });
      out.trace('restart-grace', `agent restarting, grace ${e.cmd.graceMs} ms`, undefined, e.cmd.node);
    }
    touch(st);
    if (e.cmd.type === 'voters' && st.role === 'leader' && !e.cmd.voters.includes(st.self)) {
      out.trace('membership', 'removed from the voters: stepping down');
      stepDown(st, out, 'removed from the voters');
      st.leader = null;
    }
    afterApply(st, out, e.cmd, i, now);
  }
  maybeCompact(st, out);
}
