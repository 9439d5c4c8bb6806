// Cross-field rules: what the options table alone cannot say. Each rule is a named function over
// the structurally checked configuration; it reports to the sink and never throws. A rule that
// needs a section skips it when that section is broken (its own errors are already reported), and
// references are resolved against every name the file declares, valid or not, so one broken
// resource does not cause "no resource named …" noise elsewhere.

import { INFINITY } from './types.js';
import { type CheckContext, type Invalid, INVALID } from './spec.js';
import { didYouMean, joinPath } from './issues.js';
import {
  ADDRESS,
  KIND_PARAMS,
  OPERATION_KEYS,
  type RawClone,
  type RawConfig,
  type RawGroup,
  type RawPrimitive,
  type ResourceKindName,
} from './options.js';
import { deriveQuorumMode, type QuorumDerivation } from './quorum-mode.js';
import { type Edge, findCycles } from './cycles.js';

export type Sections = { [K in keyof RawConfig]: RawConfig[K] | Invalid };

type Owner = { type: 'group' | 'clone'; id: string };
type Declared = RawPrimitive | RawGroup | RawClone;

/** What the rules share: the sections, every declared name, and who contains whom. */
export interface Model {
  s: Sections;
  ctx: CheckContext;
  /** false when a whole section (nodes, resources, groups, clones) is broken: references are not checked */
  namesComplete: boolean;
  nodeNames: Set<string>;
  resourceIds: Set<string>;
  groupIds: Set<string>;
  cloneIds: Set<string>;
  deviceIds: Set<string>;
  /** resource or group id → the group or clone that contains it (first one declared) */
  owner: Map<string, Owner>;
  fencingEnabled: boolean | null;
  quorum: QuorumDerivation | null;
}

const valid = <T>(v: T | Invalid): v is T => v !== INVALID;

