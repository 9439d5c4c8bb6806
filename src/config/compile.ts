// The last stage: a configuration that passed every check becomes the CompiledConfig everything
// else reads. Defaults that depend on other options are filled in here (operation defaults,
// resourceDefaults, clone sizes); constraints declared on resources become flat lists whose ids
// are the options that declared them.

import type {
  CloneResource,
  ColocationConstraint,
  CompiledConfig,
  GroupResource,
  LocationConstraint,
  OnFail,
  Operation,
  OrderConstraint,
  PrimitiveResource,
  QuorumMode,
  Resource,
  ResourceMeta,
  StorageSpec,
} from './types.js';
import { DEFAULT_BLOCKLIST_EXPIRY_S } from './types.js';
import {
  DEFAULT_MONITOR_INTERVAL_MS,
  DEFAULT_OPERATION_TIMEOUT_MS,
  OPERATION_KEYS,
  type RawConfig,
  type RawMeta,
  type RawPrimitive,
} from './options.js';
import { joinPath } from './issues.js';

type Declared = RawConfig['resources'][string] | RawConfig['groups'][string] | RawConfig['clones'][string];

/** An operation's timeout as a resource's agent advises it (an OCF agent's meta-data <action>). */
export interface AdvisedOperation {
  name: string;
  role?: 'promoted' | 'unpromoted';
  timeoutMs?: number;
}

/**
 * What the agents installed where the configuration is compiled advise, per primitive (undefined:
 * nothing known). It fills only the timeouts the configuration leaves unset; read by the caller
 * before validation, since compiling does no I/O.
 */
export type AdvisedOperations = (r: { id: string; kind: string; params: Readonly<Record<string, string>> }) => readonly AdvisedOperation[] | undefined;

export function compile(raw: RawConfig, quorumMode: QuorumMode, promotableChildren: ReadonlySet<string>, advised?: AdvisedOperations): CompiledConfig {
  const fencingEnabled = raw.fencing.enabled;
  const meta = (m: RawMeta): ResourceMeta => ({
    stickiness: m.stickiness ?? raw.resourceDefaults.stickiness,
    migrationThreshold: m.migrationThreshold ?? raw.resourceDefaults.migrationThreshold,
    failureTimeoutMs: m.failureTimeoutMs ?? raw.resourceDefaults.failureTimeoutMs,
    targetRole: (m.targetRole ?? raw.resourceDefaults.targetRole) as ResourceMeta['targetRole'],
    managed: m.managed ?? raw.resourceDefaults.managed,
    allowMigrate: m.allowMigrate ?? raw.resourceDefaults.allowMigrate,
    multipleActive: (m.multipleActive ?? raw.resourceDefaults.multipleActive) as ResourceMeta['multipleActive'],
  });

  const resources: Record<string, Resource> = {};
  for (const [id, r] of Object.entries(raw.resources)) {
    const primitive: PrimitiveResource = {
      type: 'primitive',
      id,
      kind: r.kind as PrimitiveResource['kind'],
      params: { ...r.params },
      operations: compileOperations(r, fencingEnabled, promotableChildren.has(id), advised?.({ id, kind: r.kind, params: r.params })),
      meta: meta(r.meta),
      stateful: r.stateful || r.storage !== null,
      storage: compileStorage(r.storage),
    };
    resources[id] = primitive;
  }
  for (const [id, g] of Object.entries(raw.groups)) {
    const group: GroupResource = { type: 'group', id, members: [...g.members], meta: meta(g.meta) };
    resources[id] = group;
  }
  const nodeCount = Object.keys(raw.nodes).length;
  for (const [id, c] of Object.entries(raw.clones)) {
    const clone: CloneResource = {
      type: 'clone',
      id,
      child: c.child,
      max: c.max ?? nodeCount,
      maxPerNode: c.maxPerNode,
      promotable: c.promotable,
      promotedMax: c.promotedMax,
      promotedMaxPerNode: c.promotedMaxPerNode,
      interleave: c.interleave,
      meta: meta(c.meta),
    };
    resources[id] = clone;
  }

  const constraints: CompiledConfig['constraints'] = { location: [], colocation: [], order: [] };
  for (const [section, entries] of [
    ['resources', raw.resources],
    ['groups', raw.groups],
    ['clones', raw.clones],
  ] as const) {
    for (const [id, r] of Object.entries(entries as Record<string, Declared>)) compileConstraints(joinPath(section, id), id, r, constraints);
  }

  return {
    clusterName: raw.cluster.name,
    clusterId: raw.cluster.id,
    nodes: Object.entries(raw.nodes).map(([name, n]) => ({
      name,
      meshAddress: n.address,
      wireguardPublicKey: n.publicKey,
      votes: n.votes,
      attributes: { ...n.attributes },
    })),
    witness: raw.witness ? { name: raw.witness.name, meshAddress: raw.witness.address, wireguardPublicKey: raw.witness.publicKey } : null,
    quorumMode,
    timing: { ...raw.timing },
    noQuorumPolicy: raw.noQuorumPolicy as CompiledConfig['noQuorumPolicy'],
    fencing: {
      enabled: fencingEnabled,
      watchdog: raw.fencing.watchdog,
      watchdogDevice: raw.fencing.watchdogDevice ?? null,
      devices: Object.entries(raw.fencing.devices).map(([id, d]) => ({
        id,
        agent: d.agent,
        parameters: { ...d.parameters },
        hosts: [...d.hosts],
        hostMap: { ...d.hostMap },
        unfence: d.unfence,
        timeoutMs: d.timeoutMs,
      })),
      levels: Object.entries(raw.fencing.levels).flatMap(([node, levels]) => levels.map((devices, index) => ({ node, index: index + 1, devices: [...devices] }))),
    },
    resources,
    constraints,
    maintenanceMode: raw.maintenanceMode,
  };
}

