// The scheduler's output: a plan (Pacemaker's transition graph). Actions are plain data with
// stable keys; edges say "before must complete (successfully) before after starts". The action
// array is already in a topological order, so a runner may also execute it sequentially.

import type { NodeName, ResourceId } from '../../config/types.js';
import type { ClusterSnapshot } from '../snapshot.js';
import type { CompiledConfig } from '../../config/types.js';

export type PlanActionType =
  | 'start'
  | 'stop'
  | 'monitor'
  | 'promote'
  | 'demote'
  | 'migrate_to'
  | 'migrate_from'
  /** power off / reset a node through its fence devices, or wait out its watchdog */
  | 'fence'
  /** Ceph: blocklist the dead node's RBD client so it can never write again */
  | 'storage_blocklist'
  /** Ceph: break the dead node's RBD exclusive lock (after its client is blocklisted) */
  | 'storage_break_lock'
  /** DRBD: mark the lost peer's disk outdated so it can never become primary with stale data */
  | 'storage_outdate_peer';

export interface PlanAction {
  /** position in the plan's topological order (0-based) */
  id: number;
  /** stable identity: "<type> <resource|node> <node>", e.g. "start web n2", "fence n1" */
  key: string;
  type: PlanActionType;
  /** the primitive instance acted on ("web", "drbd:0"); null for fencing */
  resource: ResourceId | null;
  /** the node the action runs on (for fence: the node fenced) */
  node: NodeName;
  timeoutMs: number;
  /** recurring monitors only */
  intervalMs?: number;
  /** storage handover and watchdog fencing: the node the action is about (the lost node) */
  target?: NodeName;
  /** fence actions: how the node is fenced */
  method?: 'device' | 'watchdog';
  /** watchdog fencing: the action completes no earlier than this time (coordinator clock) */
  notBefore?: number;
  /** fence actions: device ids in level order */
  devices?: string[];
  /** device fence actions an operator asked to be a reboot (`tsha fence --action reboot`); absent: off */
  fenceAction?: 'reboot';
  /** why the action is in the plan, in words */
  reason: string;
}

export interface PlanEdge {
  before: number;
  after: number;
}

export interface StoppedReason {
  resource: ResourceId;
  reason: string;
}

export interface Plan {
  /** the time the plan was computed for */
  now: number;
  actions: PlanAction[];
  edges: PlanEdge[];
  /** managed resources that want to run but are left stopped, and why */
  stopped: StoppedReason[];
  /** failure records that expired (failure-timeout) and may be cleared by the runtime */
  expiredFailures: { resource: ResourceId; node: NodeName; operation: string }[];
  /**
   * resources found active on several nodes with multiple-active=stop_only: the plan stops every
   * copy, and the runtime sets their target role to stopped so that no later plan starts them
   * again (the operator does, with `tsha resource enable`)
   */
  keepStopped: { resource: ResourceId; reason: string }[];
  /**
   * where each primitive instance runs once the plan completed (node, role); a pinned primitive
   * active on several nodes (multiple-active=block) has one entry per node
   */
  target: { resource: ResourceId; node: NodeName; role: 'started' | 'unpromoted' | 'promoted' }[];
  /**
   * when the cluster should be scheduled again even if nothing changes (a failure-timeout runs
   * out, a watchdog-fenced node becomes safe), or null: the runtime's cluster-recheck timer
   */
  recheckAt: number | null;
  /** things the operator should know (fencing disabled, blocked resources, no quorum) */
  notes: string[];
}

/** Action results are values (STYLE.md practice 9); the reach of a failure is in its status. */
export type ActionStatus = 'ok' | 'error' | 'errorHard' | 'errorFatal' | 'timeout' | 'notInstalled';

export interface ActionResult {
  status: ActionStatus;
  exitCode?: number;
  reason?: string;
}

/** One recorded scheduler input: enough to replay a decision exactly. */
export interface SchedulerInput {
  snapshot: ClusterSnapshot;
  config: CompiledConfig;
  now: number;
}