export function applyRules(s: Sections, ctx: CheckContext): Model {
  // Every declared name, valid entry or not. A section that is not even an object gives null:
  // references into it are not checked (its own error says what is wrong).
  const names = (path: string, section: unknown): Set<string> | null => {
    const seen = ctx.mapKeys.get(path);
    if (seen) return new Set(seen);
    return section !== INVALID && section !== null && typeof section === 'object' ? new Set(Object.keys(section)) : null;
  };
  const devices = valid(s.fencing) ? s.fencing.devices : INVALID;
  const nodeNames = names('nodes', s.nodes);
  const resourceIds = names('resources', s.resources);
  const groupIds = names('groups', s.groups);
  const cloneIds = names('clones', s.clones);
  const deviceIds = names('fencing.devices', devices);
  const m: Model = {
    s,
    ctx,
    namesComplete: nodeNames !== null && resourceIds !== null && groupIds !== null && cloneIds !== null,
    nodeNames: nodeNames ?? new Set(),
    resourceIds: resourceIds ?? new Set(),
    groupIds: groupIds ?? new Set(),
    cloneIds: cloneIds ?? new Set(),
    deviceIds: deviceIds ?? new Set(),
    owner: new Map(),
    fencingEnabled: valid(s.fencing) ? s.fencing.enabled : null,
    quorum: null,
  };
  checkTiming(m);
  checkAddresses(m);
  checkUniqueIds(m);
  checkFencing(m);
  checkQuorum(m);
  checkMembership(m);
  for (const [id, r] of Object.entries(valid(s.resources) ? s.resources : {})) checkPrimitive(m, id, r);
  for (const [kind, section] of [
    ['resources', s.resources],
    ['groups', s.groups],
    ['clones', s.clones],
  ] as const) {
    if (!valid(section)) continue;
    for (const [id, r] of Object.entries(section as Record<string, Declared>)) checkConstraints(m, `${kind}`, id, r);
  }
  checkClones(m);
  checkOrderCycles(m);
  checkColocationCycles(m);
  warnAboutFencing(m);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Timing

/** Ratios between timeouts; justified in the option docs and docs/configuration.md. */
export function checkTiming({ s, ctx }: Model): void {
  if (!valid(s.timing)) return;
  const t = s.timing;
  if (t.failureTimeoutMs < 3 * t.heartbeatIntervalMs) {
    ctx.error(
      'timing.failureTimeoutMs',
      `must be at least 3 × timing.heartbeatIntervalMs (${3 * t.heartbeatIntervalMs}), got ${t.failureTimeoutMs}: one or two late heartbeats must not mark a peer down`,
    );
  }
  if (t.electionTimeoutMs < 3 * t.heartbeatIntervalMs) {
    ctx.error(
      'timing.electionTimeoutMs',
      `must be at least 3 × timing.heartbeatIntervalMs (${3 * t.heartbeatIntervalMs}), got ${t.electionTimeoutMs}: a follower must not start an election between two heartbeats of a live coordinator`,
    );
  }
  if (t.leaseMs <= t.failureTimeoutMs) {
    ctx.error(
      'timing.leaseMs',
      `must be longer than timing.failureTimeoutMs (${t.failureTimeoutMs}), got ${t.leaseMs}: a node must notice it is cut off before its lease runs out, so it can apply the no-quorum policy in time`,
    );
  }
  if (t.watchdogMs % 1000 !== 0) {
    ctx.error('timing.watchdogMs', `must be a whole number of seconds (Linux watchdog timeouts are set in seconds), got ${t.watchdogMs}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Nodes, witness, ids

function checkAddresses({ s, ctx }: Model): void {
  const seen = new Map<string, string>();
  const claim = (address: string, path: string) => {
    const port = Number(ADDRESS.exec(address)?.[3] ?? '0');
    if (port < 1 || port > 65535) ctx.error(path, `port ${port} is out of range (1–65535)`);
    const key = address.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined) ctx.error(path, `address ${JSON.stringify(address)} is already used by ${other}`);
    else seen.set(key, path.replace(/\.address$/, ''));
  };
  if (valid(s.nodes)) for (const [name, node] of Object.entries(s.nodes)) claim(node.address, joinPath(joinPath('nodes', name), 'address'));
  if (valid(s.witness) && s.witness) {
    claim(s.witness.address, 'witness.address');
    if (valid(s.nodes) && Object.hasOwn(s.nodes, s.witness.name)) {
      ctx.error('witness.name', `${JSON.stringify(s.witness.name)} is already a node name: the witness is a separate machine`);
    }
  }
}

/** Resources, groups, clones and fence devices share one id space. */
function checkUniqueIds(m: Model): void {
  const owners = new Map<string, string>();
  const spaces: [string, Set<string>][] = [
    ['resources', m.resourceIds],
    ['groups', m.groupIds],
    ['clones', m.cloneIds],
    ['fencing.devices', m.deviceIds],
  ];
  for (const [section, ids] of spaces) {
    for (const id of ids) {
      const path = joinPath(section, id);
      const first = owners.get(id);
      if (first !== undefined) m.ctx.error(path, `id ${JSON.stringify(id)} is already used by ${first}: resources, groups, clones and fence devices share one id space`);
      else owners.set(id, path);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fencing and quorum

function refNode(m: Model, name: string, path: string): boolean {
  if (m.nodeNames.has(name) || !m.namesComplete) return true;
  m.ctx.error(path, `no node named ${JSON.stringify(name)}${didYouMean(name, m.nodeNames)}`);
  return false;
}

function checkFencing(m: Model): void {
  const { s, ctx } = m;
  if (!valid(s.fencing)) return;
  const f = s.fencing;
  for (const [id, device] of Object.entries(f.devices)) {
    const seen = new Set<string>();
    device.hosts.forEach((host, i) => {
      const path = `${joinPath(joinPath('fencing.devices', id), 'hosts')}[${i}]`;
      refNode(m, host, path);
      if (seen.has(host)) ctx.error(path, `${JSON.stringify(host)} is listed twice`);
      seen.add(host);
    });
  }
  for (const [node, levels] of Object.entries(f.levels)) {
    const nodePath = joinPath('fencing.levels', node);
    refNode(m, node, nodePath);
    levels.forEach((level, i) =>
      level.forEach((deviceId, j) => {
        const path = `${nodePath}[${i}][${j}]`;
        const device = f.devices[deviceId];
        if (!m.deviceIds.has(deviceId)) ctx.error(path, `no fence device named ${JSON.stringify(deviceId)}${didYouMean(deviceId, m.deviceIds)}`);
        else if (device && !device.hosts.includes(node)) {
          ctx.error(path, `fence device ${JSON.stringify(deviceId)} cannot fence ${JSON.stringify(node)}: add it to fencing.devices.${deviceId}.hosts`);
        }
      }),
    );
  }
  if (!f.enabled) return;
  const devicesComplete = !ctx.incompleteMaps.has('fencing.devices');
  if (Object.keys(f.devices).length === 0 && !f.watchdog && devicesComplete) {
    ctx.error('fencing', 'fencing is enabled but there is no fence device and fencing.watchdog is false: add devices, enable the watchdog, or set enabled = false (not recommended)');
    return;
  }
  if (!f.watchdog && devicesComplete && valid(s.nodes)) {
    const covered = new Set(Object.values(f.devices).flatMap((d) => d.hosts));
    for (const name of Object.keys(s.nodes)) {
      if (!covered.has(name)) {
        ctx.error(
          joinPath('nodes', name),
          'cannot be fenced: no fence device lists it in hosts and fencing.watchdog is false, so its resources could never be recovered after it is lost',
        );
      }
    }
  }
}

function checkQuorum(m: Model): void {
  const { s, ctx } = m;
  if (!valid(s.nodes) || ctx.incompleteMaps.has('nodes') || !valid(s.witness) || !valid(s.fencing)) return;
  if (ctx.incompleteMaps.has('fencing.devices')) return;
  const votes = Object.fromEntries(Object.entries(s.nodes).map(([n, node]) => [n, node.votes]));
  const fenceable = new Set(Object.values(s.fencing.devices).flatMap((d) => d.hosts));
  m.quorum = deriveQuorumMode({
    votes,
    hasWitness: s.witness !== null,
    fencingEnabled: s.fencing.enabled,
    watchdog: s.fencing.watchdog,
    fenceableByDevice: fenceable,
  });
  if (!m.quorum.ok) {
    ctx.error(m.quorum.path, m.quorum.reason);
    return;
  }
  if (m.quorum.mode === 'two_node' && valid(s.timing) && s.timing.fenceRaceDelayMs === 0) {
    ctx.error('timing.fenceRaceDelayMs', 'must be > 0 in two_node mode: otherwise both nodes may fence each other at the same moment');
  }
  if (s.noQuorumPolicy === 'fence' && !s.fencing.watchdog) {
    ctx.warn('noQuorumPolicy', '"fence" resets the node through its watchdog; fencing.watchdog is false, so the agent falls back to a forced reboot');
  }
}

function warnAboutFencing({ s, ctx }: Model): void {
  if (valid(s.fencing) && !s.fencing.enabled) {
    ctx.warn(
      'fencing.enabled',
      'FENCING IS DISABLED: a lost node\'s resources are restarted elsewhere only after its lease and watchdog time ran out, and nothing guarantees the lost node really stopped them',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Groups and clones: who contains whom

function checkMembership(m: Model): void {
  const { s, ctx, owner } = m;
  const claim = (member: string, by: Owner, path: string) => {
    const prior = owner.get(member);
    if (prior) {
      ctx.error(path, `${JSON.stringify(member)} is already in ${prior.type} ${JSON.stringify(prior.id)}: a resource belongs to at most one group or clone`);
      return;
    }
    owner.set(member, by);
  };
  if (valid(s.groups)) {
    for (const [id, g] of Object.entries(s.groups)) {
      const seen = new Set<string>();
      g.members.forEach((member, i) => {
        const path = `${joinPath(joinPath('groups', id), 'members')}[${i}]`;
        if (seen.has(member)) return ctx.error(path, `${JSON.stringify(member)} is listed twice`);
        seen.add(member);
        if (m.groupIds.has(member) || m.cloneIds.has(member)) {
          return ctx.error(path, `${JSON.stringify(member)} is a ${m.groupIds.has(member) ? 'group' : 'clone'}: group members must be primitive resources`);
        }
        if (!m.resourceIds.has(member)) return m.namesComplete && ctx.error(path, `no resource named ${JSON.stringify(member)}${didYouMean(member, m.resourceIds)}`);
        claim(member, { type: 'group', id }, path);
      });
    }
  }
  if (valid(s.clones)) {
    for (const [id, c] of Object.entries(s.clones)) {
      const path = joinPath(joinPath('clones', id), 'child');
      if (m.cloneIds.has(c.child)) ctx.error(path, `${JSON.stringify(c.child)} is a clone: a clone cannot be cloned`);
      else if (!m.resourceIds.has(c.child) && !m.groupIds.has(c.child)) {
        if (m.namesComplete) ctx.error(path, `no resource or group named ${JSON.stringify(c.child)}${didYouMean(c.child, [...m.resourceIds, ...m.groupIds])}`);
      } else claim(c.child, { type: 'clone', id }, path);
    }
  }
}

/** The clone a resource runs in (directly, or as a member of a cloned group), if any. */
export function cloneOf(m: Model, id: string): string | null {
  const o = m.owner.get(id);
  if (!o) return null;
  if (o.type === 'clone') return o.id;
  return cloneOf(m, o.id);
}

function isPromotableClone(m: Model, id: string): boolean {
  return valid(m.s.clones) && m.s.clones[id]?.promotable === true;
}

function inPromotableClone(m: Model, id: string): boolean {
  const c = cloneOf(m, id);
  return c !== null && isPromotableClone(m, c);
}

function checkClones(m: Model): void {
  const { s, ctx } = m;
  if (!valid(s.clones)) return;
  const nodeCount = m.nodeNames.size;
  for (const [id, c] of Object.entries(s.clones)) {
    const base = joinPath('clones', id);
    const max = c.max ?? nodeCount;
    if (c.promotable && c.promotedMax > max) ctx.error(joinPath(base, 'promotedMax'), `must not exceed the number of instances (${max}), got ${c.promotedMax}`);
    if (c.promotable && c.promotedMaxPerNode > c.maxPerNode) {
      ctx.error(joinPath(base, 'promotedMaxPerNode'), `must not exceed maxPerNode (${c.maxPerNode}), got ${c.promotedMaxPerNode}`);
    }
    if (nodeCount > 0 && max > nodeCount * c.maxPerNode) {
      ctx.warn(joinPath(base, 'max'), `${max} instances but at most ${nodeCount * c.maxPerNode} fit (${nodeCount} nodes × maxPerNode ${c.maxPerNode}): the rest stay stopped`);
    }
    if (!c.promotable && (c.meta.targetRole === 'promoted' || c.meta.targetRole === 'unpromoted')) {
      ctx.error(joinPath(joinPath(base, 'meta'), 'targetRole'), `${JSON.stringify(c.meta.targetRole)} applies to promotable clones only`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Primitives: kind parameters, operations, storage, statefulness

const UNIT_SUFFIX = /\.(service|socket|target|mount|automount|swap|timer|path)$/;
const UNIT_NAME = /^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\.[a-z]+$/;
const SIMPLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function checkPrimitive(m: Model, id: string, r: RawPrimitive): void {
  const { ctx } = m;
  const base = joinPath('resources', id);
  const paramPath = (k: string) => joinPath(joinPath(base, 'params'), k);
  const spec = KIND_PARAMS[r.kind as ResourceKindName];
  const known: readonly string[] = [...spec.required, ...spec.optional];
  for (const key of spec.required) {
    if (!r.params[key]) ctx.error(paramPath(key), `is required for a ${r.kind} resource (${spec.doc})`);
  }
  if (!spec.extra) {
    for (const key of Object.keys(r.params)) {
      if (!known.includes(key)) ctx.error(paramPath(key), `unknown parameter for a ${r.kind} resource${didYouMean(key, known)} (${spec.doc})`);
    }
  }
  const p = r.params;
  switch (r.kind) {
    case 'systemd':
      if (p.unit && !UNIT_SUFFIX.test(p.unit)) {
        ctx.error(paramPath('unit'), `${JSON.stringify(p.unit)} must end in a startable unit suffix: .service, .socket, .target, .mount, .automount, .swap, .timer or .path`);
      } else if (p.unit && (!UNIT_NAME.test(p.unit) || /@\./.test(p.unit))) {
        ctx.error(paramPath('unit'), `${JSON.stringify(p.unit)} is not a valid unit name${/@\./.test(p.unit) ? ' (a template needs an instance: name@instance.service)' : ''}`);
      }
      break;
    case 'lxc':
    case 'microvm':
      if (p.name && !SIMPLE_NAME.test(p.name)) ctx.error(paramPath('name'), `${JSON.stringify(p.name)} is not a valid ${r.kind} name (letters, digits, "_", "." and "-")`);
      break;
    case 'ocf':
      for (const key of ['provider', 'agent'] as const) {
        if (p[key] && !SIMPLE_NAME.test(p[key]!)) ctx.error(paramPath(key), `${JSON.stringify(p[key])} is not a valid OCF ${key} name`);
      }
      break;
  }
  if (r.meta.allowMigrate === true && (r.kind === 'systemd' || r.kind === 'exec' || r.kind === 'lxc')) {
    ctx.error(joinPath(joinPath(base, 'meta'), 'allowMigrate'), `a ${r.kind} resource cannot live-migrate (only microvm and ocf resources can)`);
  }

  // Operations
  const promotable = inPromotableClone(m, id);
  for (const [key, op] of Object.entries(r.operations)) {
    if (!op) continue;
    const path = joinPath(joinPath(base, 'operations'), key);
    const info = OPERATION_KEYS[key as keyof typeof OPERATION_KEYS];
    if (info.name !== 'monitor' && op.intervalMs !== null) ctx.error(joinPath(path, 'intervalMs'), 'only monitors have an interval');
    if ('role' in info || info.name === 'promote' || info.name === 'demote') {
      if (!promotable) ctx.error(path, `only resources in a promotable clone have a ${key} operation`);
    }
    if ((info.name === 'migrate_to' || info.name === 'migrate_from') && r.meta.allowMigrate !== true) {
      ctx.error(path, 'needs meta.allowMigrate = true');
    }
    if (op.onFail === 'fence' && m.fencingEnabled === false) ctx.error(joinPath(path, 'onFail'), '"fence" needs fencing.enabled = true');
  }
  if ((r.meta.targetRole === 'promoted' || r.meta.targetRole === 'unpromoted') && !promotable) {
    ctx.error(joinPath(joinPath(base, 'meta'), 'targetRole'), `${JSON.stringify(r.meta.targetRole)} applies to resources in a promotable clone only`);
  }

  // Storage
  const st = r.storage;
  if (st) {
    const sp = joinPath(base, 'storage');
    const need = st.type === 'drbd' ? ['resource'] : ['pool', 'image'];
    const allowed = st.type === 'drbd' ? ['resource', 'volume'] : ['pool', 'image', 'cephConf'];
    for (const key of need) if (st[key as keyof typeof st] === null) ctx.error(joinPath(sp, key), `is required for ${st.type} storage`);
    for (const key of ['resource', 'volume', 'pool', 'image', 'cephConf'] as const) {
      if (st[key] !== null && !allowed.includes(key)) ctx.error(joinPath(sp, key), `does not apply to ${st.type} storage (${st.type} takes ${allowed.join(', ')})`);
    }
    const clone = cloneOf(m, id);
    if (st.type === 'drbd' && (clone === null || !isPromotableClone(m, clone))) {
      ctx.error(sp, 'DRBD runs on every node with one primary: put this resource in a clone with promotable = true');
    } else if (st.type === 'rbd' && clone !== null && !isPromotableClone(m, clone)) {
      ctx.error(sp, `RBD storage is held by one node at a time: it cannot be in the non-promotable clone ${JSON.stringify(clone)}`);
    }
  }
  if ((r.stateful || st) && m.fencingEnabled === false) {
    ctx.error(
      joinPath(base, st ? 'storage' : 'stateful'),
      `${st ? 'holds storage' : 'is stateful'} but fencing is disabled (fencing.enabled = false): refused, a lost node could still write to it while it starts elsewhere`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Constraints: references, roles, shape

function describeId(m: Model, id: string): 'resource' | 'group' | 'clone' | null {
  if (m.resourceIds.has(id)) return 'resource';
  if (m.groupIds.has(id)) return 'group';
  if (m.cloneIds.has(id)) return 'clone';
  return null;
}

function refResource(m: Model, id: string, path: string): boolean {
  if (!m.namesComplete) return false;
  if (describeId(m, id) === null) {
    m.ctx.error(path, `no resource named ${JSON.stringify(id)}${didYouMean(id, [...m.resourceIds, ...m.groupIds, ...m.cloneIds])}`);
    return false;
  }
  const clone = cloneOf(m, id);
  if (clone !== null) {
    m.ctx.error(path, `${JSON.stringify(id)} runs inside clone ${JSON.stringify(clone)}: constrain the clone instead`);
    return false;
  }
  return true;
}

function checkConstraints(m: Model, section: string, id: string, r: Declared): void {
  const { ctx } = m;
  const base = joinPath(section, id);
  const hasAny = r.location.length + r.colocation.length + r.order.length > 0;
  const clone = cloneOf(m, id);
  if (hasAny && clone !== null) {
    ctx.error(base, `has constraints but runs inside clone ${JSON.stringify(clone)}: declare them on the clone`);
    return;
  }
  const promotable = section === 'clones' && isPromotableClone(m, id);
  r.location.forEach((loc, i) => {
    const path = `${joinPath(base, 'location')}[${i}]`;
    if ((loc.node === null) === (loc.rule === null)) ctx.error(path, 'needs exactly one of node and rule');
    if (loc.node !== null) refNode(m, loc.node, joinPath(path, 'node'));
    if (loc.rule) {
      const needsValue = loc.rule.op === 'eq' || loc.rule.op === 'ne';
      if (needsValue && loc.rule.value === null) ctx.error(joinPath(joinPath(path, 'rule'), 'value'), `is required with op ${JSON.stringify(loc.rule.op)}`);
      if (!needsValue && loc.rule.value !== null) ctx.error(joinPath(joinPath(path, 'rule'), 'value'), `does not apply with op ${JSON.stringify(loc.rule.op)}`);
      if (valid(m.s.nodes) && !Object.values(m.s.nodes).some((n) => loc.rule!.attribute in n.attributes)) {
        ctx.warn(joinPath(joinPath(path, 'rule'), 'attribute'), `no node has attribute ${JSON.stringify(loc.rule.attribute)}`);
      }
    }
    if (loc.role && !promotable) ctx.error(joinPath(path, 'role'), `"promoted" applies to promotable clones only; ${JSON.stringify(id)} is not one`);
  });
  r.colocation.forEach((col, i) => {
    const path = `${joinPath(base, 'colocation')}[${i}]`;
    if (col.with === id) return ctx.error(joinPath(path, 'with'), 'a resource cannot be colocated with itself');
    const ok = refResource(m, col.with, joinPath(path, 'with'));
    if (ok && col.withRole && !isPromotableClone(m, col.with)) {
      ctx.error(joinPath(path, 'withRole'), `"promoted" needs a promotable clone; ${JSON.stringify(col.with)} is not one`);
    }
    if (col.role && !promotable) ctx.error(joinPath(path, 'role'), `"promoted" applies to promotable clones only; ${JSON.stringify(id)} is not one`);
  });
  r.order.forEach((o, i) => {
    const path = `${joinPath(base, 'order')}[${i}]`;
    if ((o.after === null) === (o.before === null)) return ctx.error(path, 'needs exactly one of after and before');
    const other = (o.after ?? o.before)!;
    const key = o.after !== null ? 'after' : 'before';
    if (other === id) return ctx.error(joinPath(path, key), 'a resource cannot be ordered against itself');
    refResource(m, other, joinPath(path, key));
    const first = o.after ?? id;
    const then = o.after !== null ? id : other;
    const thenAction = o.thenAction ?? o.firstAction;
    for (const [who, action, field] of [
      [first, o.firstAction, 'firstAction'],
      [then, thenAction, 'thenAction'],
    ] as const) {
      if ((action === 'promote' || action === 'demote') && describeId(m, who) !== null && !isPromotableClone(m, who)) {
        ctx.error(joinPath(path, field), `${JSON.stringify(action)} needs a promotable clone; ${JSON.stringify(who)} is not one`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Cycles

function declared(m: Model): [string, string, Declared][] {
  const out: [string, string, Declared][] = [];
  for (const [section, value] of [
    ['resources', m.s.resources],
    ['groups', m.s.groups],
    ['clones', m.s.clones],
  ] as const) {
    if (valid(value)) for (const [id, r] of Object.entries(value as Record<string, Declared>)) out.push([section, id, r]);
  }
  return out;
}

const known = (m: Model, id: string) => describeId(m, id) !== null;

/**
 * Order cycles. Start and promote are "up" actions, stop and demote "down"; a symmetric order
 * also implies the reverse order of the opposite actions. A cycle among up actions (or among down
 * actions) can never be satisfied. Orders that mix an up and a down action (stop A then start B)
 * are not part of the check. Group members are ordered by their list.
 */
function checkOrderCycles(m: Model): void {
  const up: Edge[] = [];
  const down: Edge[] = [];
  const isUp = (a: string) => a === 'start' || a === 'promote';
  for (const [section, id, r] of declared(m)) {
    r.order.forEach((o, i) => {
      if ((o.after === null) === (o.before === null)) return;
      const first = o.after ?? id;
      const then = o.after !== null ? id : o.before!;
      if (first === then || !known(m, first) || !known(m, then)) return;
      const source = `${joinPath(section, id)}.order[${i}]`;
      const thenAction = o.thenAction ?? o.firstAction;
      if (isUp(o.firstAction) !== isUp(thenAction)) return;
      const forward = { from: first, to: then, source };
      const backward = { from: then, to: first, source };
      (isUp(o.firstAction) ? up : down).push(forward);
      if (o.symmetric) (isUp(o.firstAction) ? down : up).push(backward);
    });
  }
  if (valid(m.s.groups)) {
    for (const [id, g] of Object.entries(m.s.groups)) {
      const source = `${joinPath('groups', id)}.members`;
      for (let i = 0; i + 1 < g.members.length; i++) {
        up.push({ from: g.members[i]!, to: g.members[i + 1]!, source });
        down.push({ from: g.members[i + 1]!, to: g.members[i]!, source });
      }
    }
  }
  reportCycles(m, [...findCycles(up), ...findCycles(down)], 'order constraints form a cycle');
}

/** Mandatory (+INFINITY) colocations must not form a cycle: placement would have no starting point. */
function checkColocationCycles(m: Model): void {
  const edges: Edge[] = [];
  for (const [section, id, r] of declared(m)) {
    r.colocation.forEach((c, i) => {
      if (c.score === INFINITY && c.with !== id && known(m, c.with)) edges.push({ from: id, to: c.with, source: `${joinPath(section, id)}.colocation[${i}]` });
    });
  }
  if (valid(m.s.groups)) {
    for (const [id, g] of Object.entries(m.s.groups)) {
      for (let i = 0; i + 1 < g.members.length; i++) edges.push({ from: g.members[i + 1]!, to: g.members[i]!, source: `${joinPath('groups', id)}.members` });
    }
  }
  reportCycles(m, findCycles(edges), 'mandatory colocation constraints form a cycle');
}

function reportCycles(m: Model, cycles: ReturnType<typeof findCycles>, what: string): void {
  const seen = new Set<string>();
  for (const cycle of cycles) {
    const key = [...new Set(cycle.nodes)].sort().join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    const sources = [...new Set(cycle.sources)];
    // Anchor the message at a constraint the user wrote (not a group's implied order), the same one every run.
    const anchor = [...sources].sort().find((s) => !s.endsWith('.members')) ?? sources[0]!;
    m.ctx.error(anchor, `${what}: ${cycle.nodes.join(' → ')} (from ${sources.join(', ')})`);
  }
}
