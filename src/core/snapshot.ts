// The cluster snapshot: what the scheduler reads. The coordinator builds it from the replicated
// state (placements, bans, standby, fail counts, fence records) plus the members' observations
// (what each node reports actually running). It is plain data so that it can be recorded to a
// file and replayed by `tsha simulate` (STYLE.md practice 5).

import type { NodeName, ResourceId } from '../config/types.js';

/** A node as the scheduler reads it (Pacemaker's node states). */
export type NodeSnapshotState =
  /** member of the quorate partition, heartbeating */
  | 'online'
  /** cleanly left or known powered off (fence confirmed) */
  | 'offline'
  /** lost without confirmation: its resources may still run; it must be fenced before recovery */
  | 'unclean';

export interface NodeSnapshot {
  name: NodeName;
  state: NodeSnapshotState;
  standby: boolean;
  maintenance: boolean;
  attributes: Record<string, string>;
  /** time (ms, coordinator's clock) at which the node's lease surely expired, or null */
  leaseExpiredAt?: number | null;
  /** a fabric-fencing device must unfence it (action on) before it takes resources; absent: no */
  unfencing?: boolean;
}

export type ResourceRole = 'started' | 'unpromoted' | 'promoted' | 'stopped' | 'failed';

/** One primitive instance observed on one node. Clone instances are "<child>:<n>". */
export interface ResourceObservation {
  resource: ResourceId;
  node: NodeName;
  role: ResourceRole;
}

export interface FailureRecord {
  resource: ResourceId;
  node: NodeName;
  operation: string;
  count: number;
  /** time of the last failure, for failure-timeout expiry */
  lastFailureAt: number;
  /** a hard error: not on this node again until cleaned up */
  hard?: boolean;
  /** a fatal error (errorFatal, e.g. invalid configuration): not on any node until cleaned up */
  fatal?: boolean;
}

export interface ClusterSnapshot {
  /** the coordinator's monotonic time at which this snapshot was taken */
  now: number;
  quorate: boolean;
  nodes: NodeSnapshot[];
  observations: ResourceObservation[];
  failures: FailureRecord[];
  /** operator bans (`tsha resource ban`) and moves: node-level location overrides */
  bans: { resource: ResourceId; node: NodeName; score: number }[];
  /** per-resource overrides of target role / managed set at run time */
  overrides: { resource: ResourceId; targetRole?: string; managed?: boolean }[];
  /** nodes whose fencing was confirmed since they were lost (safe to recover from) */
  fenced: NodeName[];
  /** fences an operator asked for (`tsha fence NODE`), not carried out yet */
  fenceRequests: { node: NodeName; action: 'off' | 'reboot'; by: string }[];
}
