// Test builders for scheduler inputs: a compact way to write a CompiledConfig and a snapshot.
// Defaults follow the compiled defaults of src/config (stickiness 0, on-fail restart, …); scenario
// files store the full JSON these produce, so the golden inputs do not depend on this file.

import type {
  CloneResource, ColocationConstraint, CompiledConfig, GroupResource, LocationConstraint, Operation,
  OrderConstraint, PrimitiveResource, ResourceMeta, StorageSpec,
} from '../../src/config/types.js';
import type { ClusterSnapshot, FailureRecord, NodeSnapshot, ResourceObservation } from '../../src/core/snapshot.js';
import type { SchedulerInput } from '../../src/core/scheduler/types.js';

export const INF = 1_000_000;

export function meta(m: Partial<ResourceMeta> = {}): ResourceMeta {
  return { stickiness: 0, migrationThreshold: 0, failureTimeoutMs: 0, targetRole: 'started', managed: true, allowMigrate: false, multipleActive: 'stop_start', ...m };
}

export function ops(extra: Partial<Record<'monitor' | 'start' | 'stop', Partial<Operation>>> = {}): Operation[] {
  return [
    { name: 'start', intervalMs: 0, timeoutMs: 20_000, onFail: 'restart', ...extra.start },
    { name: 'stop', intervalMs: 0, timeoutMs: 20_000, onFail: 'fence', ...extra.stop },
    { name: 'monitor', intervalMs: 10_000, timeoutMs: 20_000, onFail: 'restart', ...extra.monitor },
  ];
}

export interface PrimOpts {
  kind?: PrimitiveResource['kind'];
  params?: Record<string, string>;
  meta?: Partial<ResourceMeta>;
  operations?: Operation[];
  stateful?: boolean;
  storage?: StorageSpec | null;
}

export class ClusterBuilder {
  config: CompiledConfig;
  snapshot: ClusterSnapshot;
  now = 1_000_000;
  private seq = 0;

  constructor(nodes: string[], name = 'alpha') {
    this.config = {
      clusterName: name, clusterId: `${name}-id`,
      nodes: nodes.map((n, i) => ({ name: n, meshAddress: `10.0.0.${i + 1}:7400`, wireguardPublicKey: null, votes: 1, attributes: {} })),
      witness: null,
      quorumMode: nodes.length === 2 ? 'two_node' : 'majority',
      timing: { heartbeatIntervalMs: 200, failureTimeoutMs: 1000, electionTimeoutMs: 1000, leaseMs: 2000, maxDriftPpm: 500, watchdogMs: 5000, fenceRaceDelayMs: 5000, restartGraceMs: 10_000, crashGraceMs: 5000 },
      noQuorumPolicy: 'stop',
      fencing: {
        enabled: true, watchdog: false, watchdogDevice: null, levels: [],
        devices: [{ id: 'ipmi', agent: 'fence_ipmilan', parameters: {}, hosts: [...nodes], timeoutMs: 30_000 }],
      },
      resources: {},
      constraints: { location: [], colocation: [], order: [] },
      maintenanceMode: false,
    };
    this.snapshot = {
      now: this.now, quorate: true,
      nodes: nodes.map((n): NodeSnapshot => ({ name: n, state: 'online', standby: false, maintenance: false, attributes: {} })),
      observations: [], failures: [], bans: [], overrides: [], fenced: [], fenceRequests: [],
    };
  }

  primitive(id: string, o: PrimOpts = {}): this {
    const kind = o.kind ?? 'systemd';
    const params = o.params ?? (kind === 'systemd' ? { unit: `${id}.service` } : kind === 'ocf' ? { agent: 'heartbeat:Dummy' } : { name: id });
    const r: PrimitiveResource = {
      type: 'primitive', id, kind, params, operations: o.operations ?? ops(), meta: meta(o.meta),
      stateful: o.stateful ?? (o.storage ? true : false), storage: o.storage ?? null,
    };
    this.config.resources[id] = r;
    return this;
  }

  group(id: string, members: string[], m: Partial<ResourceMeta> = {}): this {
    for (const mem of members) if (!this.config.resources[mem]) this.primitive(mem);
    const g: GroupResource = { type: 'group', id, members, meta: meta(m) };
    this.config.resources[id] = g;
    return this;
  }

  clone(id: string, child: string, o: Partial<Omit<CloneResource, 'type' | 'id' | 'child' | 'meta'>> & { meta?: Partial<ResourceMeta> } = {}): this {
    if (!this.config.resources[child]) this.primitive(child);
    const c: CloneResource = {
      type: 'clone', id, child, max: o.max ?? this.config.nodes.length, maxPerNode: o.maxPerNode ?? 1,
      promotable: o.promotable ?? false, promotedMax: o.promotedMax ?? 1, promotedMaxPerNode: o.promotedMaxPerNode ?? 1, interleave: o.interleave ?? false, meta: meta(o.meta),
    };
    this.config.resources[id] = c;
    return this;
  }

  location(resource: string, node: string | null, score: number, extra: Partial<LocationConstraint> = {}): this {
    this.config.constraints.location.push({ id: `loc-${++this.seq}`, resource, node, rule: null, score, ...extra });
    return this;
  }

  colocate(resource: string, withRes: string, score = INF, extra: Partial<ColocationConstraint> = {}): this {
    this.config.constraints.colocation.push({ id: `col-${++this.seq}`, resource, with: withRes, score, ...extra });
    return this;
  }

  order(first: string, then: string, extra: Partial<OrderConstraint> = {}): this {
    this.config.constraints.order.push({
      id: `ord-${++this.seq}`, first, firstAction: 'start', then, thenAction: 'start', kind: 'mandatory', symmetric: true, ...extra,
    });
    return this;
  }

  running(resource: string, node: string, role: ResourceObservation['role'] = 'started'): this {
    this.snapshot.observations.push({ resource, node, role });
    return this;
  }

  failure(resource: string, node: string, operation: string, count = 1, ago = 1000, extra: Partial<FailureRecord> = {}): this {
    this.snapshot.failures.push({ resource, node, operation, count, lastFailureAt: this.now - ago, ...extra });
    return this;
  }

  node(name: string, patch: Partial<NodeSnapshot>): this {
    const n = this.snapshot.nodes.find((x) => x.name === name)!;
    Object.assign(n, patch);
    return this;
  }

  attr(node: string, key: string, value: string): this {
    this.config.nodes.find((n) => n.name === node)!.attributes[key] = value;
    return this;
  }

  tap(f: (b: this) => void): this {
    f(this);
    return this;
  }

  input(): SchedulerInput {
    this.snapshot.now = this.now;
    return structuredClone({ snapshot: this.snapshot, config: this.config, now: this.now });
  }
}

export function cluster(...nodes: string[]): ClusterBuilder {
  return new ClusterBuilder(nodes.length > 0 ? nodes : ['n1', 'n2', 'n3']);
}
