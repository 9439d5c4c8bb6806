// Replicated log commands: every change of the cluster's dynamic state is one of these, committed
// by a quorum before anyone acts on it.

import type { NodeName, ResourceId } from '../../config/types.js';

export type Command =
  /** a new coordinator's first entry: commits everything before it (Raft §5.4.2) */
  | { type: 'noop' }
  /** place a resource on a node, or take it off (node null: its holder stops it) */
  | { type: 'assign'; resource: ResourceId; node: NodeName | null }
  /**
   * A node is down and holds nothing any more: a fence agent confirmed it powered off, or its lease
   * plus the drift margin plus the watchdog time passed. Releases everything placed on it.
   */
  | { type: 'nodeDown'; node: NodeName; cause: 'fenced' | 'lease-expired'; term: number }
  /** a down node came back (it rebooted empty, or stopped everything when its lease ran out) */
  | { type: 'nodeUp'; node: NodeName }
  | { type: 'standby'; node: NodeName; on: boolean }
  | { type: 'ban'; resource: ResourceId; node: NodeName; on: boolean }
  | { type: 'failure'; resource: ResourceId; node: NodeName; count: number; at: number }
  | { type: 'cleanup'; resource: ResourceId; node: NodeName | null }
  /**
   * The agent of `node` (incarnation `incarnation`) is stopping gracefully and will be back within
   * `graceMs`; its resources keep running. Until then the coordinator neither fences it nor moves
   * its resources on silence (it still holds no lease). Cleared by nodeUp / nodeDown.
   * `cause` 'crash': proposed by the coordinator on behalf of a node whose agent died while its host
   * stayed up (peerAgentDown evidence); incarnation is the last one the coordinator knew, or -1 when
   * it knew none (then any report in the coordinator's term comes from a new process). Absent:
   * 'stop' (the agent announced it on SIGTERM).
   */
  | { type: 'restarting'; node: NodeName; incarnation: number; graceMs: number; cause?: 'stop' | 'crash' }
  /** membership: the node voters (the witness is always a voter when configured) */
  | { type: 'voters'; voters: NodeName[] };

/** Commands an operator may issue (`tsha node standby`, `tsha resource ban` …). */
export type OperatorCommand = Extract<Command, { type: 'standby' | 'ban' | 'cleanup' }>;
