// The durable-state port: what the core's `persist` effects are carried out through. The runtime
// obeys the core's ordering rule (DESIGN.md: "a vote is on disk before it is sent"): every method
// resolves only once its data is durable (fsync'd, and renames made durable by an fsync of the
// directory), so the runtime may send the messages that depend on it right after.
//
// Payloads (a log entry's command, a snapshot's state) are opaque to the store: any JSON value.
// The store never accepts a torn or corrupted file silently: load() either returns a consistent
// state, or reports what it repaired (only an unacknowledged torn tail of the log), or throws
// StoreCorruptError naming the file and what is wrong.

export interface HardState {
  /** current term; never goes backwards (saveHardState refuses, as a bug) */
  term: number;
  /** the candidate voted for in `term`, or null */
  votedFor: string | null;
  /** highest log index known committed (optional: a restarted node may relearn it) */
  commitIndex: number;
}

export interface StoredEntry<C = unknown> {
  index: number;
  term: number;
  cmd: C;
}

export interface StoredSnapshot<S = unknown> {
  /** last log index the snapshot covers */
  index: number;
  term: number;
  state: S;
}

export interface LoadedState<C = unknown, S = unknown> {
  hardState: HardState;
  snapshot: StoredSnapshot<S> | null;
  /** entries after the snapshot, contiguous in index */
  entries: StoredEntry<C>[];
  /** what load() repaired (a torn last record from an append that never returned); empty normally */
  repairs: string[];
}

export interface Store<C = unknown, S = unknown> {
  /** read and validate everything; call once before any write */
  load(): Promise<LoadedState<C, S>>;
  /** durable before it resolves */
  saveHardState(hs: HardState): Promise<void>;
  /** append entries that continue the log (first index = last index + 1); durable before it resolves */
  append(entries: StoredEntry<C>[]): Promise<void>;
  /**
   * Drop every entry with index ≥ `index` (a conflicting suffix); durable before it resolves. A crash
   * during it leaves the old log or a prefix of it at least as long as the new one (entries go from
   * the end), never a log with a hole.
   */
  truncateFrom(index: number): Promise<void>;
  /**
   * Save a snapshot, then compact: entries ≤ snapshot.index are dropped. If the log has no entry at
   * snapshot.index with snapshot.term, the whole log is discarded (Raft §7: the snapshot supersedes it).
   */
  saveSnapshot(snapshot: StoredSnapshot<S>): Promise<void>;
  /** release the directory lock */
  close(): Promise<void>;
}

export const INITIAL_HARD_STATE: HardState = Object.freeze({ term: 0, votedFor: null, commitIndex: 0 });

/** A state file failed validation (bad magic, length, checksum, JSON, or log continuity). */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`state file ${file} is corrupt: ${detail}`);
  }
}

/**
 * A write, fsync, rename or unlink of the state directory failed (ENOSPC, EDQUOT, EIO, EROFS …).
 * What the call was to make durable is NOT durable; what was durable before still is (the store
 * undoes a partial append, and every other file is replaced atomically). The caller must not act
 * as if the call had succeeded; it may retry the same call later.
 */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  constructor(
    readonly file: string,
    /** what the store was doing: "write", "fsync", "rename", "fsync-dir", "truncate", "unlink" */
    readonly operation: string,
    /** the errno code (ENOSPC, EIO, …), or null */
    readonly code: string | null,
    override readonly cause: Error,
  ) {
    super(`cannot ${operation} ${file}: ${code ?? cause.message}${code && !cause.message.startsWith(code) ? ` (${cause.message})` : ''}`);
  }
}

/** Another live process holds the state directory. */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`state directory ${dir} is in use by pid ${pid}`);
  }
}

/** A caller broke the store's contract (a bug in the runtime or core, never a disk problem). */
export class StoreUsageError extends Error {
  override readonly name = 'StoreUsageError';
}
