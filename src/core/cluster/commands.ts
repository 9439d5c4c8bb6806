// Replicated log commands: every change of the cluster's dynamic state is one of these, committed
// by a quorum before anyone acts on it. `checkCommand` (below, one table beside the types) is the
// shape check every command read from the network or the disk passes before the core sees it.
//
// Time values named `at` / `until` are cluster time (clock.ts): the coordinator's reading of the
// clock the whole cluster agrees on, never one machine's monotonic clock.

import type { NodeName, ResourceId, TargetRole } from '../../config/types.js';
import type { ActionStatus, PlanAction, PlanActionType, PlanEdge } from '../scheduler/types.js';

/** A resource's role on a node as the cluster records it (Pacemaker's lrm status). */
export type ActiveRole = 'started' | 'unpromoted' | 'promoted' | 'failed';

/** The plan a transition carries: the scheduler's graph, and where everything runs once it completed. */
export interface TransitionPlan {
  actions: PlanAction[];
  edges: PlanEdge[];
  target: { resource: ResourceId; node: NodeName; role: 'started' | 'unpromoted' | 'promoted' }[];
}

/** One action's outcome as the cluster records it. `role`: the resource's role there afterwards (null: stopped). */
export interface CommittedResult {
  action: number;
  status: ActionStatus;
  exitCode?: number;
  reason?: string;
  role?: ActiveRole | null;
}

export type Command =
  /** a new coordinator's first entry: commits everything before it (Raft §5.4.2); `at` carries its cluster time */
  | { type: 'noop'; at?: number }
  /**
   * A node is down and holds nothing any more: a fence agent confirmed it powered off, or its lease
   * plus the drift margin plus the watchdog time passed. Clears what it ran.
   */
  | { type: 'nodeDown'; node: NodeName; cause: 'fenced' | 'lease-expired'; term: number; at?: number; /** the coordinator whose fencer confirmed it, and the device(s) */ executor?: NodeName; device?: string; /** why it was fenced, in words */ reason?: string }
  /** a down node came back (it rebooted empty, or stopped everything when its lease ran out) */
  | { type: 'nodeUp'; node: NodeName }
  /** a joined node was unfenced: the fabric-fencing devices that cover it ran `on` for it (by `executor`'s fencer) */
  | { type: 'unfenced'; node: NodeName; device: string; executor: NodeName; term: number; at?: number }
  | { type: 'standby'; node: NodeName; on: boolean }
  /** node maintenance: nothing on the node is started, stopped or recovered; monitors only report */
  | { type: 'maintenance'; node: NodeName; on: boolean }
  /**
   * A location override by the operator: score -INFINITY bans the resource from the node (`tsha
   * resource ban`), a positive score prefers the node (`tsha resource move`). `until` (cluster time)
   * ends it; `on: false` removes whatever override the resource has on that node.
   */
  | { type: 'ban'; resource: ResourceId; node: NodeName; on: boolean; score?: number; until?: number | null }
  /** run-time target role / managed overrides (`tsha resource enable|disable|manage|unmanage`); null clears */
  | { type: 'override'; resource: ResourceId; targetRole?: TargetRole | null; managed?: boolean | null }
  /** forget failures of a resource (on one node or all, one operation or all); `expired`: failure-timeout ran out */
  | { type: 'cleanup'; resource: ResourceId; node: NodeName | null; operation?: string | null; expired?: boolean }
  /**
   * A failure a node saw outside a transition (a recurring monitor): counted against the resource
   * there. `seq` and `incarnation` identify the node's report of it, so it is counted once.
   */
  | {
      type: 'failure'; node: NodeName; resource: ResourceId; operation: string; intervalMs: number; status: ActionStatus;
      exitCode: number; reason: string; seq: number; incarnation: number; at: number;
    }
  /** what a node reported running when it differed from the record (re-adoption, a resource recovered in maintenance) */
  | { type: 'observed'; node: NodeName; active: Record<ResourceId, ActiveRole> }
  /**
   * A transition: the scheduler's plan for the whole cluster, computed by the coordinator of `term`
   * (which carries out its fence actions). Every node carries out its own actions from it. Its id
   * is the log index of this entry. `inputs` is the cluster's input version it was computed from.
   */
  | { type: 'transition'; term: number; coordinator: NodeName; plan: TransitionPlan; inputs: number; at: number }
  /** outcomes of actions of a transition, as their nodes reported them */
  | { type: 'results'; transition: number; results: CommittedResult[]; at: number }
  /** a transition ends: all its actions succeeded, or it was aborted (in-flight actions finish, nothing new starts) */
  | { type: 'transitionEnd'; transition: number; outcome: 'complete' | 'aborted'; reason: string | null }
  /**
   * The agent of `node` (incarnation `incarnation`) is stopping gracefully and will be back within
   * `graceMs`; its resources keep running. Until then the coordinator neither fences it nor moves
   * its resources on silence (it still holds no lease). Cleared by nodeUp / nodeDown.
   * `cause` 'crash': proposed by the coordinator on behalf of a node whose agent died while its host
   * stayed up (peerAgentDown evidence); incarnation is the last one the coordinator knew, or -1 when
   * it knew none (then any report in the coordinator's term comes from a new process).
   */
  | { type: 'restarting'; node: NodeName; incarnation: number; graceMs: number; cause: 'stop' | 'crash' }
  /** membership: the node voters (the witness is always a voter when configured) */
  | { type: 'voters'; voters: NodeName[] }
  /**
   * DRBD's fence-peer handler on `by` (a Primary that lost its replication link to `node`, or a
   * node promoting without it) asks the live member `node` to outdate its disk of the DRBD
   * resource `resource`. `id` names the request. The target carries it out once it applied this
   * entry (src/runtime/drbd-fencing.ts) and answers with `outdateAnswer`. Not a scheduler input.
   */
  | { type: 'outdateRequest'; id: string; resource: string; node: NodeName; by: NodeName }
  /** `node`'s answer to the outdate request `id`: its disk is outdated, or it is Primary (refused), or it failed */
  | { type: 'outdateAnswer'; id: string; node: NodeName; outcome: OutdateOutcome; reason: string }
  /**
   * An operator asks the cluster to fence `node` (`tsha fence NODE`, like stonith_admin --fence):
   * the scheduler fences it in the next transition, as for on-fail=fence, so the fence is recorded
   * (nodeDown) and its resources recovered as for any fence. `on: false` withdraws a request the
   * cluster has not carried out yet. `by`: who asked, for the fence history.
   */
  | { type: 'fenceRequest'; node: NodeName; on: boolean; action: 'off' | 'reboot'; by: string; at?: number };

