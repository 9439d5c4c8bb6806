// The witness as this node sees it, like a quorum device's state in crm_mon.
//
// The coordinator hears the witness in its heartbeat answers. A member does not otherwise talk to
// it, so it asks the witness once a heartbeat interval with a pre-vote request at its own current
// term. No node grants a pre-vote for a term it already has (a real pre-vote asks for the next
// term), and a pre-vote changes no state on the receiver, so the request changes nothing anywhere;
// the answer proves the path both ways and carries the witness's term. A member answers its
// coordinator with this view in every report (NodeReport.witness), and the coordinator sends its
// own with its heartbeats (AppendEntries.witness), so any node's status shows how the nodes see it.

import type { WitnessSight } from './messages.js';
import type { NodeState, Out } from './state.js';
import { lastIndex, lastTerm } from './log.js';

function witnessOf(st: NodeState): string | null {
  return st.config.quorumMode === 'witness' ? (st.config.witness?.name ?? null) : null;
}

/** This node's view of the witness; null without a witness (or on the witness itself). */
export function witnessSight(st: NodeState, now: number): WitnessSight | null {
  const w = witnessOf(st);
  if (w === null || st.isWitness) return null;
  const at = st.heard.get(w);
  if (at === undefined) return { reachable: false, lastContactAgeMs: null, term: st.witnessTerm };
  const age = Math.max(0, Math.round(now - at));
  return { reachable: now - at < st.config.timing.failureTimeoutMs, lastContactAgeMs: age, term: st.witnessTerm };
}

/** A member asks the witness once a heartbeat interval (the coordinator hears it in its answers). */
export function askWitness(st: NodeState, out: Out, now: number): void {
  const w = witnessOf(st);
  if (w === null || st.isWitness || st.role !== 'follower' || st.stopping) return;
  if (now - st.witnessAskedAt < st.config.timing.heartbeatIntervalMs) return;
  st.witnessAskedAt = now;
  out.send(w, { type: 'PreVoteRequest', term: st.term, lastLogIndex: lastIndex(st), lastLogTerm: lastTerm(st) });
}
