// The replicated log: positions, terms, appending, and compaction into a snapshot of the applied
// state. Entries after the snapshot are kept in order in `st.log`.

import type { Command } from './commands.js';
import type { Entry } from './messages.js';
import type { NodeState, Out } from './state.js';
import { touch } from './state.js';
import { cloneClusterState } from './state-machine.js';
import type { Durable } from './types.js';

export function lastIndex(st: NodeState): number {
  return st.log.length > 0 ? st.log[st.log.length - 1]!.index : st.snapshot.index;
}

export function lastTerm(st: NodeState): number {
  return st.log.length > 0 ? st.log[st.log.length - 1]!.term : st.snapshot.term;
}

/** term of the entry at index i; undefined when compacted away or beyond the log */
export function termAt(st: NodeState, i: number): number | undefined {
  if (i === st.snapshot.index) return st.snapshot.term;
  if (i < st.snapshot.index) return undefined;
  return st.log[i - st.snapshot.index - 1]?.term;
}

export function entryAt(st: NodeState, i: number): Entry | undefined {
  return st.log[i - st.snapshot.index - 1];
}

export function logUpToDate(st: NodeState, lastLogTerm: number, lastLogIndex: number): boolean {
  const myTerm = lastTerm(st);
  return lastLogTerm > myTerm || (lastLogTerm === myTerm && lastLogIndex >= lastIndex(st));
}

export function durable(st: NodeState): Durable {
  return { term: st.term, votedFor: st.votedFor, snapshot: st.snapshot, entries: [...st.log] };
}

/** Append commands at the current term (coordinator). */
export function appendCommands(st: NodeState, out: Out, cmds: Command[]): void {
  let i = lastIndex(st);
  for (const cmd of cmds) st.log.push({ index: ++i, term: st.term, cmd });
  out.persist = true;
  touch(st);
}

/** Entries not yet committed that match `pred` (the coordinator's proposals on their way). */
export function pendingCommand(st: NodeState, pred: (c: Command) => boolean): boolean {
  for (let i = st.log.length - 1; i >= 0 && st.log[i]!.index > st.commitIndex; i--) if (pred(st.log[i]!.cmd)) return true;
  return false;
}

/** Compact: every `snapshotEvery` applied entries, the applied state becomes the snapshot. */
export function maybeCompact(st: NodeState, out: Out): void {
  if (st.applied - st.snapshot.index < st.opts.snapshotEvery) return;
  const t = termAt(st, st.applied) ?? st.snapshot.term;
  st.snapshot = { index: st.applied, term: t, state: cloneClusterState(st.cluster) };
  st.log = st.log.filter((e) => e.index > st.applied);
  out.persist = true;
  touch(st);
}
