// Renders a Workload as tsha's scheduler inputs: a CompiledConfig (src/config/types.ts) and a
// ClusterSnapshot (src/core/snapshot.ts), the same cluster cib.ts renders for Pacemaker.
//
// Like for like with the CIB: every primitive is ocf:pacemaker:Dummy with start/stop (20 s) and a
// 10 s monitor; stickiness 100; migration threshold "never" (Pacemaker's default INFINITY);
// fencing disabled (the CIB has stonith-enabled=false), so neither scheduler fences the lost node;
// majority quorum, quorate. Clone instances are observed as "<child>:<n>" (snapshot.ts).

import type {
  CompiledConfig,
  CompiledNode,
  LocationConstraint,
  Operation,
  PrimitiveResource,
  Resource,
  ResourceMeta,
} from '../../../src/config/types.js';
import type { ClusterSnapshot, NodeSnapshot, ResourceObservation } from '../../../src/core/snapshot.js';
import type { Workload } from './workload.js';

/** The coordinator's monotonic clock when the snapshot is taken (one day after start). */
export const SNAPSHOT_NOW = 86_400_000;

export interface TshaInput {
  config: CompiledConfig;
  snapshot: ClusterSnapshot;
  now: number;
}

export function renderTshaInput(w: Workload): TshaInput {
  const meta: ResourceMeta = {
    stickiness: w.stickiness,
    migrationThreshold: 0,
    failureTimeoutMs: 0,
    targetRole: 'started',
    managed: true,
    allowMigrate: false,
    multipleActive: 'stop_start',
  };
  const operations: Operation[] = [
    { name: 'start', intervalMs: 0, timeoutMs: w.opTimeoutMs, onFail: 'restart' },
    { name: 'stop', intervalMs: 0, timeoutMs: w.opTimeoutMs, onFail: 'block' },
    { name: 'monitor', intervalMs: w.monitorIntervalMs, timeoutMs: w.opTimeoutMs, onFail: 'restart' },
  ];
  const resources: Record<string, Resource> = {};
  for (const id of w.primitives) {
    const p: PrimitiveResource = {
      type: 'primitive',
      id,
      kind: 'ocf',
      params: { agent: 'pacemaker:Dummy' },
      operations: operations.map((o) => ({ ...o })),
      meta: { ...meta },
      stateful: false,
      storage: null,
    };
    resources[id] = p;
  }
  for (const g of w.groups) resources[g.id] = { type: 'group', id: g.id, members: [...g.members], meta: { ...meta } };
  for (const c of w.clones) {
    resources[c.id] = {
      type: 'clone',
      id: c.id,
      child: c.child,
      max: c.max,
      maxPerNode: 1,
      promotable: false,
      promotedMax: 1,
      promotedMaxPerNode: 1,
      interleave: false,
      meta: { ...meta },
    };
  }

  const nodes: CompiledNode[] = w.nodes.map((n, i) => ({
    name: n.name,
    meshAddress: `10.77.${Math.floor((i + 1) / 256)}.${(i + 1) % 256}:7400`,
    wireguardPublicKey: null,
    votes: 1,
    attributes: { ...n.attributes },
  }));

  const location: LocationConstraint[] = w.location.map((l) => ({
    id: l.id,
    resource: l.resource,
    node: l.node,
    rule: l.rule === null ? null : { attribute: l.rule.attribute, op: l.rule.op, value: l.rule.value },
    score: l.score,
  }));

  const config: CompiledConfig = {
    clusterName: 'bench',
    clusterId: 'bench-0001',
    nodes,
    witness: null,
    quorumMode: 'majority',
    timing: {
      heartbeatIntervalMs: 200,
      failureTimeoutMs: 1_000,
      electionTimeoutMs: 1_500,
      leaseMs: 3_000,
      maxDriftPpm: 500,
      watchdogMs: 10_000,
      fenceRaceDelayMs: 0,
      restartGraceMs: 10_000,
      crashGraceMs: 5000,
    },
    noQuorumPolicy: 'stop',
    fencing: { enabled: false, devices: [], levels: [], watchdog: false, watchdogDevice: null },
    resources,
    constraints: {
      location,
      colocation: w.colocation.map((c) => ({ id: c.id, resource: c.resource, with: c.with, score: c.score })),
      order: w.order.map((o) => ({
        id: o.id,
        first: o.first,
        firstAction: 'start' as const,
        then: o.then,
        thenAction: 'start' as const,
        kind: o.kind,
        symmetric: true,
      })),
    },
    maintenanceMode: false,
  };

  const snapNodes: NodeSnapshot[] = w.nodes.map((n) => ({
    name: n.name,
    state: n.name === w.lostNode ? 'unclean' : 'online',
    standby: false,
    maintenance: false,
    attributes: { ...n.attributes },
    leaseExpiredAt: null,
  }));
  const observations: ResourceObservation[] = w.running.map((r) => ({
    resource: r.instance === null ? r.primitive : `${r.primitive}:${r.instance}`,
    node: r.node,
    role: 'started',
  }));
  const snapshot: ClusterSnapshot = {
    now: SNAPSHOT_NOW,
    quorate: true,
    nodes: snapNodes,
    observations,
    failures: [],
    bans: [],
    overrides: [],
    fenced: [],
    fenceRequests: [],
  };
  return { config, snapshot, now: SNAPSHOT_NOW };
}