export type OutdateOutcome = 'outdated' | 'primary' | 'failed';

export type CommandType = Command['type'];

/** Commands an operator may issue (`tsha node standby`, `tsha resource ban` …). */
export type OperatorCommand = Extract<Command, { type: 'standby' | 'maintenance' | 'ban' | 'override' | 'cleanup' | 'fenceRequest' }>;

/** Commands the runtime of a node proposes on its own: operator commands, and DRBD fence-peer requests and answers. */
export type LocalCommand = OperatorCommand | Extract<Command, { type: 'outdateRequest' | 'outdateAnswer' }>;

// ---- shape checks -------------------------------------------------------------------------------

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
export const optional = (check: (v: unknown) => boolean) => (v: unknown): boolean => v === undefined || check(v);
export const nullable = (check: (v: unknown) => boolean) => (v: unknown): boolean => v === undefined || v === null || check(v);
export const oneOf = (...values: unknown[]) => (v: unknown): boolean => values.includes(v);

const ROLES = ['started', 'unpromoted', 'promoted', 'failed'] as const;
const STATUSES: ActionStatus[] = ['ok', 'error', 'errorHard', 'errorFatal', 'timeout', 'notInstalled'];
const TARGET_ROLES = ['started', 'stopped', 'promoted', 'unpromoted'];
export const isRole = oneOf(...ROLES);
export const isStatus = oneOf(...STATUSES);
export const isTargetRole = oneOf(...TARGET_ROLES);

const ACTION_TYPES: PlanActionType[] = [
  'start', 'stop', 'monitor', 'promote', 'demote', 'migrate_to', 'migrate_from', 'fence', 'storage_blocklist', 'storage_break_lock', 'storage_outdate_peer',
];

/** One of the resource-agent port's action statuses (a report's outcomes carry them too). */
export const isActionStatus = (v: unknown): v is ActionStatus => isStatus(v);

