// The durable states the crash-point test writes, in order, through the runtime's own persist path
// (DurableWriter over DiskStore), and what a node would send after each one is durable. Shared by
// the child that is killed (crash-point-child.ts) and the test that checks what it left
// (test/adapters/disk-store-crash-points.test.ts).
//
// The sequence visits every kind of store call: a vote (hard state), appends that roll log
// segments, a conflicting suffix truncated by a new leader, a snapshot that compacts, and an
// installed snapshot that supersedes the whole log.
import type { Entry } from '../../src/core/cluster/messages.js';
import type { Durable } from '../../src/core/cluster/types.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';

export interface ScriptStep {
  durable: Durable;
  /** highest index the node knows committed once this state is durable (never lost afterwards) */
  commit: number;
  /** what the node sends once this state is durable */
  sends: ({ type: 'vote'; term: number; for: string } | { type: 'ack'; index: number; term: number })[];
}

const pad = 'x'.repeat(300);
const entries = (from: number, to: number, term: number): Entry[] =>
  Array.from({ length: to - from + 1 }, (_, k) => ({ index: from + k, term, cmd: { type: 'noop', pad } as unknown as Entry['cmd'] }));
const snap = (index: number, term: number): Durable['snapshot'] => ({ index, term, state: { mark: `snapshot ${index}` } as unknown as ClusterState });

/** Built from an initial snapshot (the one the core starts with), so every step is a whole Durable. */
export function crashScript(initial: Durable['snapshot']): ScriptStep[] {
  const s0 = initial;
  const steps: ScriptStep[] = [];
  const push = (durable: Durable, commit: number, sends: ScriptStep['sends']): void => void steps.push({ durable, commit, sends });
  // n1 becomes a candidate: term 1, votes for itself (sent as a vote request)
  push({ term: 1, votedFor: 'n1', snapshot: s0, entries: [] }, 0, [{ type: 'vote', term: 1, for: 'n1' }]);
  // term 2: grants n2 its vote
  push({ term: 2, votedFor: 'n2', snapshot: s0, entries: [] }, 0, [{ type: 'vote', term: 2, for: 'n2' }]);
  // n2 leads: entries 1-3, acknowledged; then 4-5, acknowledged, 1-3 known committed
  push({ term: 2, votedFor: 'n2', snapshot: s0, entries: entries(1, 3, 2) }, 0, [{ type: 'ack', index: 3, term: 2 }]);
  push({ term: 2, votedFor: 'n2', snapshot: s0, entries: [...entries(1, 3, 2), ...entries(4, 5, 2)] }, 3, [{ type: 'ack', index: 5, term: 2 }]);
  // term 3, a new leader n3 that never had 4-5: the suffix is truncated, 4-7 of term 3 appended
  push({ term: 3, votedFor: 'n3', snapshot: s0, entries: [...entries(1, 3, 2), ...entries(4, 7, 3)] }, 3, [
    { type: 'vote', term: 3, for: 'n3' },
    { type: 'ack', index: 7, term: 3 },
  ]);
  // 1-6 committed and applied: a snapshot at 5 compacts the log
  push({ term: 3, votedFor: 'n3', snapshot: snap(5, 3), entries: entries(6, 7, 3) }, 6, []);
  // more entries, rolling to new segments
  push({ term: 3, votedFor: 'n3', snapshot: snap(5, 3), entries: [...entries(6, 7, 3), ...entries(8, 12, 3)] }, 7, [{ type: 'ack', index: 12, term: 3 }]);
  // term 4: a leader installs a snapshot at 20 that supersedes this node's log
  push({ term: 4, votedFor: null, snapshot: snap(20, 4), entries: [] }, 20, [{ type: 'ack', index: 20, term: 4 }]);
  push({ term: 4, votedFor: null, snapshot: snap(20, 4), entries: entries(21, 22, 4) }, 20, [{ type: 'ack', index: 22, term: 4 }]);
  return steps;
}

/** Segment size for the test: a few records each, so appends create and remove segments. */
export const CRASH_SEGMENT_BYTES = 1200;
