// The two messages an idle cluster sends, as the benchmarks replay them: the coordinator's
// heartbeat to a member holding a lease, and the member's answer.
import type { AppendEntries, AppendEntriesResponse } from '../../src/core/cluster/messages.js';

let seq = 0;

export function idleHeartbeat(): AppendEntries {
  const now = Math.floor(performance.now());
  return {
    type: 'AppendEntries', term: 3, prevLogIndex: 41, prevLogTerm: 3, entries: [], leaderCommit: 41,
    sentAt: now, lease: { at: now - 150 + (seq++ % 7), incarnation: 1 }, peerIncluded: false,
  };
}

export function idleAnswer(): AppendEntriesResponse {
  return {
    type: 'AppendEntriesResponse', term: 3, success: true, matchIndex: 41, echo: Math.floor(performance.now()),
    nodeTime: Math.floor(performance.now()), incarnation: 1, report: { applied: 41, active: [], promoted: [], failed: [], busy: false, run: null, failures: [] },
  };
}
