// Stage 4: schedule actions (Pacemaker's schedule_actions). Compares where each primitive runs
// now with where it should run and emits start / stop / promote / demote / migrate / monitor
// actions. Failure recovery (on-fail=restart) restarts in place; a restart propagates down a
// group and along mandatory orders ("then" restarts when "first" does). Pinned primitives
// (unmanaged, maintenance, blocked) get no actions at all.

import { DEFAULT_OPERATION_TIMEOUT_MS, type OperationName } from '../../config/types.js';
import type { PlanActionType } from './types.js';
import type { TargetPlacementRole, WPrim, WorkingSet } from './working-set.js';
import { actionKey, interleaved, primsFor } from './working-set.js';

export function opTimeout(p: WPrim, name: OperationName): number {
  const op = p.def.operations.find((o) => o.name === name && o.intervalMs === 0) ?? p.def.operations.find((o) => o.name === name);
  return op?.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
}

export function addPrimAction(ws: WorkingSet, type: PlanActionType, p: WPrim, node: number, reason: string): string {
  const nodeName = ws.nodes[node]!.name;
  const key = actionKey(type, p.id, nodeName);
  if (!ws.actions.has(key)) {
    ws.actions.set(key, {
      id: -1, key, type, resource: p.id, node: nodeName,
      timeoutMs: opTimeout(p, type as OperationName), reason,
    });
  }
  return key;
}

function addMonitors(ws: WorkingSet, p: WPrim, node: number, role: TargetPlacementRole): void {
  const monitors = p.def.operations.filter((o) => o.name === 'monitor' && o.intervalMs > 0);
  const specific = monitors.filter((o) => o.role !== undefined && o.role === (role === 'started' ? undefined : role));
  const chosen = specific.length > 0 ? specific : monitors.filter((o) => o.role === undefined);
  const nodeName = ws.nodes[node]!.name;
  for (const op of chosen) {
    const key = actionKey('monitor', p.id, nodeName, String(op.intervalMs));
    ws.actions.set(key, {
      id: -1, key, type: 'monitor', resource: p.id, node: nodeName, timeoutMs: op.timeoutMs,
      intervalMs: op.intervalMs, reason: `recurring ${op.intervalMs} ms monitor`,
    });
  }
}

/** Primitives that get a stop action in this plan (for restart propagation). */
interface Pass { stopping: Set<WPrim>; demoting: Set<WPrim> }

function startOn(ws: WorkingSet, p: WPrim, node: number, role: TargetPlacementRole, reason: string): void {
  addPrimAction(ws, 'start', p, node, reason);
  if (role === 'promoted') {
    addPrimAction(ws, 'promote', p, node, reason);
    addMonitors(ws, p, node, 'promoted');
  } else addMonitors(ws, p, node, role);
}

function stopCopy(ws: WorkingSet, pass: Pass, p: WPrim, node: number, promoted: boolean, reason: string): void {
  if (promoted) addPrimAction(ws, 'demote', p, node, reason);
  addPrimAction(ws, 'stop', p, node, reason);
  pass.stopping.add(p);
}

function planPrim(ws: WorkingSet, pass: Pass, p: WPrim): void {
  const t = p.target;
  const active = p.active;
  const nodeName = (i: number) => ws.nodes[i]!.name;
  if (!t) {
    for (const c of active) {
      const why = p.whyStopped ?? 'not placed';
      stopCopy(ws, pass, p, c.node, c.role === 'promoted', `stop: ${why}`);
    }
    return;
  }
  const here = active.find((c) => c.node === t.node);
  if (p.stopUnexpected && here && here.role === t.role && p.restart === null) {
    // multiple-active=stop_unexpected: the copy where the resource belongs runs on untouched
    // (nothing ordered after it restarts); only the others stop.
    for (const c of active) {
      if (c === here) continue;
      const why = `multiple-active=stop_unexpected: stop the unexpected copy on ${nodeName(c.node)}`;
      if (c.role === 'promoted') addPrimAction(ws, 'demote', p, c.node, why);
      addPrimAction(ws, 'stop', p, c.node, why);
    }
    return;
  }
  if (active.length === 1 && here && here.role !== 'failed' && p.restart === null) {
    // Stays: only role changes.
    if (here.role === 'promoted' && t.role !== 'promoted') {
      addPrimAction(ws, 'demote', p, t.node, 'demote: another instance is preferred as primary');
      pass.demoting.add(p);
      addMonitors(ws, p, t.node, t.role);
    } else if (here.role !== 'promoted' && t.role === 'promoted') {
      addPrimAction(ws, 'promote', p, t.node, `promote on ${nodeName(t.node)}`);
      addMonitors(ws, p, t.node, 'promoted');
    }
    return;
  }
  const c0 = active[0];
  const canMigrate = active.length === 1 && c0 !== undefined && c0.node !== t.node && c0.role === 'started' &&
    p.def.meta.allowMigrate && p.unit.kind === 'primitive' && p.restart === null && p.onLost.length === 0;
  if (canMigrate) {
    addPrimAction(ws, 'migrate_to', p, c0.node, `live-migrate to ${nodeName(t.node)}`);
    addPrimAction(ws, 'migrate_from', p, t.node, `live-migrate from ${nodeName(c0.node)}`);
    addMonitors(ws, p, t.node, t.role);
    return;
  }
  let why: string;
  if (active.length > 1) why = `active on ${active.length} nodes: stop everywhere, start once`;
  else if (here?.role === 'failed' || (here && p.restart !== null)) why = p.restart ?? `recover failed ${p.id}`;
  else if (c0) why = `move from ${nodeName(c0.node)} to ${nodeName(t.node)}`;
  else if (p.onLost.length > 0) why = `recover from lost node ${nodeName(p.onLost[0]!.node)}`;
  else why = `start on ${nodeName(t.node)}`;
  for (const c of active) stopCopy(ws, pass, p, c.node, c.role === 'promoted', why);
  startOn(ws, p, t.node, t.role, why);
}

