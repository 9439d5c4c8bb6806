// Ticks: what the core does on its timer (elections, heartbeats, failure detection, coordination,
// the two-node fence race, probes), and when the next tick is due.

import type { CompiledConfig } from '../../config/types.js';
import { coordinate } from './coordination.js';
import { canCampaign, becomeFollower, startPreVote } from './election.js';
import { nextRunDeadline } from './execution.js';
import { tickTwoNode } from './fencing.js';
import { leaderLeaseUntil, policyMargin } from './leases.js';
import { probeSilentPeers, retryRestartAnnouncement } from './liveness.js';
import { lastIndex } from './log.js';
import { broadcastAppend } from './replication.js';
import type { NodeState, Out } from './state.js';
import { peers } from './state.js';

export function tick(st: NodeState, out: Out, now: number): void {
  st.tickedAt = now;
  st.tickedAtCommit = st.commitIndex;
  const lead = st.lead;
  if (st.role === 'leader' && lead) {
    const t = st.config.timing;
    // check-quorum: without a quorum's acknowledgements within the leader lease, step down
    if (now - lead.since > t.electionTimeoutMs && now >= leaderLeaseUntil(st, now)) {
      becomeFollower(st, out, st.term, null, now, 'check-quorum: lost contact with a quorum');
    } else {
      if (now >= lead.nextHeartbeatAt) broadcastAppend(st, out, now);
      coordinate(st, out, now);
    }
  } else if (now >= st.electionDeadline && canCampaign(st)) {
    if (st.role === 'candidate' || st.role === 'precandidate') st.role = 'follower';
    startPreVote(st, out, now);
  }
  if (st.config.quorumMode === 'two_node') tickTwoNode(st, out, now);
  probeSilentPeers(st, out, now);
  retryRestartAnnouncement(st, out, now);
}

/** The tick pace while anything is unsettled (nextTickAt): half a heartbeat, at least 10 ms. */
export function unsettledTickMs(timing: CompiledConfig['timing']): number {
  return Math.max(10, Math.floor(timing.heartbeatIntervalMs / 2));
}

/**
 * When this node next needs a `tick` input, on its own clock. The agent arms its one timer for it
 * and the simulator schedules ticks by it, so what the simulator verifies is the schedule the
 * agent runs.
 *
 * Half a heartbeat after the last tick while anything is unsettled (the pace every timer-driven
 * rule was designed for, and the simulator's before this schedule):
 * a peer silent for more than 1.5 heartbeats, no coordinator, an election, a fence in progress, a
 * proposal not yet committed or a commit the coordinator has not acted on. In a steady cluster
 * ticks decide nothing but a few deadlines, and only those are scheduled: the coordinator's next
 * heartbeat, a follower's election deadline and the point where its coordinator has been silent
 * long enough to count as unsettled, the lease's no-quorum margin and end, and the next deadline
 * of this node's actions (a timeout, a watchdog fence's notBefore). Messages step the core in
 * between as always. Every silence-driven rule (probe after more than 2 heartbeats,
 * failure after failureTimeoutMs, election) needs more than 2 heartbeats of silence; the
 * half-heartbeat pace resumes after 1.5 on a coordinator and 2.5 on a follower, so the first tick
 * that can act on each rule comes as with fixed ticks (a silent coordinator is probed at 2.5
 * heartbeats either way). An idle member then wakes only for its coordinator's heartbeats instead
 * of every half heartbeat as well. Why 2.5 and not 1.5 on a follower: its deadline moves with
 * every heartbeat, and a runtime timer moved later still wakes the process at the old deadline
 * (Node never moves its libuv timer later), so the deadline's distance sets how often an idle
 * member wakes for nothing: after every heartbeat at 1.5, after every second one at 2.5.
 */
export function nextTickAt(st: NodeState, now: number): number {
  const hb = st.config.timing.heartbeatIntervalMs;
  // anchored at the last tick: messages stepping the core in between do not postpone it
  const fine = Math.max(now, st.tickedAt + unsettledTickMs(st.config.timing));
  const quiet = Math.floor((hb * 3) / 2);
  const followerQuiet = Math.floor((hb * 5) / 2);
  if (st.stopping || st.fencing.size > 0) return fine;
  let next: number;
  const lead = st.lead;
  if (st.role === 'leader' && lead) {
    if (st.commitIndex < lead.startIndex || lastIndex(st) > st.commitIndex || st.commitIndex > st.tickedAtCommit) return fine;
    for (const p of peers(st)) {
      if (st.cluster.down[p] || st.excluded.has(p)) continue;
      const h = st.heard.get(p);
      if (h === undefined || now - h >= quiet) return fine;
    }
    if (lead.nextHeartbeatAt <= now) return now; // due: a message step ran just before its timer
    next = lead.nextHeartbeatAt;
  } else if (st.role === 'follower' && st.leader !== null && now - st.lastHeardLeaderAt < followerQuiet) {
    next = st.lastHeardLeaderAt + followerQuiet;
    // a deadline already past that a tick did not act on (no campaign allowed yet) is no reason to
    // tick at once again; it is looked at with the next tick
    if (st.electionDeadline > now) next = Math.min(next, st.electionDeadline);
  } else {
    return fine;
  }
  if (!st.isWitness) {
    for (const d of [st.leaseUntil - policyMargin(st), st.leaseUntil]) if (d > now) next = Math.min(next, d);
    const run = nextRunDeadline(st);
    if (run !== null) next = Math.min(next, Math.max(run, now));
  }
  return next > now ? next : fine;
}
