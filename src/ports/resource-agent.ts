// The resource-agent port: how the runtime starts, stops and checks one primitive resource on the
// local node. Adapters (systemd over D-Bus, exec commands) implement it;
// the simulator plugs in a simulated one. Results are values (STYLE.md practice 9): an adapter
// throws only for bugs and invalid configuration (named error classes), never for an action that
// failed, timed out or found nothing installed.
//
// Pacemaker distinctions kept on purpose:
// - how far a failure reaches: `error` (retry here, count a failure), `errorHard` (not on this node
//   again until cleaned up), `errorFatal` (nowhere: the configuration itself is wrong);
// - monitor's OCF_SUCCESS vs OCF_NOT_RUNNING: a monitor that worked is `status: 'ok'`, and whether
//   the resource runs is a separate field (`state`, `running`), so "cleanly stopped" is not an error
//   while "failed" (OCF_ERR_GENERIC from a monitor) is `status: 'error'` with `state: 'failed'`.

import type { ResourceId, ResourceKind } from '../config/types.js';

export type ActionStatus =
  /** the action did what was asked (start: running; stop: not running; monitor/probe: state read) */
  | 'ok'
  /** soft failure: may be retried on this node; counts toward migration-threshold */
  | 'error'
  /** the resource cannot run on this node (bad unit file, masked, missing binary): ban it here */
  | 'errorHard'
  /** the resource cannot run anywhere (invalid configuration, e.g. an invalid unit name) */
  | 'errorFatal'
  /** the operation did not finish within its timeout (the adapter stopped waiting) */
  | 'timeout'
  /** what the resource needs is not present on this node (unit file not found, OCF_ERR_INSTALLED) */
  | 'notInstalled';

export interface ActionResult {
  status: ActionStatus;
  /** the exit code of the command, for exec and OCF resources */
  exitCode?: number;
  /** one line for logs and `tsha status` failed actions: systemd job result, unit Result=, stderr tail */
  reason?: string;
}

/**
 * What a monitor or probe saw. `state` is the precise observation; `running` is the conservative
 * summary the safety rules need: true whenever processes of the resource may exist on this node
 * (running, starting or stopping), false only when it is stopped or failed.
 */
export type ResourceState = 'running' | 'stopped' | 'starting' | 'stopping' | 'failed';

export interface MonitorResult extends ActionResult {
  state: ResourceState;
  running: boolean;
  /** role of a promotable resource; plain resources report 'started' when running */
  role?: 'started' | 'promoted' | 'unpromoted';
  /** main process of the resource when the adapter knows it (systemd MainPID): re-adoption evidence */
  mainPid?: number;
}

/** The slice of a primitive resource that an agent needs (PrimitiveResource satisfies it). */
export interface ResourceRef {
  /** the primitive's id, or a clone instance's ("web:1") */
  id: ResourceId;
  kind: ResourceKind;
  /** kind-specific: systemd {unit}; exec {start, stop, monitor}; ocf {agent, ...agent parameters} */
  params: Record<string, string>;
  /** set when the primitive is a clone's child: the clone's shape, which OCF agents read (CRM_meta_clone_max, ...) */
  clone?: CloneShape;
}

export interface CloneShape {
  max: number;
  maxPerNode: number;
  promotable: boolean;
  promotedMax: number;
  promotedMaxPerNode: number;
}

export interface OperationOptions {
  /** the adapter gives up after this long and reports `timeout` (it leaves nothing waiting behind) */
  timeoutMs: number;
  /** monitors: the recurring monitor's interval; absent or 0 for a one-shot check (a probe) */
  intervalMs?: number;
}

export interface ResourceAgent {
  /** the resource kinds this agent handles */
  readonly kinds: readonly ResourceKind[];
  /** start; a resource already running is a no-op that reports ok (its processes are kept) */
  start(res: ResourceRef, op: OperationOptions): Promise<ActionResult>;
  /** stop; a resource already stopped (or not installed and so not running) reports ok */
  stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult>;
  /** the recurring health check */
  monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult>;
  /**
   * The one-shot check at agent start (Pacemaker's probe) used for re-adoption: it never changes
   * anything, so a healthy resource found running is kept as it is.
   */
  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult>;
  /** make a running resource the primary (promotable clones); absent: the kind has no roles */
  promote?(res: ResourceRef, op: OperationOptions): Promise<ActionResult>;
  /** back to secondary */
  demote?(res: ResourceRef, op: OperationOptions): Promise<ActionResult>;
  /**
   * Whether this resource has roles of its own when the kind may (an exec resource with promote and
   * demote commands); absent: every resource of a kind with promote has them. One without roles in a
   * promotable clone gets its role from its storage (DRBD Primary here: promoted).
   */
  hasRoles?(res: ResourceRef): boolean;
  /** release connections; the agent's resources keep running */
  close(): Promise<void>;
}

export function ok(reason?: string): ActionResult {
  return reason === undefined ? { status: 'ok' } : { status: 'ok', reason };
}

export function isRunningState(state: ResourceState): boolean {
  return state === 'running' || state === 'starting' || state === 'stopping';
}