/** Restart a primitive that would otherwise stay where it is. Returns true if it changed. */
function forceRestart(ws: WorkingSet, pass: Pass, p: WPrim, reason: string): boolean {
  if (p.pinned !== null || pass.stopping.has(p) || !p.target || p.active.length !== 1) return false;
  const c = p.active[0]!;
  if (c.node !== p.target.node) return false;
  stopCopy(ws, pass, p, c.node, c.role === 'promoted', reason);
  startOn(ws, p, c.node, p.target.role, reason);
  return true;
}

export function scheduleActions(ws: WorkingSet): void {
  if (ws.config.maintenanceMode) return;
  const pass: Pass = { stopping: new Set(), demoting: new Set() };
  for (const p of ws.prims.values()) if (p.pinned === null) planPrim(ws, pass, p);
  // Restart propagation to a fixpoint, like Pacemaker's pe_order_implies_then: a group member
  // that is stopped or (re)started restarts the members after it, and so does the "first" of a
  // mandatory order for its "then" ("first start then start": then restarts when first stops,
  // starts, moves or is recovered, e.g. from a lost node it is started elsewhere without a stop;
  // "first promote then start": also when first is demoted or promoted). An asymmetric order
  // restarts then only when first starts or is promoted. Optional orders never restart anything.
  const mandatory = ws.config.constraints.order.filter((o) =>
    o.kind === 'mandatory' && o.thenAction === 'start' && (o.firstAction === 'start' || o.firstAction === 'promote'));
  // Which primitives start (or arrive by migration) or get promoted in the plan; a restart added
  // below starts too (an asymmetric order restarts its then only on first's start).
  const startingSet = new Set<WPrim>();
  const promotingSet = new Set<WPrim>();
  for (const a of ws.actions.values()) {
    const p = a.resource === null ? undefined : ws.prims.get(a.resource);
    if (!p) continue;
    if (a.type === 'start' || a.type === 'migrate_from') startingSet.add(p);
    else if (a.type === 'promote') promotingSet.add(p);
  }
  const starting = (p: WPrim): boolean => startingSet.has(p);
  let queue = [...ws.prims.values()].filter((p) => pass.stopping.has(p) || starting(p) || pass.demoting.has(p) || promotingSet.has(p));
  while (queue.length > 0) {
    const next: WPrim[] = [];
    const restart = (q: WPrim, reason: string) => {
      if (!forceRestart(ws, pass, q, reason)) return;
      startingSet.add(q);
      next.push(q);
    };
    const batch = new Set(queue);
    for (const p of queue) {
      if (!pass.stopping.has(p) && !starting(p)) continue;
      const chain = p.unit.instances[Math.max(0, p.instance)];
      if (chain) for (const q of chain) if (q.pos > p.pos) restart(q, `restart: ${p.id} restarts before it in its group`);
    }
    for (const o of mandatory) {
      // An asymmetric order implies nothing from first's stop or demote: only a (re)start or a
      // promotion of first restarts then.
      const undone = primsFor(ws, o.first).filter((q) => batch.has(q) && (o.symmetric
        ? pass.stopping.has(q) || starting(q) || (o.firstAction === 'promote' && (pass.demoting.has(q) || promotingSet.has(q)))
        : starting(q) || (o.firstAction === 'promote' && promotingSet.has(q))));
      if (undone.length === 0) continue;
      // Interleaved clones: only the instance on the node where first's instance changed restarts.
      const nodes = interleaved(ws, o.first, o.then) ? new Set(undone.flatMap((q) => [...q.active.map((c) => c.node), ...(q.target ? [q.target.node] : [])])) : null;
      for (const q of primsFor(ws, o.then)) {
        if (q.unit === ws.unitOf.get(o.first)) continue;
        if (nodes && !q.active.some((c) => nodes.has(c.node))) continue;
        restart(q, `restart: mandatory order after ${o.first} (${o.id})`);
      }
    }
    queue = next;
  }
}
