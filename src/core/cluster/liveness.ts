// Liveness: which peers are lost, and the two graces that keep a restarting agent's node from being
// treated as lost.
//
// Graceful restart: the agent announces `restarting` before it exits (SIGTERM); once committed, the
// coordinator treats the silent node as alive for the grace: no fence, no nodeDown, nothing of it
// moves. Safety does not depend on it: the node gets no lease while silent (no echo, no grant), so
// nothing new starts there, and nothing it runs starts elsewhere before a fence confirmation or
// lease + drift + watchdog, exactly as without the grace — the grace only delays that recovery.
//
// Agent crash on a live host (peerAgentDown evidence): a silent peer is probed (probePeer effect →
// a plain TCP connect by the runtime) from two heartbeats of silence on, once per heartbeat: by the
// coordinator, any member; by a member, only the coordinator it last followed (members do not hear
// each other). A refused connect (RST from the peer's kernel) proves the host and the path are up
// and only the agent is gone; a powered-off host, a kernel panic or a cut link never answer, so
// they are handled exactly as before. On fresh evidence the coordinator proposes a `restarting`
// entry on the peer's behalf (cause 'crash', graceMs = timing.crashGraceMs) instead of fencing it;
// from then on the graceful-restart rules apply unchanged. It is given once per record (an expired
// grace is not renewed: the node is then fenced), and at most once per CRASH_GRACE_WINDOW_MS per
// node (a crash loop whose agent keeps coming back briefly is fenced the second time).

import type { NodeName } from '../../config/types.js';
import { pendingCommand } from './log.js';
import { propose } from './replication.js';
import type { NodeState, Out } from './state.js';
import { drift, hostNodes } from './state.js';
import { coordinate } from './coordination.js';

/** a coordinator grants a peer at most one crash grace per this window (a crash loop is fenced) */
const CRASH_GRACE_WINDOW_MS = 60_000;

/** n is this node, or this node heard it within the failure timeout (what status and metrics call up). */
export function heardRecently(st: NodeState, n: NodeName, now: number): boolean {
  if (n === st.self) return true;
  const h = st.heard.get(n);
  return h !== undefined && now - h < st.config.timing.failureTimeoutMs;
}

export function peerLost(st: NodeState, p: NodeName, now: number): boolean {
  if (p === st.self || inRestartGrace(st, p, now)) return false;
  const since = Math.max(st.heard.get(p) ?? st.startedAt, st.startedAt);
  return now - since >= st.config.timing.failureTimeoutMs;
}

/** The coordinator's view: p answers, and holds a lease granted by it (so it may act). */
export function isOnline(st: NodeState, n: NodeName, now: number): boolean {
  if (st.cluster.down[n]) return false;
  if (n === st.self) return now < st.leaseUntil && !st.leaseGrace;
  if (peerLost(st, n, now)) return false;
  const lead = st.lead;
  return lead !== null && lead.reports.has(n) && (lead.grantExpiry.get(n) ?? 0) > now;
}

export function restartGraceMs(st: NodeState): number {
  return st.config.timing.restartGraceMs;
}

export function crashGraceMs(st: NodeState): number {
  return st.config.timing.crashGraceMs;
}

/** Whether this incarnation's `restarting` entry is committed and applied here (the runtime may exit). */
export function restartAnnounced(st: NodeState): boolean {
  return st.cluster.restarting[st.self]?.incarnation === st.incarnation;
}

/** The coordinator heard from a new incarnation of p since p announced its restart. */
export function restartedSince(st: NodeState, p: NodeName): boolean {
  const rec = st.cluster.restarting[p];
  const rep = st.lead?.reports.get(p);
  return rec !== undefined && rep !== undefined && rep.incarnation !== rec.incarnation;
}

/**
 * A committed, unexpired restart grace for p: measured from when this node applied it, bounded by
 * the configured grace, stretched by the drift bound (waiting longer is the safe side: the grace
 * only ever delays recovery). Ends as soon as p's next incarnation is heard.
 */
export function inRestartGrace(st: NodeState, p: NodeName, now: number): boolean {
  return restartGrace(st, p, now) !== null;
}

/** p's unexpired restart grace as this node counts it (see inRestartGrace), for status displays. */
export function restartGrace(st: NodeState, p: NodeName, now: number): { cause: 'restart' | 'crash'; remainingMs: number } | null {
  // two_node: the survivor has no quorum without its peer anyway; keep the fence race as it was
  if (st.config.quorumMode === 'two_node') return null;
  const rec = st.cluster.restarting[p];
  if (!rec || st.cluster.down[p]) return null;
  const g = st.graceStart.get(p);
  if (!g || g.index !== rec.index || restartedSince(st, p)) return null;
  const bound = Math.min(rec.graceMs, rec.cause === 'crash' ? crashGraceMs(st) : restartGraceMs(st));
  const remainingMs = g.at + Math.ceil(bound * (1 + drift(st))) - now;
  return remainingMs > 0 ? { cause: rec.cause === 'crash' ? 'crash' : 'restart', remainingMs } : null;
}

export function gracefulStop(st: NodeState, out: Out, now: number): void {
  if (st.stopping) return;
  st.stopping = true;
  const graceMs = restartGraceMs(st);
  if (st.isWitness || graceMs === 0) {
    out.trace('graceful-stop', 'no restart grace (witness, or restartGraceMs 0)');
    return;
  }
  out.trace('graceful-stop', `announcing a restart, grace ${graceMs} ms`);
  proposeRestart(st, out, now);
}

