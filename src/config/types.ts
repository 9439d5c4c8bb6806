// The compiled configuration: what `validate()` returns once every check passed and every default
// is applied. Everything downstream (core, scheduler, runtime, adapters) reads only this shape,
// never the raw JSON. Durations are milliseconds; scores follow Pacemaker (±INFINITY = ±1,000,000).
//
// raw JSON (written by the NixOS module) → validate() → CompiledConfig

export const INFINITY = 1_000_000;

export type NodeName = string;
export type ResourceId = string;

export type QuorumMode =
  /** odd number of votes: a strict majority of all configured votes */
  | 'majority'
  /** two nodes plus a witness (`tsha witness`) that casts the tie-breaking vote */
  | 'witness'
  /** two nodes alone: both keep quorum, wait-for-all at first start, fencing mandatory */
  | 'two_node';

/** What a node does when it loses quorum or its lease. */
export type NoQuorumPolicy = 'stop' | 'freeze' | 'fence';

export interface CompiledNode {
  name: NodeName;
  /** mesh endpoint, "host:port" (an address on the WireGuard interface) */
  meshAddress: string;
  /** WireGuard public key (base64), used by the harness and the NixOS module to build the tunnel */
  wireguardPublicKey: string | null;
  votes: number;
  /** node attributes for location rules (e.g. { rack: "a", ssd: "yes" }) */
  attributes: Record<string, string>;
}

export interface CompiledWitness {
  name: string;
  meshAddress: string;
  wireguardPublicKey: string | null;
}

/** Default operation timeout (Pacemaker's: 20 s): for an operation the configuration leaves without one, in config and core alike. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 20_000;

/** How long a lost node's Ceph client stays blocklisted after an RBD takeover, unless configured (Ceph's own default: 1 h). */
export const DEFAULT_BLOCKLIST_EXPIRY_S = 3600;

// Default timing (the options table's defaults). Milliseconds.
export const DEFAULT_TIMING = {
  heartbeatIntervalMs: 150,
  failureTimeoutMs: 500,
  electionTimeoutMs: 500,
  leaseMs: 2000,
  maxDriftPpm: 10_000,
  watchdogMs: 5000,
  fenceRaceDelayMs: 1000,
  restartGraceMs: 10_000,
  crashGraceMs: 10_000,
} as const;

export interface Timing {
  heartbeatIntervalMs: number;
  /** a peer not heard from for this long is suspected down (≥ 3 × heartbeat) */
  failureTimeoutMs: number;
  /** election timeout base; randomised in [electionTimeoutMs, 2 × electionTimeoutMs) */
  electionTimeoutMs: number;
  /** how long a node may run resources after its last renewal (> failure timeout) */
  leaseMs: number;
  /** bound on the clock drift rate between any two nodes, parts per million */
  maxDriftPpm: number;
  /** hardware/softdog watchdog timeout: a node that stops feeding it is reset after this long */
  watchdogMs: number;
  /** in two_node mode, the delay the non-preferred side waits before fencing its peer */
  fenceRaceDelayMs: number;
  /** longest a gracefully stopping agent (SIGTERM: nixos-rebuild switch) is waited for before its node is treated as lost */
  restartGraceMs: number;
  /**
   * longest the coordinator waits for a CRASHED agent (kill -9, OOM) to come back when its host is
   * known alive (TCP connect to its mesh port refused); 0 disables
   */
  crashGraceMs: number;
}

export interface FenceDevice {
  id: string;
  /** fence agent executable name, e.g. "fence_ipmilan", "fence_redfish", or "fence_tsha_test" */
  agent: string;
  /** key=value arguments passed on the agent's stdin */
  parameters: Record<string, string>;
  /** nodes this device can fence */
  hosts: NodeName[];
  /**
   * node → plug (port) on this device (Pacemaker's pcmk_host_map); a node not in it: its name.
   * Optional so that configurations compiled before it (recorded scheduler inputs) still read.
   */
  hostMap?: Record<NodeName, string>;
  /** fabric fencing: run action=on for a node this device fenced before it runs resources again */
  unfence?: boolean;
  timeoutMs: number;
}

