// Stage 1: unpack status (Pacemaker's cluster_status / unpack_*). Turns the snapshot and the
// configuration into the indexed working set: which nodes may host resources, which are lost and
// must be fenced, the primitive instances of every unit, where each copy runs now, and what the
// failure history means (migration-threshold bans, failure-timeout expiry, on-fail policies).

import type {
  CloneResource, CompiledConfig, GroupResource, OnFail, PrimitiveResource, Resource, ResourceId,
} from '../../config/types.js';
import { multipleActivePolicy } from '../../config/types.js';
import type { ClusterSnapshot, FailureRecord } from '../snapshot.js';
import { requestFencing, uncleanReason } from './fencing.js';
import type { WNode, WPrim, WUnit, WorkingSet } from './working-set.js';
import { primsOf, roleOf } from './working-set.js';

/** Raised for inputs the scheduler cannot make sense of (a bug upstream of it). */
export class SchedulerInputError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'SchedulerInputError';
  }
}

const INSTANCE_SUFFIX = /^(.*):(\d+)$/;

export function unpackStatus(snapshot: ClusterSnapshot, config: CompiledConfig, now: number): WorkingSet {
  const ws: WorkingSet = {
    config, snapshot, now, nodes: [], nodeIndex: new Map(), units: [], unitById: new Map(),
    prims: new Map(), unitOf: new Map(), posOf: new Map(), quorate: snapshot.quorate, notes: [],
    expiredFailures: [], keepStopped: [], recheckAt: null, actions: new Map(), edges: [],
  };
  unpackNodes(ws);
  unpackResources(ws);
  unpackObservations(ws);
  unpackFailures(ws);
  unpackFenceRequests(ws);
  unpackMultipleActive(ws);
  applyPins(ws);
  return ws;
}

function unpackNodes(ws: WorkingSet): void {
  const { snapshot, config } = ws;
  const fenced = new Set(snapshot.fenced);
  const seen = new Map(snapshot.nodes.map((n) => [n.name, n]));
  // Config order, then nodes only the snapshot knows; names sorted within each for determinism.
  const names = [...config.nodes.map((n) => n.name)];
  for (const n of [...seen.keys()].sort()) if (!names.includes(n)) names.push(n);
  for (const name of names) {
    const s = seen.get(name);
    const cfg = config.nodes.find((n) => n.name === name);
    let state = s?.state ?? 'offline';
    if (state === 'unclean' && fenced.has(name)) state = 'offline';
    const node: WNode = {
      name, index: ws.nodes.length, state, standby: s?.standby ?? false, maintenance: s?.maintenance ?? false,
      attributes: { ...(cfg?.attributes ?? {}), ...(s?.attributes ?? {}) },
      canHost: false, lost: false, fence: null, blockedReason: null, assumedDown: false, assigned: 0,
    };
    // Only configured nodes receive resources; a node only the snapshot knows is observed, not used.
    node.canHost = cfg !== undefined && state === 'online' && !node.standby && !node.maintenance && snapshot.quorate && !config.maintenanceMode && !s?.unfencing;
    // Pacemaker: a node must be unfenced before resources start on it
    if (state === 'online' && s?.unfencing) ws.notes.push(`node ${name} takes no resources until it is unfenced`);
    ws.nodeIndex.set(name, node.index);
    ws.nodes.push(node);
  }
  if (!snapshot.quorate) ws.notes.push(`partition has no quorum: no-quorum-policy=${config.noQuorumPolicy}`);
  for (const node of ws.nodes) {
    if (node.state === 'unclean') requestFencing(ws, node, uncleanReason(node.name), false);
  }
}

