// Cluster time: the one clock the whole cluster agrees on, for what must outlive one coordinator
// (failure-timeout, ban lifetimes, when things happened). Machines share no clock, so it is built
// from the log: the coordinator stamps the entries that need a time with its cluster time, and
// every node keeps `clockOffset` so that its own monotonic clock plus the offset is never behind
// the highest stamp in its log, counted from when the entry reached it. A new coordinator holds
// every committed entry (Leader Completeness), so its stamps are never behind theirs: cluster time
// never goes backwards in the log, and advances at the pace of the machines' clocks (within the
// drift bound). While no node of the cluster runs, it stands still.

import type { Entry } from './messages.js';
import type { NodeState } from './state.js';

export function clusterNow(st: NodeState, now: number): number {
  return Math.max(now + st.clockOffset, st.cluster.clock);
}

/** A stamp `at` reached this node at local time `now`. */
export function observeClock(st: NodeState, at: number, now: number): void {
  if (at - now > st.clockOffset) st.clockOffset = at - now;
}

/** Entries that reached this node's log: their stamps. */
export function observeEntries(st: NodeState, entries: readonly Entry[], now: number): void {
  for (const e of entries) if ('at' in e.cmd && typeof e.cmd.at === 'number') observeClock(st, e.cmd.at, now);
}

/** A cluster time as this node's monotonic clock reads it (for deadlines such as notBefore). */
export function toLocal(st: NodeState, clusterTime: number): number {
  return clusterTime - st.clockOffset;
}