export interface FenceLevel {
  node: NodeName;
  /** lower levels are tried first; a level succeeds when all its devices confirm */
  index: number;
  devices: string[];
}

export interface FencingConfig {
  /** false only by an explicit, loudly logged choice; refused with stateful storage */
  enabled: boolean;
  devices: FenceDevice[];
  levels: FenceLevel[];
  /** watchdog-based self-fencing (sbd-like): a node without quorum or lease resets itself */
  watchdog: boolean;
  /** the watchdog device the agent feeds (e.g. /dev/watchdog); null: none */
  watchdogDevice: string | null;
}

export type ResourceKind = 'systemd' | 'lxc' | 'microvm' | 'ocf' | 'exec' | 'ip';
export type OperationName = 'start' | 'stop' | 'monitor' | 'promote' | 'demote' | 'migrate_to' | 'migrate_from';
export type OnFail = 'restart' | 'stop' | 'ban' | 'fence' | 'block' | 'ignore' | 'standby';
export type TargetRole = 'started' | 'stopped' | 'promoted' | 'unpromoted';

export interface Operation {
  name: OperationName;
  /** 0 for one-shot operations; monitors have a positive interval */
  intervalMs: number;
  timeoutMs: number;
  onFail: OnFail;
  /** monitor of a promotable resource may be role-specific */
  role?: 'promoted' | 'unpromoted';
}

export interface ResourceMeta {
  /** score added to the node currently running the resource (prevents failback) */
  stickiness: number;
  /** after this many failures on a node, the resource is banned there (0 = never) */
  migrationThreshold: number;
  /** failures older than this are forgotten (0 = never expire) */
  failureTimeoutMs: number;
  targetRole: TargetRole;
  managed: boolean;
  /** a resource that may live-migrate (microVMs) instead of stop + start */
  allowMigrate: boolean;
  /**
   * what is done with a primitive found active on more than one node (Pacemaker's multiple-active);
   * compiled configurations always set it, scheduler inputs recorded before it existed lack it
   * (absent: stop_start)
   */
  multipleActive?: MultipleActive;
}

/**
 * Pacemaker's multiple-active policies. stop_start: stop every copy, start one; stop_only: stop
 * every copy and keep the resource stopped; block: leave every copy alone (unmanaged until the
 * operator acts); stop_unexpected: stop the copies that are not where the resource belongs.
 */
export type MultipleActive = 'stop_start' | 'stop_only' | 'block' | 'stop_unexpected';

/** The primitive a clone instance ("web:2") is a copy of ("web"); a primitive's own id otherwise. */
export function primitiveOf(instance: ResourceId): ResourceId {
  return instance.replace(/:\d+$/, '');
}

/**
 * The multiple-active policy of a primitive: its own, or else its group's, or else its clone's
 * (the first one that is not the default stop_start).
 */
export function multipleActivePolicy(config: Pick<CompiledConfig, 'resources'>, primitive: ResourceId): MultipleActive {
  const own = config.resources[primitive];
  const group = Object.values(config.resources).find((r) => r.type === 'group' && r.members.includes(primitive));
  const clone = Object.values(config.resources).find((r) => r.type === 'clone' && (r.child === primitive || r.child === group?.id));
  const set = [own, group, clone].find((r) => (r?.meta.multipleActive ?? 'stop_start') !== 'stop_start');
  return set?.meta.multipleActive ?? 'stop_start';
}

export type StorageSpec =
  | { type: 'drbd'; resource: string; volume?: number }
  | {
      type: 'rbd';
      pool: string;
      image: string;
      cephConf?: string;
      /** the Ceph user the agent acts as ("admin" for client.admin); absent: Ceph's default */
      user?: string;
      /** keyring file of that user; never logged or shown */
      keyring?: string;
      /** how long a lost node's client stays blocklisted (compiled configurations always set it) */
      blocklistExpirySeconds?: number;
    };