function isAction(v: unknown): boolean {
  return isObj(v) && isCount(v.id) && isStr(v.key) && oneOf(...ACTION_TYPES)(v.type) && (v.resource === null || isStr(v.resource)) && isStr(v.node) && isNum(v.timeoutMs) &&
    isStr(v.reason) && optional(isCount)(v.intervalMs) && optional(isStr)(v.target) && optional(oneOf('device', 'watchdog'))(v.method) &&
    optional(isNum)(v.notBefore) && optional((d) => Array.isArray(d) && d.every(isStr))(v.devices) && optional(oneOf('reboot'))(v.fenceAction);
}

/** A transition's plan as the executor reads it. */
export function isPlan(v: unknown): boolean {
  if (!isObj(v) || !Array.isArray(v.actions) || !Array.isArray(v.edges) || !Array.isArray(v.target)) return false;
  const n = v.actions.length;
  if (!v.actions.every((a, i) => isAction(a) && (a as Obj).id === i)) return false;
  // edges go forward in the actions' topological order (the executor relies on it)
  return v.edges.every((e) => isObj(e) && isCount(e.before) && isCount(e.after) && e.before < e.after && e.after < n) &&
    v.target.every((t) => isObj(t) && isStr(t.resource) && isStr(t.node) && oneOf('started', 'unpromoted', 'promoted')(t.role));
}

export function isResult(v: unknown): boolean {
  return isObj(v) && isCount(v.action) && isStatus(v.status) && optional(isNum)(v.exitCode) && optional(isStr)(v.reason) && nullable(isRole)(v.role);
}

/** Per command type: each field's check. A command has exactly these fields (optional ones may be absent). */
const FIELDS: { [T in CommandType]: Record<Exclude<keyof Extract<Command, { type: T }>, 'type'>, (v: unknown) => boolean> } = {
  noop: { at: optional(isNum) },
  nodeDown: { node: isStr, cause: oneOf('fenced', 'lease-expired'), term: isCount, at: optional(isNum), executor: optional(isStr), device: optional(isStr), reason: optional(isStr) },
  nodeUp: { node: isStr },
  unfenced: { node: isStr, device: isStr, executor: isStr, term: isCount, at: optional(isNum) },
  standby: { node: isStr, on: isBool },
  maintenance: { node: isStr, on: isBool },
  ban: { resource: isStr, node: isStr, on: isBool, score: optional(isNum), until: nullable(isNum) },
  override: { resource: isStr, targetRole: nullable(isTargetRole), managed: nullable(isBool) },
  cleanup: { resource: isStr, node: (v) => v === null || isStr(v), operation: nullable(isStr), expired: optional(isBool) },
  failure: {
    node: isStr, resource: isStr, operation: isStr, intervalMs: isCount, status: isStatus, exitCode: isNum, reason: isStr,
    seq: isCount, incarnation: isNum, at: isNum,
  },
  observed: { node: isStr, active: (v) => isObj(v) && Object.values(v).every(isRole) },
  transition: { term: isCount, coordinator: isStr, plan: isPlan, inputs: isCount, at: isNum },
  results: { transition: isCount, results: (v) => Array.isArray(v) && v.every(isResult), at: isNum },
  transitionEnd: { transition: isCount, outcome: oneOf('complete', 'aborted'), reason: (v) => v === null || isStr(v) },
  restarting: { node: isStr, incarnation: isNum, graceMs: isCount, cause: oneOf('stop', 'crash') },
  voters: { voters: (v) => Array.isArray(v) && v.every(isStr) },
  outdateRequest: { id: isStr, resource: isStr, node: isStr, by: isStr },
  outdateAnswer: { id: isStr, node: isStr, outcome: oneOf('outdated', 'primary', 'failed'), reason: isStr },
  fenceRequest: { node: isStr, on: isBool, action: oneOf('off', 'reboot'), by: isStr, at: optional(isNum) },
};

/** null when `c` is a well-formed command, else what is wrong with it. */
export function checkCommand(c: unknown): string | null {
  if (!isObj(c) || !isStr(c.type) || !Object.hasOwn(FIELDS, c.type)) return `bad command type ${isObj(c) ? JSON.stringify(c.type) : ''}`.trim();
  const fields = FIELDS[c.type as CommandType] as Record<string, (v: unknown) => boolean>;
  for (const k of Object.keys(c)) if (k !== 'type' && !Object.hasOwn(fields, k)) return `${c.type}: unknown field ${k}`;
  for (const [k, check] of Object.entries(fields)) if (!check(c[k])) return `${c.type}: bad ${k}`;
  return null;
}
