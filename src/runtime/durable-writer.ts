// Carries out the core's `persist` effects through the durable store (src/ports/store.ts).
//
// The core hands over its WHOLE durable state (term, vote, snapshot, log) each time it changed;
// writing all of it every heartbeat would be wasteful, so this writer remembers what is on disk and
// writes only the difference: a new hard state, a new snapshot (which compacts the log), a
// conflicting suffix to truncate, new entries to append. Every store call resolves only once its
// data is fsync'd, and `write` resolves only after all of them: the runtime sends the messages
// that follow a `persist` only after `write` resolved (types.ts rule 1).
//
// Two log entries with the same index and term are the same entry (Raft's log matching property),
// so (index, term) pairs are all this writer needs to remember about the log on disk.

import type { Command } from '../core/cluster/commands.js';
import type { Durable } from '../core/cluster/types.js';
import { completeClusterState, type StoredClusterState } from './stored-state.js';
import { initialDurable } from '../core/cluster/node.js';
import type { CompiledConfig } from '../config/types.js';
import { StoreCorruptError, type Store } from '../ports/store.js';

export type ClusterStore = Store<Command, StoredClusterState>;

export class DurableWriter {
  private term = 0;
  private votedFor: string | null = null;
  private snapIndex = 0;
  private snapTerm = 0;
  /** (index, term) of the entries on disk after the snapshot, in order */
  private onDisk: { index: number; term: number }[] = [];
  writes = 0;

  constructor(private readonly store: ClusterStore) {}

  /** Read what is on disk; null on a first start (nothing was ever persisted). */
  async load(config: CompiledConfig): Promise<{ durable: Durable | null; repairs: string[] }> {
    const loaded = await this.store.load();
    // This writer saves the term before any entry or snapshot of that term (types.ts rule 1), so
    // a hard state behind them was lost or rolled back, and the vote it held with it: refused.
    const newest = Math.max(loaded.entries.at(-1)?.term ?? 0, loaded.snapshot?.term ?? 0);
    if (newest > loaded.hardState.term) {
      const file = 'dir' in this.store && typeof this.store.dir === 'string' ? `${this.store.dir}/hardstate` : 'hardstate';
      throw new StoreCorruptError(file, `term ${loaded.hardState.term} is behind the log and snapshot (term ${newest}): the file was lost or rolled back, and the vote it held with it`);
    }
    this.term = loaded.hardState.term;
    this.votedFor = loaded.hardState.votedFor;
    this.snapIndex = loaded.snapshot?.index ?? 0;
    this.snapTerm = loaded.snapshot?.term ?? 0;
    this.onDisk = loaded.entries.map((e) => ({ index: e.index, term: e.term }));
    const fresh = loaded.hardState.term === 0 && loaded.snapshot === null && loaded.entries.length === 0 && loaded.hardState.votedFor === null;
    if (fresh) return { durable: null, repairs: loaded.repairs };
    const base = initialDurable(config);
    return {
      durable: {
        term: loaded.hardState.term,
        votedFor: loaded.hardState.votedFor,
        snapshot: loaded.snapshot ? { index: loaded.snapshot.index, term: loaded.snapshot.term, state: completeClusterState(loaded.snapshot.state) } : base.snapshot,
        entries: loaded.entries.map((e) => ({ index: e.index, term: e.term, cmd: e.cmd })),
      },
      repairs: loaded.repairs,
    };
  }

  /** Make `d` durable; resolves once everything it changed is fsync'd. */
  async write(d: Durable): Promise<void> {
    this.writes++;
    // 1. term and vote first: a vote must never be sent before it is on disk
    if (d.term !== this.term || d.votedFor !== this.votedFor) {
      await this.store.saveHardState({ term: d.term, votedFor: d.votedFor, commitIndex: d.snapshot.index });
      this.term = d.term;
      this.votedFor = d.votedFor;
    }
    // 2. a newer snapshot compacts the log (the store drops entries ≤ its index, or the whole log
    //    when it has no entry matching the snapshot's index and term)
    if (d.snapshot.index !== this.snapIndex || d.snapshot.term !== this.snapTerm) {
      await this.store.saveSnapshot({ index: d.snapshot.index, term: d.snapshot.term, state: d.snapshot.state });
      const matches = this.onDisk.some((e) => e.index === d.snapshot.index && e.term === d.snapshot.term);
      this.onDisk = matches ? this.onDisk.filter((e) => e.index > d.snapshot.index) : [];
      this.snapIndex = d.snapshot.index;
      this.snapTerm = d.snapshot.term;
    }
    // 3. the log: keep the common prefix, truncate what differs or is gone, append the rest
    const entries = d.entries.filter((e) => e.index > this.snapIndex);
    const termOnDisk = new Map(this.onDisk.map((e) => [e.index, e.term]));
    let k = 0;
    while (k < entries.length && termOnDisk.get(entries[k]!.index) === entries[k]!.term) k++;
    const keepUpTo = k > 0 ? entries[k - 1]!.index : this.snapIndex;
    if (this.onDisk.some((e) => e.index > keepUpTo)) {
      await this.store.truncateFrom(keepUpTo + 1);
      this.onDisk = this.onDisk.filter((e) => e.index <= keepUpTo);
    }
    const rest = entries.slice(k);
    if (rest.length > 0) {
      await this.store.append(rest.map((e) => ({ index: e.index, term: e.term, cmd: e.cmd })));
      for (const e of rest) this.onDisk.push({ index: e.index, term: e.term });
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
