// Leases.
//
// - Leader lease: a leader whose heartbeat sent at time s was acknowledged by a quorum knows no other
//   leader can be elected before s + electionTimeout × (1 − drift) on its own clock; it grants node
//   leases only inside that window.
// - Node lease: a node's lease is its OWN clock value echoed back by a leader holding its leader
//   lease, plus leaseMs. A delayed grant therefore never extends a lease. A node applies its
//   no-quorum policy a margin before its lease ends, and feeds the watchdog only while it holds the
//   lease (or runs nothing), so when the lease ends plus watchdogMs it surely runs nothing.
// - A lease grant is honoured only when the node has applied everything the leader had committed,
//   so a node returning from a fence or an expired lease never acts on a stale transition.

import type { NodeName } from '../../config/types.js';
import { quorumIndexOf } from './quorum.js';
import type { NodeState, Out } from './state.js';
import { drift, quorumSpec } from './state.js';

/** Leader lease: the sentAt acknowledged by a quorum (own clock), or -Infinity. */
export function quorumAckedAt(st: NodeState, now: number): number {
  const lead = st.lead;
  if (!lead) return -Infinity;
  return quorumIndexOf(quorumSpec(st), (name) => (name === st.self ? now : (lead.acked.get(name) ?? -Infinity)), -Infinity);
}

export function leaderLeaseUntil(st: NodeState, now: number): number {
  const at = quorumAckedAt(st, now);
  return at + st.config.timing.electionTimeoutMs * (1 - drift(st)) - 1;
}

/**
 * No lease for a node that is being fenced, was fenced, or is declared down anywhere in our log
 * (committed or not) without a later nodeUp: whatever it was running must be released first, and a
 * node that rebooted must not act on a transition that predates its fencing.
 */
export function mayGrantLease(st: NodeState, to: NodeName): boolean {
  const lead = st.lead;
  if (st.role !== 'leader' || !lead) return false;
  if (to === st.config.witness?.name) return false;
  // Until our first entry commits, our commit index may lag what is really committed (we may have
  // restarted): a node caught up to it could still act on a transition that was since replaced.
  if (st.commitIndex < lead.startIndex) return false;
  if (st.fencing.get(to)?.inflight || st.fencedConfirmed.has(to)) return false;
  for (let i = st.log.length - 1; i >= 0; i--) {
    const c = st.log[i]!.cmd;
    if (c.type === 'nodeDown' && c.node === to) return false;
    if (c.type === 'nodeUp' && c.node === to) return true;
  }
  return !st.snapshot.state.down[to];
}

export function renewLease(st: NodeState, until: number): void {
  if (until > st.leaseUntil || st.leaseGrace) {
    st.leaseUntil = Math.max(until, st.leaseGrace ? 0 : st.leaseUntil);
    st.leaseGrace = false;
    st.policyApplied = false;
    st.policyRetryAt = -Infinity;
  }
}

/** The no-quorum policy acts this long before the lease ends. */
export function policyMargin(st: NodeState): number {
  return Math.floor(st.config.timing.leaseMs / 4);
}

/** Whether this node may carry out actions now: it holds its lease, outside the no-quorum margin. */
export function mayAct(st: NodeState, now: number): boolean {
  return !st.stopping && !st.isWitness && !st.leaseGrace && now < st.leaseUntil - policyMargin(st) && !st.cluster.down[st.self];
}

export function maintainLease(st: NodeState, out: Out, now: number): void {
  if (st.isWitness) return;
  if (st.role === 'leader' && mayGrantLease(st, st.self)) {
    const base = quorumAckedAt(st, now);
    if (now < base + st.config.timing.electionTimeoutMs * (1 - drift(st)) - 1) renewLease(st, base + st.config.timing.leaseMs);
  }
  const holds = now < st.leaseUntil && !st.leaseGrace;
  if (holds !== st.leaseHeld) {
    st.leaseHeld = holds;
    out.effects.push({ type: 'lease', holds, until: st.leaseUntil });
    out.trace('lease', holds ? 'renewed by a quorate coordinator' : 'expired', holds ? 'lost' : 'held', holds ? 'held' : 'lost');
  }
  const policy = st.config.noQuorumPolicy;
  // (the stop itself: execution.ts, stopWithoutLease)
  if (st.local.size > 0 && !st.policyApplied && now >= st.leaseUntil - policyMargin(st)) {
    st.policyApplied = true;
    out.effects.push({ type: 'applyNoQuorumPolicy', policy, cause: 'lease about to end without renewal' });
    out.trace('no-quorum-policy', `lease ends at ${st.leaseUntil}`, undefined, policy);
    if (policy === 'fence') out.effects.push({ type: 'selfFence', cause: 'no quorum: lease about to end' });
  }
  if (st.config.fencing.watchdog) {
    const feed = (holds && now < st.leaseUntil) || st.local.size === 0 || policy === 'freeze';
    if (feed) out.effects.push({ type: 'feedWatchdog' });
  }
}