export interface PrimitiveResource {
  type: 'primitive';
  id: ResourceId;
  kind: ResourceKind;
  /** kind-specific parameters: systemd {unit}, lxc {name}, microvm {name}, ocf {agent: "provider:type", ...agent parameters}, exec {start, stop, monitor} */
  params: Record<string, string>;
  operations: Operation[];
  meta: ResourceMeta;
  /** declares that the resource holds state that must never be written from two nodes */
  stateful: boolean;
  storage: StorageSpec | null;
}

export interface GroupResource {
  type: 'group';
  id: ResourceId;
  /** started in this order, stopped in reverse, all on one node */
  members: ResourceId[];
  meta: ResourceMeta;
}

export interface CloneResource {
  type: 'clone';
  id: ResourceId;
  /** the primitive or group cloned */
  child: ResourceId;
  /** total instances (default: number of nodes) */
  max: number;
  /** instances per node (default 1) */
  maxPerNode: number;
  /** promotable clone: up to promotedMax instances are promoted (DRBD primary, RBD lock owner) */
  promotable: boolean;
  promotedMax: number;
  promotedMaxPerNode: number;
  /**
   * orders after another clone act per node: an instance waits for (and restarts with) the
   * other clone's instance on its node, not the whole clone (Pacemaker's interleave);
   * compiled configurations always set it (absent in older recorded inputs: false)
   */
  interleave?: boolean;
  meta: ResourceMeta;
}

export type Resource = PrimitiveResource | GroupResource | CloneResource;

export type RuleOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'defined' | 'not_defined';
export type RuleType = 'string' | 'number';

/** A rule operand as a number: a finite decimal number (Pacemaker's type="number"), else null. */
export function parseRuleNumber(s: string): number | null {
  if (!/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** Rule ops that compare the node attribute with a value. */
export const VALUE_RULE_OPS: readonly RuleOp[] = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte'];

/** A rule's comparison type when unset: numbers for the ordering ops, strings for eq and ne. */
export function ruleTypeOf(rule: { op: RuleOp; type?: RuleType }): RuleType {
  return rule.type ?? (rule.op === 'eq' || rule.op === 'ne' ? 'string' : 'number');
}

export interface LocationConstraint {
  id: string;
  resource: ResourceId;
  /** either a node name or a rule over node attributes */
  node: NodeName | null;
  rule: { attribute: string; op: RuleOp; value?: string; type?: RuleType } | null;
  /** positive prefers, negative avoids, ±INFINITY requires/forbids */
  score: number;
  /** for promotable clones: the constraint applies to the promoted role only */
  role?: 'promoted';
}

export interface ColocationConstraint {
  id: string;
  /** the dependent resource: placed relative to `with` */
  resource: ResourceId;
  with: ResourceId;
  /** positive: together, negative: apart; ±INFINITY mandatory */
  score: number;
  /** colocate with the promoted instance of a promotable clone */
  withRole?: 'promoted';
  role?: 'promoted';
}

export type OrderAction = 'start' | 'stop' | 'promote' | 'demote';

export interface OrderConstraint {
  id: string;
  first: ResourceId;
  firstAction: OrderAction;
  then: ResourceId;
  thenAction: OrderAction;
  /** mandatory: then is restarted when first is; optional: only orders actions in the same plan */
  kind: 'mandatory' | 'optional';
  /** stop in reverse order */
  symmetric: boolean;
}

export interface CompiledConfig {
  clusterName: string;
  /** cluster identifier carried in every mesh message; peers with another id are dropped */
  clusterId: string;
  nodes: CompiledNode[];
  witness: CompiledWitness | null;
  quorumMode: QuorumMode;
  timing: Timing;
  noQuorumPolicy: NoQuorumPolicy;
  fencing: FencingConfig;
  /** every resource by id: primitives, groups and clones share one id space */
  resources: Record<ResourceId, Resource>;
  constraints: {
    location: LocationConstraint[];
    colocation: ColocationConstraint[];
    order: OrderConstraint[];
  };
  /** cluster-wide maintenance mode: nothing is started, stopped or monitored */
  maintenanceMode: boolean;
}
