// Builds a CompiledConfig directly (the validator lives elsewhere): the simulator and the unit
// tests need exact control over timing, fencing and quorum mode.
import { DEFAULT_TIMING, type CompiledConfig, type PrimitiveResource, type QuorumMode, type Timing } from '../../src/config/types.js';

export interface ConfigSpec {
  nodes: number;
  witness?: boolean;
  mode?: QuorumMode;
  resources?: number;
  timing?: Partial<Timing>;
  /** a fence device that can fence every node */
  fenceDevice?: boolean;
  /** that device is fabric fencing: it unfences (action on) every node at its join */
  unfence?: boolean;
  watchdog?: boolean;
  noQuorumPolicy?: CompiledConfig['noQuorumPolicy'];
  migrationThreshold?: number;
  /** reshape the built configuration: groups, clones, constraints (see shapes below) */
  shape?: (c: CompiledConfig) => void;
}

export const nodeName = (i: number) => `n${i + 1}`;

export function primitive(id: string, migrationThreshold = 3): PrimitiveResource {
  return {
    type: 'primitive',
    id,
    kind: 'exec',
    params: {},
    operations: [],
    meta: { stickiness: 100, migrationThreshold, failureTimeoutMs: 0, targetRole: 'started', managed: true, allowMigrate: false, multipleActive: 'stop_start' },
    stateful: true,
    storage: null,
  };
}

export function makeConfig(spec: ConfigSpec): CompiledConfig {
  const names = Array.from({ length: spec.nodes }, (_, i) => nodeName(i));
  const mode: QuorumMode = spec.mode ?? (spec.witness ? 'witness' : spec.nodes === 2 ? 'two_node' : 'majority');
  const resources: CompiledConfig['resources'] = {};
  for (let i = 0; i < (spec.resources ?? 1); i++) resources[`r${i}`] = primitive(`r${i}`, spec.migrationThreshold ?? 3);
  const fence = spec.fenceDevice ?? true;
  const c: CompiledConfig = {
    clusterName: 'sim',
    clusterId: 'sim-0',
    nodes: names.map((name, i) => ({ name, meshAddress: `10.0.0.${i + 1}:7000`, wireguardPublicKey: null, votes: 1, attributes: {} })),
    witness: spec.witness ? { name: 'witness', meshAddress: '10.0.0.100:7000', wireguardPublicKey: null } : null,
    quorumMode: mode,
    // the options table's defaults: the simulator runs what an operator gets without a timing section
    timing: { ...DEFAULT_TIMING, ...spec.timing },
    noQuorumPolicy: spec.noQuorumPolicy ?? 'stop',
    fencing: {
      enabled: fence,
      devices: fence ? [{ id: 'pdu', agent: 'fence_tsha_test', parameters: {}, hosts: names, timeoutMs: 5000, ...(spec.unfence ? { unfence: true } : {}) }] : [],
      levels: [],
      watchdog: spec.watchdog ?? true,
      watchdogDevice: null,
    },
    resources,
    constraints: { location: [], colocation: [], order: [] },
    maintenanceMode: false,
  };
  spec.shape?.(c);
  return c;
}

const META = { stickiness: 100, migrationThreshold: 3, failureTimeoutMs: 0, targetRole: 'started' as const, managed: true, allowMigrate: false, multipleActive: 'stop_start' as const };

/** `members` (existing primitives) become the group `id`: started in order, stopped in reverse, on one node. */
export function group(id: string, members: string[]) {
  return (c: CompiledConfig): void => {
    c.resources[id] = { type: 'group', id, members, meta: { ...META } };
  };
}

/** A new primitive `child`, cloned: `max` instances, one per node; promotable with one promoted when asked. */
export function clone(id: string, child: string, max: number, promotable = false) {
  return (c: CompiledConfig): void => {
    c.resources[child] = { ...primitive(child), stateful: false };
    c.resources[id] = {
      type: 'clone', id, child, max, maxPerNode: 1, promotable, promotedMax: promotable ? 1 : 0, promotedMaxPerNode: 1, interleave: false, meta: { ...META, stickiness: 0 },
    };
  };
}

/** The primitive `resource` holds the RBD image `image` (the simulator's storage is SIMULATED: engine.ts). */
export function rbd(resource: string, image = resource) {
  return (c: CompiledConfig): void => {
    const p = c.resources[resource];
    if (p?.type === 'primitive') p.storage = { type: 'rbd', pool: 'rbd', image, blocklistExpirySeconds: 3600 };
  };
}

/** A promotable clone `id` of a new primitive `child` that holds the DRBD resource `child`: one Primary. */
export function drbdClone(id: string, child: string, max: number) {
  return (c: CompiledConfig): void => {
    clone(id, child, max, true)(c);
    const p = c.resources[child];
    if (p?.type === 'primitive') c.resources[child] = { ...p, stateful: true, storage: { type: 'drbd', resource: child } };
  };
}

/** `then` starts only after `first` (mandatory, symmetric) and runs on another node (anti-colocation). */
export function orderedApart(first: string, then: string) {
  return (c: CompiledConfig): void => {
    c.constraints.order.push({ id: `${first}-then-${then}`, first, firstAction: 'start', then, thenAction: 'start', kind: 'mandatory', symmetric: true });
    c.constraints.colocation.push({ id: `${then}-apart-${first}`, resource: then, with: first, score: -1_000_000 });
  };
}

export function shapes(...fs: ((c: CompiledConfig) => void)[]) {
  return (c: CompiledConfig): void => {
    for (const f of fs) f(c);
  };
}
