// The scheduler's working model: the snapshot and configuration unpacked into indexed, mutable
// per-run structures (Pacemaker's pe_working_set_t). Built by unpack-status.ts, refined by each
// later stage, thrown away after the plan is built. Nothing here outlives one `schedule` call.

import type {
  CloneResource, CompiledConfig, GroupResource, NodeName, PrimitiveResource, ResourceId, TargetRole,
} from '../../config/types.js';
import type { ClusterSnapshot, ResourceRole } from '../snapshot.js';
import type { PlanAction, PlanActionType } from './types.js';

export type ActiveRole = 'started' | 'unpromoted' | 'promoted' | 'failed';
export type TargetPlacementRole = 'started' | 'unpromoted' | 'promoted';

export interface WNode {
  name: NodeName;
  index: number;
  state: 'online' | 'offline' | 'unclean';
  standby: boolean;
  maintenance: boolean;
  attributes: Record<string, string>;
  /** may receive resources in this plan */
  canHost: boolean;
  /** resources seen here may still run and nobody confirmed otherwise: recovery waits for `fence` */
  lost: boolean;
  /** how a lost (or to-be-fenced) node is made safe */
  fence: NodeFence | null;
  /** the node is lost but cannot be made safe: its resources are blocked, with this reason */
  blockedReason: string | null;
  /** fencing disabled: the node is assumed down (unsafe, noted) */
  assumedDown: boolean;
  /** primitives assigned here so far (tie-break: fewest first, like Pacemaker) */
  assigned: number;
}

export interface NodeFence {
  method: 'device' | 'watchdog';
  /** what the devices do to the node: off unless an operator asked for a reboot */
  action?: 'off' | 'reboot';
  devices: string[];
  notBefore?: number;
  timeoutMs: number;
  reason: string;
}

export interface ActiveCopy {
  node: number;
  role: ActiveRole;
}

export interface WPrim {
  /** instance id: the primitive id, or "<id>:<n>" inside a clone */
  id: ResourceId;
  def: PrimitiveResource;
  unit: WUnit;
  /** position in the unit's chain (group member index; 0 for a lone primitive) */
  pos: number;
  /** clone instance number, or -1 */
  instance: number;
  /** observed copies on online nodes (running or failed) */
  active: ActiveCopy[];
  /** observed copies on lost nodes (gone once the node is fenced) */
  onLost: ActiveCopy[];
  /** node indexes this primitive may not run on, with the reason (failures, hard errors) */
  bans: Map<number, string>;
  /** may not run anywhere (errorFatal, on-fail=stop) */
  fatal: string | null;
  /** no actions at all for this primitive (unmanaged, maintenance, on-fail=block) */
  pinned: string | null;
  /** may run nowhere until a lost node it may still run on is made safe (copies elsewhere are stopped) */
  blocked: string | null;
  /** restart in place requested (failure recovery or a restarting mandatory predecessor) */
  restart: string | null;
  target: { node: number; role: TargetPlacementRole } | null;
  /** why this primitive is left stopped (set when it is managed and not placed) */
  whyStopped: string | null;
  /** active on several nodes with multiple-active=stop_unexpected: the copy on the target node stays */
  stopUnexpected: boolean;
}

export interface WUnit {
  /** the top-level resource id: a primitive, a group or a clone */
  id: ResourceId;
  kind: 'primitive' | 'group' | 'clone';
  clone: CloneResource | null;
  group: GroupResource | null;
  /** config ids of the chain (one primitive, or the group's members, or the clone child's chain) */
  chain: PrimitiveResource[];
  /** for a non-clone: the primitives of the chain; for a clone: one chain per instance */
  instances: WPrim[][];
  targetRole: TargetRole;
  managed: boolean;
  stickiness: number;
  /** location scores per node index (constraints, operator bans), before stickiness and colocation */
  base: number[];
  /** per node: how many chain members may run there (member bans cut the chain) */
  cut: number[];
  /** promotion scores per node (promotable clones) */
  promotion: number[];
  /** why the unit is left stopped, if it is */
  stoppedReason: string | null;
  assignedDone: boolean;
}

export interface WorkingSet {
  config: CompiledConfig;
  snapshot: ClusterSnapshot;
  now: number;
  nodes: WNode[];
  nodeIndex: Map<NodeName, number>;
  units: WUnit[];
  unitById: Map<ResourceId, WUnit>;
  /** every primitive instance by instance id */
  prims: Map<ResourceId, WPrim>;
  /** any config id (primitive, member, clone child, group, clone) → its unit */
  unitOf: Map<ResourceId, WUnit>;
  /** config primitive id → its chain position in its unit */
  posOf: Map<ResourceId, number>;
  quorate: boolean;
  notes: string[];
  expiredFailures: { resource: ResourceId; node: NodeName; operation: string }[];
  /** resources to be kept stopped by the runtime (see Plan.keepStopped) */
  keepStopped: { resource: ResourceId; reason: string }[];
  /** earliest future time at which a failure expires (see Plan.recheckAt) */
  recheckAt: number | null;
  actions: Map<string, PlanAction>;
  /** edges by action key */
  edges: [string, string][];
}

export function roleOf(role: ResourceRole): ActiveRole | null {
  return role === 'stopped' ? null : role;
}

export function actionKey(type: PlanActionType, resource: string | null, node: string, extra?: string): string {
  const base = resource === null ? `${type} ${node}` : `${type} ${resource} ${node}`;
  return extra === undefined ? base : `${base} ${extra}`;
}

/** All primitives of a unit (every instance's chain), in instance then chain order. */
export function primsOf(unit: WUnit): WPrim[] {
  const out: WPrim[] = [];
  for (const chain of unit.instances) for (const p of chain) out.push(p);
  return out;
}

/** The primitive instances a constraint's resource id stands for (unit, group, member, child). */
export function primsFor(ws: WorkingSet, id: ResourceId): WPrim[] {
  const unit = ws.unitOf.get(id);
  if (!unit) return [];
  const pos = ws.posOf.get(id);
  if (pos === undefined) return primsOf(unit);
  return unit.instances.map((c) => c[pos]!);
}

/** A primitive's resource-stickiness: its own or its unit's, whichever is larger. */
export function stickinessOf(unit: WUnit, p: WPrim): number {
  return Math.max(unit.stickiness, p.def.meta.stickiness);
}

/** The copy a primitive would keep: exactly one, running or recoverable in place. */
export function currentNode(p: WPrim): number | null {
  if (p.active.length !== 1 || p.onLost.length > 0) return null;
  return p.active[0]!.node;
}

/** An order between two clones that acts per node (Pacemaker's interleave): its `then` clone asks for it. */
export function interleaved(ws: WorkingSet, first: ResourceId, then: ResourceId): boolean {
  const a = ws.unitOf.get(first);
  const b = ws.unitOf.get(then);
  return a !== undefined && b !== undefined && a !== b && a.clone !== null && b.clone !== null && b.clone.interleave === true;
}