function unpackResources(ws: WorkingSet): void {
  const { config, snapshot } = ws;
  const ids = Object.keys(config.resources).sort();
  const parentOf = new Map<ResourceId, Resource>();
  for (const id of ids) {
    const r = config.resources[id]!;
    if (r.type === 'group') for (const m of r.members) parentOf.set(m, r);
    if (r.type === 'clone') parentOf.set(r.child, r);
  }
  const overrides = new Map(snapshot.overrides.map((o) => [o.resource, o]));
  const primitive = (id: ResourceId, path: string): PrimitiveResource => {
    const r = config.resources[id];
    if (!r || r.type !== 'primitive') throw new SchedulerInputError(path, `"${id}" is not a primitive resource`);
    return r;
  };
  const chainOf = (r: Resource, path: string): PrimitiveResource[] =>
    r.type === 'primitive' ? [r] : r.type === 'group' ? r.members.map((m, i) => primitive(m, `${path}.members[${i}]`)) : [];
  for (const id of ids) {
    if (parentOf.has(id)) continue;
    const r = config.resources[id]!;
    let clone: CloneResource | null = null;
    let group: GroupResource | null = null;
    let chain: PrimitiveResource[];
    if (r.type === 'clone') {
      clone = r;
      const child = config.resources[r.child];
      if (!child || child.type === 'clone') throw new SchedulerInputError(`resources.${id}.child`, `"${r.child}" is not a primitive or group`);
      if (child.type === 'group') group = child;
      chain = chainOf(child, `resources.${r.child}`);
    } else {
      if (r.type === 'group') group = r;
      chain = chainOf(r, `resources.${id}`);
    }
    const ov = overrides.get(id);
    const unit: WUnit = {
      id, kind: r.type, clone, group, chain, instances: [],
      targetRole: (ov?.targetRole as WUnit['targetRole'] | undefined) ?? r.meta.targetRole,
      managed: ov?.managed ?? r.meta.managed,
      stickiness: r.meta.stickiness,
      base: new Array<number>(ws.nodes.length).fill(0),
      cut: new Array<number>(ws.nodes.length).fill(chain.length),
      promotion: new Array<number>(ws.nodes.length).fill(0),
      stoppedReason: null, assignedDone: false,
    };
    ws.units.push(unit);
    ws.unitById.set(id, unit);
    ws.unitOf.set(id, unit);
    if (clone) ws.unitOf.set(clone.child, unit);
    if (group) ws.unitOf.set(group.id, unit);
    chain.forEach((p, i) => { ws.unitOf.set(p.id, unit); ws.posOf.set(p.id, i); });
    // Members whose own target role is stopped (or unmanaged) cut the chain for every node.
    chain.forEach((p, i) => {
      const mo = overrides.get(p.id);
      const role = mo?.targetRole ?? p.meta.targetRole;
      if (role === 'stopped') unit.cut.fill(Math.min(unit.cut[0]!, i));
      if ((mo?.managed ?? p.meta.managed) === false) unit.managed = false;
    });
    if (group) {
      const go = overrides.get(group.id);
      if (clone && go?.targetRole === 'stopped') unit.targetRole = 'stopped';
      if (clone && go?.managed === false) unit.managed = false;
    }
    const count = clone ? clone.max : 1;
    for (let i = 0; i < count; i++) addInstance(ws, unit, clone ? i : -1);
  }
}

function addInstance(ws: WorkingSet, unit: WUnit, instance: number): WPrim[] {
  const chain = unit.chain.map((def, pos): WPrim => {
    const p: WPrim = {
      id: instance < 0 ? def.id : `${def.id}:${instance}`, def, unit, pos, instance,
      active: [], onLost: [], bans: new Map(), fatal: null, pinned: null, blocked: null, restart: null, target: null, whyStopped: null,
      stopUnexpected: false,
    };
    ws.prims.set(p.id, p);
    return p;
  });
  unit.instances.push(chain);
  return chain;
}