function proposeRestart(st: NodeState, out: Out, now: number): void {
  st.restartProposal = { to: st.role === 'leader' ? st.self : st.leader, at: now };
  propose(st, out, [{ type: 'restarting', node: st.self, incarnation: st.incarnation, graceMs: restartGraceMs(st), cause: 'stop' }], now);
}

/**
 * A stopping agent's `restarting` entry can be lost: proposed while no coordinator was known (an
 * election under way when SIGTERM came), to a coordinator that lost its post before committing it,
 * or on a connection that dropped. Until this node sees it committed, it proposes it again to each
 * new coordinator, and to the same one once an election timeout has passed without the commit. A
 * duplicate that gets committed too changes nothing (state-machine.ts: same node and incarnation).
 */
export function retryRestartAnnouncement(st: NodeState, out: Out, now: number): void {
  const last = st.restartProposal;
  if (!st.stopping || last === null || restartAnnounced(st)) return;
  const to = st.role === 'leader' ? st.self : st.leader;
  if (to === null) return;
  if (to !== last.to || (to !== st.self && now - last.at >= st.config.timing.electionTimeoutMs)) {
    out.trace('graceful-stop', `announcing the restart again, to ${to}`);
    proposeRestart(st, out, now);
  }
}

/** Whether crash evidence is worth gathering at all here. */
export function crashGraceEnabled(st: NodeState): boolean {
  return crashGraceMs(st) > 0 && st.config.quorumMode !== 'two_node' && !st.isWitness && !st.stopping;
}

export function probeSilentPeers(st: NodeState, out: Out, now: number): void {
  if (!crashGraceEnabled(st)) return;
  const hb = st.config.timing.heartbeatIntervalMs;
  for (const p of hostNodes(st)) {
    // Only peers whose silence means something: the coordinator hears every member (each answers
    // its heartbeats); a member hears only the coordinator it follows (or followed, until another
    // one speaks, so that the next coordinator already holds evidence about a crashed one). Members
    // do not talk to each other: probing them would open a connection every heartbeat, forever.
    if (st.role !== 'leader' && p !== st.lastKnownLeader) continue;
    // only peers heard since this start: at a cold start the peers' agents are still coming up
    const heard = st.heard.get(p);
    if (p === st.self || st.cluster.down[p] || heard === undefined) continue;
    const since = Math.max(heard, st.startedAt);
    if (now - since <= 2 * hb) {
      st.probedAt.delete(p);
      continue;
    }
    const last = st.probedAt.get(p);
    if (last !== undefined && now - last < hb) continue;
    st.probedAt.set(p, now);
    out.effects.push({ type: 'probePeer', target: p });
  }
}

export function onPeerAgentDown(st: NodeState, out: Out, p: NodeName, seenAt: number, now: number): void {
  if (p === st.self || !hostNodes(st).includes(p)) return;
  // the refusal must postdate the last message heard from p (a reordered stale result proves nothing)
  if (seenAt < (st.heard.get(p) ?? -Infinity)) return;
  const first = !st.agentDownAt.has(p);
  st.agentDownAt.set(p, Math.max(seenAt, st.agentDownAt.get(p) ?? -Infinity));
  if (first) out.trace('agent-down-evidence', 'mesh port refused the connection: host up, agent gone', undefined, p);
  if (st.role === 'leader') coordinate(st, out, now);
}

/** Fresh "host alive, agent gone" evidence for p: seen within the failure timeout, after p went silent. */
function agentDownEvidence(st: NodeState, p: NodeName, now: number): boolean {
  const at = st.agentDownAt.get(p);
  if (at === undefined) return false;
  return now - at <= st.config.timing.failureTimeoutMs && at >= (st.heard.get(p) ?? -Infinity);
}

/**
 * Coordinator, p lost and holding resources: a crash grace instead of a fence? 'propose' (fresh
 * evidence, none given yet), 'wait' (one is being committed), or 'no' (the normal loss handling).
 */
export function crashGraceFor(st: NodeState, out: Out, p: NodeName, now: number): 'propose' | 'wait' | 'no' {
  const lead = st.lead;
  if (!lead || !crashGraceEnabled(st)) return 'no';
  if (pendingCommand(st, (c) => c.type === 'restarting' && c.node === p)) return 'wait';
  if (!agentDownEvidence(st, p, now)) return 'no';
  let refuse: string | null = null;
  if (st.fencing.get(p)?.inflight) refuse = 'a fence is already in flight';
  else if (st.cluster.restarting[p]) refuse = `its ${st.cluster.restarting[p]!.cause === 'crash' ? 'crash' : 'restart'} grace expired without the agent back`;
  else {
    const given = lead.crashGraceGiven.get(p);
    if (given !== undefined && now - given < CRASH_GRACE_WINDOW_MS) refuse = `a crash grace was already given ${Math.round(now - given)} ms ago (crash loop)`;
  }
  if (refuse !== null) {
    if (!lead.crashGraceRefused.has(p)) {
      lead.crashGraceRefused.add(p);
      out.effects.push({ type: 'crashGraceDecision', node: p, decision: 'fence', cause: refuse });
      out.trace('crash-grace', `refused: ${refuse}`, undefined, p);
    }
    return 'no';
  }
  return 'propose';
}
