// The storage port: how the agent takes stateful storage (a Ceph RBD image, a DRBD resource) from a
// lost node and makes it ready here before the resource that holds it starts, and gives it up
// cleanly when that resource stops. The scheduler orders the steps (src/core/scheduler/storage.ts):
//
//   fence X (confirmed) → takeOver(blocklist, X) → takeOver(break_lock, X) → acquire → start/promote
//   stop/demote → release                         (a clean move: no takeover, no blocklist)
//
// LocalActions (src/runtime/local-actions.ts) calls it: the takeover steps are plan actions of
// their own, acquire runs right before the holding resource's start (promote, in a promotable
// clone) and release right after its stop (demote). Results are values, as for resource agents:
// an adapter throws only for bugs.

import type { NodeName, StorageSpec } from '../config/types.js';
import type { ActionResult } from './resource-agent.js';

export type StorageType = StorageSpec['type'];

/** A takeover step from a lost node, as the plan names it (storage_<step>). */
export type TakeoverStep = 'blocklist' | 'break_lock' | 'outdate_peer';

export interface StorageOptions {
  /** the adapter gives up after this long and reports `timeout` */
  timeoutMs: number;
}

export interface TakeoverOptions extends StorageOptions {
  /** the lost node the storage is taken from; the cluster confirmed its fence before this step */
  lost: NodeName;
}

/** A Ceph client that holds an RBD image's lock or watches it. */
export interface RbdClient {
  /** "client.4123" */
  client: string;
  /** "10.213.0.1:0/2039488231" (the address Ceph blocklists) */
  address: string;
  /** the lock's cookie ("auto 139872…" for librbd's exclusive lock); absent for a watcher */
  lockId?: string;
  /** the client runs on this node (its address is one of this node's) */
  local: boolean;
}

export interface DrbdPeer {
  /** the peer's DRBD host name (tsha's node name on NixOS) */
  node: string;
  /** Connected, Connecting, StandAlone, … */
  connection: string;
  /** Primary, Secondary, Unknown */
  role: string;
  /** UpToDate, Outdated, Inconsistent, DUnknown, … */
  disk: string;
}

/** What the storage looks like from this node, read only (for `tsha status` and the checks). */
export type StorageView =
  | {
      type: 'rbd';
      /** "pool/image" */
      name: string;
      holders: RbdClient[];
      watchers: RbdClient[];
      /** blocklist entries of the cluster whose address is one of the image's (past) clients */
      blocklisted: { address: string; until: string }[];
      /** set when Ceph could not be read */
      error?: string;
    }
  | {
      type: 'drbd';
      /** the DRBD resource name (volume appended when set: "r0/0") */
      name: string;
      role: string;
      disk: string;
      peers: DrbdPeer[];
      error?: string;
    };

export interface StorageDriver {
  readonly type: StorageType;
  /**
   * One takeover step from a lost node whose fence is confirmed: RBD `blocklist` (every client of
   * the image that is not this node's) and `break_lock`; DRBD `outdate_peer`. A step that finds
   * nothing to do (the lock already free) succeeds.
   */
  takeOver(spec: StorageSpec, step: TakeoverStep, o: TakeoverOptions): Promise<ActionResult>;
  /**
   * Right before the holding resource starts (is promoted) here: make the storage safe to write
   * from this node, or refuse (`error`: another node still holds it; `errorHard`: this node's copy
   * cannot be used, e.g. an Outdated DRBD disk).
   */
  acquire(spec: StorageSpec, o: StorageOptions): Promise<ActionResult>;
  /** Right after the holding resource stopped (was demoted) here: give the storage up cleanly. */
  release(spec: StorageSpec, o: StorageOptions): Promise<ActionResult>;
  /**
   * What the storage looks like from here, read only: `tsha status`, and the role of a promotable
   * resource whose agent has no roles of its own (DRBD Primary here: promoted).
   */
  inspect(spec: StorageSpec, o: StorageOptions): Promise<StorageView>;
  close(): Promise<void>;
}

/** The short name of a storage spec, as logs and `tsha status` show it. */
export function storageName(spec: StorageSpec): string {
  return spec.type === 'rbd' ? `${spec.pool}/${spec.image}` : spec.volume !== undefined ? `${spec.resource}/${spec.volume}` : spec.resource;
}