/**
 * The advised timeout of an operation: the agent's action of that name and role, else of that name
 * without a role, else the longest of that name (a monitor advised per role only).
 */
export function advisedTimeout(advice: readonly AdvisedOperation[] | undefined, name: string, role: 'promoted' | 'unpromoted' | undefined): number | undefined {
  const named = (advice ?? []).filter((a) => a.name === name && a.timeoutMs !== undefined);
  const exact = named.find((a) => a.role === role) ?? named.find((a) => a.role === undefined);
  if (exact) return exact.timeoutMs;
  return named.length > 0 ? Math.max(...named.map((a) => a.timeoutMs!)) : undefined;
}

/** start, stop and monitor always exist; promote and demote too inside a promotable clone. */
function compileOperations(r: RawPrimitive, fencingEnabled: boolean, promotable: boolean, advice?: readonly AdvisedOperation[]): Operation[] {
  const always = new Set<string>(['start', 'stop', 'monitor', ...(promotable ? ['promote', 'demote'] : [])]);
  const ops: Operation[] = [];
  for (const [key, info] of Object.entries(OPERATION_KEYS)) {
    const given = r.operations[key as keyof typeof OPERATION_KEYS];
    if (!given && !always.has(key)) continue;
    const defaultOnFail: OnFail = info.name === 'stop' ? (fencingEnabled ? 'fence' : 'block') : 'restart';
    const op: Operation = {
      name: info.name,
      intervalMs: info.name === 'monitor' ? (given?.intervalMs ?? DEFAULT_MONITOR_INTERVAL_MS) : 0,
      timeoutMs: given?.timeoutMs ?? advisedTimeout(advice, info.name, 'role' in info ? info.role : undefined) ?? DEFAULT_OPERATION_TIMEOUT_MS,
      onFail: (given?.onFail ?? defaultOnFail) as OnFail,
    };
    if ('role' in info) op.role = info.role;
    ops.push(op);
  }
  return ops;
}

function compileStorage(s: RawPrimitive['storage']): StorageSpec | null {
  if (!s) return null;
  if (s.type === 'drbd') return { type: 'drbd', resource: s.resource!, ...(s.volume !== null ? { volume: s.volume } : {}) };
  return {
    type: 'rbd', pool: s.pool!, image: s.image!,
    ...(s.cephConf !== null ? { cephConf: s.cephConf } : {}),
    ...(s.user !== null ? { user: s.user } : {}),
    ...(s.keyring !== null ? { keyring: s.keyring } : {}),
    blocklistExpirySeconds: s.blocklistExpirySeconds ?? DEFAULT_BLOCKLIST_EXPIRY_S,
  };
}

function compileConstraints(base: string, id: string, r: Declared, out: CompiledConfig['constraints']): void {
  r.location.forEach((l, i) => {
    const c: LocationConstraint = {
      id: `${base}.location[${i}]`,
      resource: id,
      node: l.node,
      rule: l.rule ? { attribute: l.rule.attribute, op: l.rule.op, ...(l.rule.value !== null ? { value: l.rule.value } : {}), ...(l.rule.type !== null ? { type: l.rule.type } : {}) } : null,
      score: l.score,
    };
    if (l.role) c.role = 'promoted';
    out.location.push(c);
  });
  r.colocation.forEach((col, i) => {
    const c: ColocationConstraint = { id: `${base}.colocation[${i}]`, resource: id, with: col.with, score: col.score };
    if (col.withRole) c.withRole = 'promoted';
    if (col.role) c.role = 'promoted';
    out.colocation.push(c);
  });
  r.order.forEach((o, i) => {
    const c: OrderConstraint = {
      id: `${base}.order[${i}]`,
      first: o.after ?? id,
      firstAction: o.firstAction as OrderConstraint['firstAction'],
      then: o.after !== null ? id : o.before!,
      thenAction: (o.thenAction ?? o.firstAction) as OrderConstraint['thenAction'],
      kind: o.kind as OrderConstraint['kind'],
      symmetric: o.symmetric,
    };
    out.order.push(c);
  });
}