function unpackObservations(ws: WorkingSet): void {
  const anonymous: typeof ws.snapshot.observations = [];
  const sorted = [...ws.snapshot.observations].sort((a, b) =>
    a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
  for (const o of sorted) {
    const role = roleOf(o.role);
    if (role === null) continue;
    let p = ws.prims.get(o.resource);
    if (!p) {
      const m = INSTANCE_SUFFIX.exec(o.resource);
      const unit = m ? ws.unitOf.get(m[1]!) : ws.unitOf.get(o.resource);
      if (unit?.clone && m) {
        // An instance number beyond clone.max (max was lowered): keep it so it gets stopped.
        while (unit.instances.length <= Number(m[2])) addInstance(ws, unit, unit.instances.length);
        p = ws.prims.get(o.resource);
      } else if (unit?.clone && !m) {
        anonymous.push(o);
        continue;
      }
    }
    if (!p) {
      ws.notes.push(`orphan resource ${o.resource} observed on ${o.node} has no definition: left alone`);
      continue;
    }
    placeObservation(ws, p, o.node, role);
  }
  // Anonymous clone observations ("drbd" rather than "drbd:1"): give each the lowest free instance.
  for (const o of anonymous) {
    const unit = ws.unitOf.get(o.resource)!;
    const pos = ws.posOf.get(o.resource)!;
    let chain = unit.instances.find((c) => c[pos]!.active.length === 0 && c[pos]!.onLost.length === 0);
    if (!chain) chain = addInstance(ws, unit, unit.instances.length);
    placeObservation(ws, chain[pos]!, o.node, roleOf(o.role)!);
  }
}

function placeObservation(ws: WorkingSet, p: WPrim, nodeName: string, role: NonNullable<ReturnType<typeof roleOf>>): void {
  const idx = ws.nodeIndex.get(nodeName);
  if (idx === undefined) {
    ws.notes.push(`${p.id} observed on unknown node ${nodeName}: ignored`);
    return;
  }
  const node = ws.nodes[idx]!;
  if (node.state === 'offline') return; // a cleanly stopped or fenced node runs nothing
  if (node.lost) p.onLost.push({ node: idx, role });
  else p.active.push({ node: idx, role });
}

/** Config primitive id a failure record or observation refers to (strip a clone instance suffix). */
function baseIdOf(ws: WorkingSet, resource: string): string {
  if (ws.config.resources[resource]) return resource;
  const m = INSTANCE_SUFFIX.exec(resource);
  return m && ws.config.resources[m[1]!] ? m[1]! : resource;
}

/** Whether an online node, not lost, runs no copy of `base` (any role, failed included). */
function stopSettled(ws: WorkingSet, base: string, nodeName: string): boolean {
  const idx = ws.nodeIndex.get(nodeName);
  const node = idx === undefined ? undefined : ws.nodes[idx];
  if (!node || node.state !== 'online' || node.lost) return false;
  return !primsOfBase(ws, base).some((p) => p.active.some((c) => c.node === idx) || p.onLost.some((c) => c.node === idx));
}

function primsOfBase(ws: WorkingSet, base: string): WPrim[] {
  const unit = ws.unitOf.get(base);
  const pos = ws.posOf.get(base);
  if (!unit || pos === undefined) return [];
  return unit.instances.map((c) => c[pos]!);
}

function onFailFor(def: PrimitiveResource, operation: string): OnFail {
  const op = def.operations.find((o) => o.name === operation);
  return op?.onFail ?? 'restart';
}

function unpackFailures(ws: WorkingSet): void {
  interface Agg {
    count: number; hard: boolean; fatal: boolean; latest: FailureRecord; startFailed: boolean; stopFailed: boolean;
    /** on-fail=stop and =ban of a recorded failure: what failed */
    keepStopped: string | null; ban: string | null;
  }
  const agg = new Map<string, Agg>();
  const sorted = [...ws.snapshot.failures].sort((a, b) =>
    a.lastFailureAt - b.lastFailureAt || (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0) ||
    (a.node < b.node ? -1 : a.node > b.node ? 1 : 0) || (a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0));
  for (const f of sorted) {
    const base = baseIdOf(ws, f.resource);
    const def = ws.config.resources[base];
    if (!def || def.type !== 'primitive') continue;
    const timeout = def.meta.failureTimeoutMs;
    if (timeout > 0 && ws.now - f.lastFailureAt >= timeout) {
      ws.expiredFailures.push({ resource: f.resource, node: f.node, operation: f.operation });
      continue;
    }
    if (f.operation === 'stop' && stopSettled(ws, base, f.node)) {
      // A failed stop leaves the copy in an unknown state until the node is fenced (which clears
      // its failures) or the node itself finds it stopped: a node that rebooted or restarted its
      // agent probes what it runs, and the record shows no copy there now. Kept, the failure would
      // get the node fenced the next time the resource runs there, for a copy long gone.
      ws.expiredFailures.push({ resource: f.resource, node: f.node, operation: f.operation });
      ws.notes.push(`${f.resource}: the failed stop on ${f.node} is settled (no copy runs there now): cleared`);
      continue;
    }
    if (timeout > 0) {
      const expires = f.lastFailureAt + timeout;
      if (ws.recheckAt === null || expires < ws.recheckAt) ws.recheckAt = expires;
    }
    const key = `${base}\u0000${f.node}`;
    const a = agg.get(key) ?? { count: 0, hard: false, fatal: false, latest: f, startFailed: false, stopFailed: false, keepStopped: null, ban: null };
    const policy = onFailFor(def, f.operation);
    // on-fail=ignore: the failure stays recorded and shown, but counts towards nothing (no fail
    // count for migration-threshold, no start-failure ban), as Pacemaker's controller updates only
    // the last-failure time then. A hard or fatal error is never ignored: the record does not tell
    // a missing agent, which Pacemaker never ignores, from the other hard errors.
    const ignored = policy === 'ignore' && f.hard !== true && f.fatal !== true;
    if (!ignored) {
      a.count += f.count;
      a.startFailed ||= f.operation === 'start' && f.count > 0;
    }
    a.hard ||= f.hard === true;
    a.fatal ||= f.fatal === true;
    a.latest = f;
    a.stopFailed ||= f.operation === 'stop' && f.count > 0;
    agg.set(key, a);
    // on-fail=stop, =ban and =standby hold as long as the failure is recorded (until it expires or
    // is cleaned up), not only while the failed copy is there: otherwise the next plan, once the
    // failed copy has stopped, would start the resource again, move it back, or bring the drained
    // resources back. Pacemaker keeps them the same way ("not cleared by a completed stop").
    if (f.count > 0 && f.operation !== 'stop') {
      const what = `${f.operation} failed on ${f.node}`;
      if (policy === 'stop') a.keepStopped = what;
      else if (policy === 'ban') a.ban = what;
      else if (policy === 'standby') standbyOnFail(ws, f.node, `${f.operation} of ${base} failed on ${f.node}`);
    }
  }
  for (const [key, a] of agg) {
    const [base, nodeName] = key.split('\u0000') as [string, string];
    const idx = ws.nodeIndex.get(nodeName);
    const def = ws.config.resources[base] as PrimitiveResource;
    const threshold = def.meta.migrationThreshold;
    for (const p of primsOfBase(ws, base)) {
      if (a.fatal) p.fatal ??= `fatal error (${a.latest.operation}) on ${nodeName}: not started anywhere until cleaned up`;
      if (a.keepStopped !== null) p.fatal ??= `on-fail=stop: ${a.keepStopped}`;
      if (idx === undefined) continue;
      if (a.hard) p.bans.set(idx, `hard error (${a.latest.operation}) on ${nodeName}`);
      else if (a.startFailed) p.bans.set(idx, `start failed on ${nodeName}`);
      else if (threshold > 0 && a.count >= threshold) {
        p.bans.set(idx, `migration-threshold ${threshold} reached on ${nodeName} (${a.count} failures)`);
      }
      if (a.ban !== null) p.bans.set(idx, `on-fail=ban: ${a.ban}`);
    }
  }
  // Copies observed failed, and failed stops: apply the failed operation's on-fail policy.
  for (const p of ws.prims.values()) {
    for (const copy of [...p.active]) {
      const node = ws.nodes[copy.node]!;
      const a = agg.get(`${p.def.id}\u0000${node.name}`);
      if (a?.stopFailed) {
        // The resource may still run there: fence the node, or leave it alone (the only two
        // policies the configuration allows for stop).
        if (onFailFor(p.def, 'stop') === 'block') p.pinned = `on-fail=block: stop failed on ${node.name}`;
        else if (!requestNodeFence(ws, node, `stop of ${p.id} failed on ${node.name}`)) {
          p.pinned = `stop failed on ${node.name} and the node cannot be fenced: blocked`;
        }
        continue;
      }
      if (copy.role !== 'failed') continue;
      const operation = a?.latest.operation ?? 'monitor';
      let policy = onFailFor(p.def, operation);
      if (policy === 'ignore' && (a?.hard || a?.fatal)) policy = 'restart'; // never ignored (above)
      const what = `${operation} failed on ${node.name}`;
      switch (policy) {
        case 'ignore':
          // Pretend the operation succeeded: the copy runs on. (A promotable resource cannot have
          // ignore: the record does not keep the role it failed in; unpromoted is the safe guess.)
          copy.role = p.unit.clone?.promotable ? 'unpromoted' : 'started';
          ws.notes.push(`${p.id}: on-fail=ignore: ${what}; taken as running`);
          break;
        case 'restart': p.restart = `recover: ${what}`; break;
        case 'stop': p.fatal ??= `on-fail=stop: ${what}`; break;
        case 'ban': p.bans.set(copy.node, `on-fail=ban: ${what}`); break;
        case 'block': p.pinned = `on-fail=block: ${what}`; break;
        case 'standby': standbyOnFail(ws, node.name, `${operation} of ${p.def.id} failed on ${node.name}`); break;
        case 'fence':
          if (!requestNodeFence(ws, node, `on-fail=fence: ${p.id} ${what}`)) p.pinned = `on-fail=fence: ${what}, but the node cannot be fenced`;
          break;
      }
    }
  }
}

/** on-fail=standby: the node takes no resources, so everything on it moves off (the failed one too). */
function standbyOnFail(ws: WorkingSet, nodeName: string, what: string): void {
  const idx = ws.nodeIndex.get(nodeName);
  if (idx === undefined) return;
  const node = ws.nodes[idx]!;
  node.standby = true;
  node.canHost = false;
  ws.notes.push(`node ${nodeName} in standby: on-fail=standby: ${what}`);
}

/** Fence a node that is still a member; its copies become "on a lost node". */
function requestNodeFence(ws: WorkingSet, node: WNode, reason: string): boolean {
  if (node.lost) return node.fence !== null;
  const ok = requestFencing(ws, node, reason, true);
  if (!ok) {
    node.lost = false; // stays a member; the failed resource is blocked instead
    node.canHost = ws.config.nodes.some((c) => c.name === node.name) && node.state === 'online' && !node.standby && !node.maintenance && ws.quorate && !ws.config.maintenanceMode &&
      !ws.snapshot.nodes.some((n) => n.name === node.name && n.unfencing);
    node.blockedReason = null;
    return false;
  }
  for (const p of ws.prims.values()) {
    const keep = p.active.filter((c) => c.node !== node.index);
    for (const c of p.active) if (c.node === node.index) p.onLost.push(c);
    p.active = keep;
  }
  return true;
}

/**
 * Fences an operator asked for (`tsha fence NODE`, like stonith_admin --fence): the node is fenced
 * as for on-fail=fence, so its resources move only after the fence is confirmed. A node lost
 * already is fenced anyway; the request only sets the action.
 */
function unpackFenceRequests(ws: WorkingSet): void {
  for (const r of ws.snapshot.fenceRequests) {
    const idx = ws.nodeIndex.get(r.node);
    if (idx === undefined) continue;
    const node = ws.nodes[idx]!;
    const reason = `operator request by ${r.by}`;
    if (!node.lost) {
      const ok = node.state === 'online' ? requestNodeFence(ws, node, reason) : requestFencing(ws, node, reason, false) && node.fence !== null;
      if (!ok) {
        const why = !ws.quorate ? 'the partition has no quorum' : !ws.config.fencing.enabled ? 'fencing is disabled' : 'no fence device covers it';
        ws.notes.push(`node ${node.name}: fence requested by ${r.by}, but ${why}`);
        if (node.state !== 'online') Object.assign(node, { lost: false, blockedReason: null, assumedDown: false });
        continue;
      }
    }
    if (node.fence && r.action === 'reboot') node.fence.action = 'reboot';
  }
}

/**
 * A primitive found active on more than one node (a partition healed, a copy started by hand, a
 * stop that did not stop): its multiple-active policy decides, as Pacemaker's native_add_running.
 * stop_start is planPrim's default (every copy stops, one starts); stop_only places it nowhere
 * and asks the runtime to keep it stopped (the next plan would otherwise start it again, once
 * the copies are gone); block pins it; stop_unexpected keeps the copy where it is placed.
 */
function unpackMultipleActive(ws: WorkingSet): void {
  for (const p of ws.prims.values()) {
    if (p.active.length + p.onLost.length < 2) continue;
    const copies = [...p.active, ...p.onLost];
    const policy = multipleActivePolicy(ws.config, p.def.id);
    const where = copies.map((c) => ws.nodes[c.node]!.name).join(', ');
    ws.notes.push(`${p.id} is active on ${copies.length} nodes (${where}): multiple-active=${policy}`);
    switch (policy) {
      case 'stop_only':
        p.fatal ??= `multiple-active=stop_only: was active on ${where}`;
        if (p.instance < 0) ws.keepStopped.push({ resource: p.def.id, reason: `multiple-active=stop_only: ${p.def.id} was active on ${where}` });
        break;
      case 'block':
        p.pinned ??= `multiple-active=block: active on ${where}`;
        break;
      case 'stop_unexpected':
        p.stopUnexpected = true;
        break;
      case 'stop_start':
        break;
    }
  }
}

/** Pins: unmanaged units, cluster maintenance, maintenance nodes, copies on unfenceable nodes. */
function applyPins(ws: WorkingSet): void {
  const { config, snapshot } = ws;
  const freezeAll = config.maintenanceMode
    ? 'cluster maintenance mode'
    : !snapshot.quorate && config.noQuorumPolicy === 'freeze' ? 'no quorum (no-quorum-policy=freeze)' : null;
  for (const unit of ws.units) {
    const unitPin = freezeAll ?? (unit.managed ? null : 'unmanaged');
    for (const chain of unit.instances) {
      let chainPin: string | null = unitPin;
      let chainBlock: string | null = null;
      for (const p of chain) {
        for (const c of p.active) if (ws.nodes[c.node]!.maintenance) chainPin ??= `node ${ws.nodes[c.node]!.name} in maintenance`;
        for (const c of p.onLost) {
          const n = ws.nodes[c.node]!;
          if (n.fence === null && !n.assumedDown) chainBlock ??= n.blockedReason ?? `node ${n.name} cannot be fenced`;
          else if (n.assumedDown && p.def.stateful) {
            chainBlock ??= `stateful resource on ${n.name} is not recovered without fencing`;
          }
        }
        chainPin ??= p.pinned;
      }
      if (chainPin !== null) for (const p of chain) p.pinned = chainPin;
      if (chainBlock !== null) for (const p of chain) p.blocked = chainBlock;
    }
    // A non-clone unit moves as a whole: one pinned or blocked member pins or blocks the unit.
    if (!unit.clone) {
      const pin = primsOf(unit).find((p) => p.pinned !== null)?.pinned ?? null;
      if (pin !== null) for (const p of primsOf(unit)) p.pinned = pin;
      const block = primsOf(unit).find((p) => p.blocked !== null)?.blocked ?? null;
      if (block !== null) for (const p of primsOf(unit)) p.blocked = block;
    }
  }
}
