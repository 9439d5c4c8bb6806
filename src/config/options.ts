// THE options table: every option of the raw configuration (the JSON the NixOS module writes),
// with its type, default and documentation. It drives
//   - the structural validation and the defaults (spec.ts: checkValue),
//   - `tsha config options` and the help of `tsha config check`,
//   - docs/configuration.md (`npm run docs:config`),
//   - nixos-module/generated-options.nix (`npm run docs:config` too).
// Rules that relate several options (timing ratios, references, quorum) live in rules.ts.
//
// Shape, for Nix users: attribute sets keyed by name (nodes, resources, groups, clones, fence
// devices); constraints are declared on the resource they constrain.

import { DEFAULT_BLOCKLIST_EXPIRY_S, DEFAULT_OPERATION_TIMEOUT_MS, DEFAULT_TIMING, INFINITY } from './types.js';
import { BUILT_KINDS, KIND_PARAMS, kindLabels, migrationText, PLANNED_KINDS, PLANNED_STORAGE, storageLabels } from './drivers.js';
import { bool, int, list, map, obj, oneOf, optional, score, str, stringMap, type Optional, type SpecType } from './spec.js';

export { DEFAULT_OPERATION_TIMEOUT_MS, DEFAULT_TIMING, KIND_PARAMS };

/** Default monitor interval (10 s is common with Pacemaker). */
export const DEFAULT_MONITOR_INTERVAL_MS = 10_000;
export const DEFAULT_FENCE_TIMEOUT_MS = 20_000;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL_TEXT = 'a DNS label (lower-case letters, digits and "-", 1 to 63 characters, no "-" at either end)';
const ID = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const ID_TEXT = 'an id: a letter, then letters, digits, "_", "." or "-", at most 64 characters';
/** host:port; host is an IPv4 address, a bracketed IPv6 address or a DNS name */
export const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})$/;
const ADDRESS_TEXT = 'an address "host:port" (IPv4, [IPv6] or a DNS name, port 1–65535)';
const WG_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
const WG_KEY_TEXT = 'a WireGuard public key (44 characters of base64, as `wg pubkey` prints)';

const ms = (doc: string, min: number, max: number, dflt?: number) =>
  int(doc, { min, max, unit: 'ms', ...(dflt === undefined ? {} : { default: dflt }) });

// ---------------------------------------------------------------------------------------------
// Pieces shared by resources, groups and clones

/** Resource meta attributes. Per resource each is optional; unset means `resourceDefaults`. */
const metaFields = {
  stickiness: score('Score added to the node currently running the resource, so it does not move back when a preferred node returns (Pacemaker: resource-stickiness).', {
    default: 0,
  }),
  migrationThreshold: int(
    'After this many failures on a node the resource is banned from it until the failures expire or are cleaned up. 0 = never ban (Pacemaker\'s default INFINITY behaves the same in practice).',
    { min: 0, max: INFINITY, default: 0 },
  ),
  failureTimeoutMs: ms('Failures older than this are forgotten (Pacemaker: failure-timeout). 0 = never expire.', 0, 365 * 24 * 3600 * 1000, 0),
  targetRole: oneOf(['started', 'stopped', 'promoted', 'unpromoted'] as const, 'The state the cluster keeps the resource in. "promoted"/"unpromoted" apply to promotable clones only.', {
    default: 'started',
  }),
  managed: bool('false: the cluster neither starts, stops nor recovers the resource (it still monitors it).', { default: true }),
  allowMigrate: bool(
    `The resource may live-migrate (migrate_to, migrate_from) instead of stop + start: ${migrationText()}.`,
    { default: false },
  ),
  multipleActive: oneOf(['stop_start', 'stop_only', 'block', 'stop_unexpected'] as const,
    'What is done with a resource found running on more than one node (after a partition heals, or started by hand), as Pacemaker\'s multiple-active. stop_start: stop every copy, then start one where it belongs. stop_only: stop every copy and keep it stopped (its target role is set to stopped, as `tsha resource disable` does). block: touch no copy: the resource is unmanaged until the operator resolves it. stop_unexpected: stop only the copies that are not where it belongs; the one there keeps running. On a group or clone it applies to the members that keep the default.',
    { default: 'stop_start' }),
};
const resourceDefaults = obj(metaFields, 'Cluster-wide defaults for the resource meta options (Pacemaker: rsc_defaults).', {
  defaultsWhenAbsent: true,
});
const metaOverrides = obj(
  Object.fromEntries(Object.entries(metaFields).map(([k, spec]) => [k, optional(spec, `resourceDefaults.${k}`)])) as {
    [K in keyof typeof metaFields]: Optional<(typeof metaFields)[K]>;
  },
  'Meta options of this resource; unset ones come from resourceDefaults.',
  { defaultsWhenAbsent: true },
);

const location = obj(
  {
    node: optional(str('Node this constraint is about (exactly one of node and rule).')),
    rule: optional(
      obj(
        {
          attribute: str('Node attribute name (nodes.<name>.attributes).'),
          op: oneOf(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'defined', 'not_defined'] as const, 'Comparison (gt, gte, lt, lte: greater than, at least, less than, at most).', { default: 'eq' }),
          value: optional(str('Value compared with; required for eq, ne, gt, gte, lt and lte, not allowed for defined and not_defined.')),
          type: optional(
            oneOf(['string', 'number'] as const,
              'How the node attribute and value are compared (Pacemaker\'s expression type): "number" compares them as numbers when both are numbers, as strings otherwise; "string" always as strings. Unset: "number" for gt, gte, lt and lte, "string" for eq and ne. Not allowed with defined and not_defined.'),
          ),
        },
        'A rule over node attributes (exactly one of node and rule).',
      ),
    ),
    score: score('Positive prefers, negative avoids; "INFINITY" requires, "-INFINITY" forbids.'),
    role: optional(oneOf(['promoted'] as const, 'For promotable clones: the constraint applies to the promoted instance only.')),
  },
  'Where this resource may or should run.',
);

const colocation = obj(
  {
    with: str('The resource this one is placed relative to.'),
    score: score('Positive: together, negative: apart; ±"INFINITY" is mandatory.', { default: INFINITY }),
    withRole: optional(oneOf(['promoted'] as const, 'Place relative to the promoted instance of a promotable clone.')),
    role: optional(oneOf(['promoted'] as const, 'For a promotable clone: only its promoted instance is placed by this constraint.')),
  },
  'Where this resource runs relative to another one.',
);

const orderAction = (doc: string, dflt?: 'start') =>
  oneOf(['start', 'stop', 'promote', 'demote'] as const, doc, dflt ? { default: dflt } : {});
const order = obj(
  {
    after: optional(str('This resource starts after that one (exactly one of after and before).')),
    before: optional(str('This resource starts before that one (exactly one of after and before).')),
    firstAction: orderAction('Action of the resource that goes first.', 'start'),
    thenAction: optional(orderAction('Action of the resource that goes second.'), 'firstAction'),
    kind: oneOf(['mandatory', 'optional'] as const, 'mandatory: the second resource is restarted when the first one is; optional: only orders actions that happen in the same transition.', {
      default: 'mandatory',
    }),
    symmetric: bool('Stop in the reverse order.', { default: true }),
  },
  'The order in which this resource and another one start and stop.',
);

const constraintFields = {
  location: list(location, 'Location constraints of this resource.', { default: [] }),
  colocation: list(colocation, 'Colocation constraints of this resource (this resource is the dependent one).', { default: [] }),
  order: list(order, 'Order constraints of this resource.', { default: [] }),
};

// ---------------------------------------------------------------------------------------------
// Primitives

const operation = obj(
  {
    intervalMs: optional(ms('Monitors only: how often the monitor runs.', 1, 24 * 3600 * 1000), `${DEFAULT_MONITOR_INTERVAL_MS} for monitors`),
    timeoutMs: optional(
      ms('The operation fails when it takes longer.', 1, 24 * 3600 * 1000),
      `${DEFAULT_OPERATION_TIMEOUT_MS}; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node`,
    ),
    onFail: optional(
      oneOf(
        ['restart', 'stop', 'ban', 'fence', 'block', 'ignore', 'standby'] as const,
        'What a failure leads to (Pacemaker\'s on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running.',
      ),
      '"restart"; for stop: "fence" when fencing is enabled, else "block" (Pacemaker)',
    ),
  },
  'One operation of a resource.',
);
export const OPERATION_KEYS = {
  start: { name: 'start' },
  stop: { name: 'stop' },
  monitor: { name: 'monitor' },
  monitorPromoted: { name: 'monitor', role: 'promoted' },
  monitorUnpromoted: { name: 'monitor', role: 'unpromoted' },
  promote: { name: 'promote' },
  demote: { name: 'demote' },
  migrateTo: { name: 'migrate_to' },
  migrateFrom: { name: 'migrate_from' },
} as const;
const operationDocs: Record<keyof typeof OPERATION_KEYS, string> = {
  start: 'Start.',
  stop: 'Stop.',
  monitor: 'Recurring health check.',
  monitorPromoted: 'Monitor of the promoted instance of a promotable clone (replaces monitor for that role).',
  monitorUnpromoted: 'Monitor of the unpromoted instances of a promotable clone (replaces monitor for that role).',
  promote: 'Promote (promotable clones: DRBD primary, RBD lock owner).',
  demote: 'Demote (promotable clones).',
  migrateTo: 'Live migration, on the source node (needs allowMigrate).',
  migrateFrom: 'Live migration, on the target node (needs allowMigrate).',
};
const operations = obj(
  Object.fromEntries(
    Object.entries(operationDocs).map(([key, doc]) => [
      key,
      optional({ ...operation, doc }, key === 'start' || key === 'stop' || key === 'monitor' ? 'always present, with the defaults below' : undefined),
    ]),
  ) as Record<keyof typeof OPERATION_KEYS, Optional<typeof operation>>,
  `Operations by name. start, stop and monitor always exist: unset, they get timeout ${DEFAULT_OPERATION_TIMEOUT_MS} ms (an ocf resource: its agent's advised timeout) and the monitor an interval of ${DEFAULT_MONITOR_INTERVAL_MS} ms.`,
  { defaultsWhenAbsent: true },
);

const storage = obj(
  {
    type: oneOf(['drbd', 'rbd'] as const, 'drbd: a DRBD resource (clone it with promotable = true); rbd: a Ceph RBD image held with an exclusive lock.'),
    resource: optional(str('drbd: the DRBD resource name (drbdadm).')),
    volume: optional(int('drbd: the volume number.', { min: 0, max: 65535 })),
    pool: optional(str('rbd: the Ceph pool.')),
    image: optional(str('rbd: the image name.')),
    cephConf: optional(str('rbd: path of ceph.conf (default: Ceph\'s own).')),
    user: optional(str('rbd: the Ceph user the agent acts as, without "client." (default: Ceph\'s own, admin).')),
    keyring: optional(str('rbd: path of that user\'s keyring file (default: Ceph\'s own); the agent passes the path, never the key, and neither shows in logs or tsha status.')),
    blocklistExpirySeconds: optional(int(`rbd: how long a lost node's Ceph client stays blocklisted after a takeover (Ceph's osd blocklist expiry), in seconds; default ${DEFAULT_BLOCKLIST_EXPIRY_S}.`, { min: 60, max: 31536000 })),
  },
  'Storage this resource holds; it is taken from a lost node (DRBD demoted/outdated, RBD lock broken and its client blocklisted) before the resource starts elsewhere. Implies stateful.' +
    (PLANNED_STORAGE.length > 0 ? ` Planned: storage takeover (${storageLabels(PLANNED_STORAGE).join(', ')}) has no driver in this build, which refuses a resource that holds such storage.` : ''),
);

export type ResourceKindName = keyof typeof KIND_PARAMS;

const primitive = obj(
  {
    kind: oneOf(
      Object.keys(KIND_PARAMS) as ResourceKindName[],
      `How the resource is run. This build runs ${kindLabels(BUILT_KINDS)}` +
        (PLANNED_KINDS.length > 0 ? `; ${kindLabels(PLANNED_KINDS)} are planned and refused until their driver is built.` : '.'),
    ),
    params: stringMap(
      'Kind-specific parameters. ' +
        Object.entries(KIND_PARAMS)
          .map(([k, v]) => `${k}: ${v.doc}.`)
          .join(' '),
      { default: {} },
    ),
    operations,
    meta: metaOverrides,
    stateful: bool('The resource holds state that must never be written from two nodes: refused without fencing, unless its data is on Ceph RBD storage held by a resource it starts after.', { default: false }),
    storage: optional(storage),
    ...constraintFields,
  },
  'A primitive resource.',
);

const group = obj(
  {
    members: list(str('Resource id.'), 'Primitives started in this order, stopped in reverse, all on one node.', { minItems: 1 }),
    meta: metaOverrides,
    ...constraintFields,
  },
  'A group: members run together on one node, started in order.',
);

const clone = obj(
  {
    child: str('The primitive or group that is cloned.'),
    max: optional(int('Total number of instances.', { min: 1, max: 1024 }), 'number of nodes'),
    maxPerNode: int('Instances per node.', { min: 1, max: 1024, default: 1 }),
    promotable: bool('Instances can be promoted (DRBD primary, RBD exclusive owner).', { default: false }),
    promotedMax: int('Promotable clones: number of promoted instances.', { min: 1, max: 1024, default: 1 }),
    promotedMaxPerNode: int('Promotable clones: promoted instances per node.', { min: 1, max: 1024, default: 1 }),
    interleave: bool(
      'An order between another clone and this one acts per node (Pacemaker\'s interleave): an instance of this clone starts after the other clone\'s instance on its node, stops before it, and is restarted only when that one is, instead of waiting for (and restarting with) every instance of the other clone. It is this clone\'s setting that counts when this clone is the second of the order. (A mandatory colocation with another clone is per node either way: an instance runs only where the other clone runs one.)',
      { default: false },
    ),
    meta: metaOverrides,
    ...constraintFields,
  },
  'A clone: several instances of a primitive or group, on several nodes.',
);

// ---------------------------------------------------------------------------------------------
// The whole configuration

export const rawConfigSpec = obj(
  {
    cluster: obj(
      {
        name: str('Human-readable cluster name, shown by tsha status.', { maxLength: 64 }),
        id: str('Cluster id carried in every mesh message; agents with another id are ignored.', {
          pattern: /^[a-z0-9][a-z0-9-]{0,62}$/,
          patternText: 'a cluster id (lower-case letters, digits and "-", 1 to 63 characters, starting with a letter or digit)',
        }),
      },
      'Cluster identity.',
    ),
    nodes: map(
      obj(
        {
          address: str('Mesh address of the agent, host:port, on the WireGuard interface.', { pattern: ADDRESS, patternText: ADDRESS_TEXT }),
          publicKey: optional(str('WireGuard public key of the node.', { pattern: WG_KEY, patternText: WG_KEY_TEXT })),
          votes: int('Quorum votes. 0 makes a node that runs resources but does not vote.', { min: 0, max: 16, default: 1 }),
          attributes: stringMap('Node attributes for location rules, e.g. { rack = "a"; ssd = "yes"; }.', { default: {} }),
        },
        'A cluster node.',
      ),
      'Cluster nodes by name. The quorum mode follows from them: an odd number of votes → majority; two nodes and a witness → witness; two nodes alone with fencing → two_node.',
      { keyName: 'node name', keyPattern: DNS_LABEL, keyPatternText: DNS_LABEL_TEXT, minEntries: 1 },
    ),
    witness: optional(
      obj(
        {
          name: str('Witness name.', { pattern: DNS_LABEL, patternText: DNS_LABEL_TEXT }),
          address: str('Mesh address of `tsha witness`, host:port.', { pattern: ADDRESS, patternText: ADDRESS_TEXT }),
          publicKey: optional(str('WireGuard public key of the witness.', { pattern: WG_KEY, patternText: WG_KEY_TEXT })),
        },
        'The tie-breaker of a two-node cluster (like corosync-qnetd): votes, runs no resources. Only with exactly two nodes.',
      ),
    ),
    timing: obj(
      {
        heartbeatIntervalMs: ms('Interval between heartbeats to every peer.', 10, 10_000, DEFAULT_TIMING.heartbeatIntervalMs),
        failureTimeoutMs: ms('A peer not heard from for this long is suspected down. At least 3 × heartbeatIntervalMs.', 30, 120_000, DEFAULT_TIMING.failureTimeoutMs),
        electionTimeoutMs: ms(
          'Base election timeout (randomised up to twice this). At least 3 × heartbeatIntervalMs so a follower does not start an election between two late heartbeats.',
          30,
          120_000,
          DEFAULT_TIMING.electionTimeoutMs,
        ),
        leaseMs: ms('A node runs resources only while its lease, renewed through the quorate partition, holds. Longer than failureTimeoutMs.', 100, 600_000, DEFAULT_TIMING.leaseMs),
        maxDriftPpm: int('Bound on the clock drift rate between nodes, parts per million; added to every lease wait.', {
          min: 0,
          max: 100_000,
          unit: 'ppm',
          default: DEFAULT_TIMING.maxDriftPpm,
        }),
        watchdogMs: ms('Watchdog timeout: a node that stops feeding it is reset after this long. Whole seconds (Linux watchdogs count seconds).', 1000, 300_000, DEFAULT_TIMING.watchdogMs),
        fenceRaceDelayMs: ms('two_node mode: the delay one side waits before fencing its peer, so both cannot shoot each other. Must be > 0 in two_node mode.', 0, 60_000, DEFAULT_TIMING.fenceRaceDelayMs),
        restartGraceMs: ms('Graceful agent restart (SIGTERM, nixos-rebuild switch): the coordinator waits up to this long for the agent to come back before it treats the node as lost (fence, then recover). The node\'s resources keep running meanwhile. 0 disables it.', 0, 600_000, DEFAULT_TIMING.restartGraceMs),
        crashGraceMs: ms(
          'Agent crash (kill -9, OOM kill) on a host that is still up: when a silent peer\'s mesh port refuses a TCP connect (its kernel answers with RST: host and network up, only the agent gone), the coordinator waits up to this long for the agent to come back (systemd Restart= and the agent\'s start-up, seconds on a loaded machine) before it treats the node as lost (fence, then recover), instead of fencing after failureTimeoutMs; an agent whose port accepts again before then is waited for until it is heard (at most 2 × electionTimeoutMs + failureTimeoutMs more). The node\'s units keep running and are re-adopted with the same MainPID. A powered-off host, a kernel panic or a cut link never answer with RST, so their failover is not delayed. Ignored in two_node mode. 0 disables it (needed where a power loss leaves the kernel answering, e.g. agents on loopback addresses).',
          0,
          600_000,
          DEFAULT_TIMING.crashGraceMs,
        ),
      },
      'Failure detection, election and lease timing.',
      { defaultsWhenAbsent: true },
    ),
    noQuorumPolicy: oneOf(['stop', 'freeze', 'fence'] as const, 'What a node does when it loses quorum or its lease: stop its resources, freeze (keep them, start nothing), or fence itself.', {
      default: 'stop',
    }),
    fencing: obj(
      {
        enabled: bool(
          'Fencing (STONITH). false is an explicit, loudly reported choice, refused for DRBD storage and for a stateful resource (unless it starts after a resource holding Ceph RBD storage, whose takeover blocklists the lost node), and when two nodes run without a witness.',
          { default: true },
        ),
        watchdog: bool('Watchdog self-fencing (sbd-like): a node without quorum or lease stops feeding its watchdog and is reset; its peers recover after lease + drift + watchdogMs.', {
          default: false,
        }),
        watchdogDevice: optional(
          str(
            'Watchdog device the agent feeds while fencing.watchdog allows it (sbd-like): only while the agent is healthy and, when it runs resources, holds its lease; so a node whose agent hangs, or that keeps resources past its lease, is reset within timing.watchdogMs. Production: "/dev/watchdog" (a hardware watchdog, or the softdog module: NixOS services.tsha.softdog loads it with soft_margin = timing.watchdogMs / 1000). The device\'s timeout must equal timing.watchdogMs; tsha cannot set it (no ioctl from Node), it reads it from /sys/class/watchdog and refuses to start when it is longer. Do not give tsha the device systemd feeds (systemd.watchdog.runtimeTime / RuntimeWatchdogSec): only one process can hold it open. On a clean stop the agent disarms it (magic close "V") only when its node runs no resources. null: no device (then nothing resets a node whose agent hangs). `tsha agent --watchdog-device` overrides it per node.',
            { pattern: /^\/[^\0]*$/, patternText: 'an absolute path, e.g. "/dev/watchdog"' },
          ),
          'null (no device)',
        ),
        devices: map(
          obj(
            {
              agent: str('Fence agent executable (fence-agents), e.g. fence_ipmilan, fence_redfish.', {
                pattern: /^fence_[A-Za-z0-9_-]+$/,
                patternText: 'a fence agent name starting with "fence_"',
              }),
              parameters: stringMap(
                'key=value arguments given to the agent on stdin, e.g. ip, username, lanplus. The file is world-readable in the Nix store: give fence-agents passwd_script (a command that prints the password) rather than password. action, plug and port are refused: tsha sets action, and the plug (port) of each node comes from hostMap.',
                { default: {} },
              ),
              hosts: list(str('Node name.'), 'Nodes this device can fence.', { minItems: 1 }),
              hostMap: stringMap(
                'Each node\'s plug (port, outlet, VM name, BMC slot) on this device, as Pacemaker\'s pcmk_host_map: the agent gets plug=<value>. Empty: the plug is the node name. When not empty, it must give a plug for every node in hosts, and name only nodes.',
                { default: {} },
              ),
              unfence: bool(
                'Fabric fencing (fence_scsi, fence_mpath, …) that cuts a node off its storage instead of powering it off (Pacemaker: provides=unfencing). Every node in hosts is unfenced when it joins, at first and each time it comes back after it was down: the coordinator runs action=on for it on this device, and the node takes no resources until that succeeded (recorded in the fence history).',
                { default: false },
              ),
              timeoutMs: ms('The fence action fails when the agent takes longer.', 1000, 600_000, DEFAULT_FENCE_TIMEOUT_MS),
            },
            'A fence device.',
          ),
          'Fence devices by id.',
          { keyName: 'device id', keyPattern: ID, keyPatternText: ID_TEXT, default: {} },
        ),
        levels: map(list(list(str('Device id.'), 'One level: it succeeds when every device in it confirms.', { minItems: 1 }), 'Levels tried in order.', { minItems: 1 }), 'Fencing topology by node: levels tried in order. A node without levels is fenced by any device that lists it in hosts.', {
          keyName: 'node name',
          default: {},
        }),
      },
      'Fencing: how a lost node is made safe before its resources start elsewhere.',
      { defaultsWhenAbsent: true },
    ),
    resourceDefaults,
    resources: map(primitive, 'Primitive resources by id.', { keyName: 'resource id', keyPattern: ID, keyPatternText: ID_TEXT, default: {} }),
    groups: map(group, 'Groups by id (ids shared with resources and clones).', { keyName: 'group id', keyPattern: ID, keyPatternText: ID_TEXT, default: {} }),
    clones: map(clone, 'Clones and promotable clones by id (ids shared with resources and groups).', {
      keyName: 'clone id',
      keyPattern: ID,
      keyPatternText: ID_TEXT,
      default: {},
    }),
    maintenanceMode: bool('Cluster-wide maintenance: nothing is started, stopped or monitored.', { default: false }),
  },
  'The tsha cluster configuration.',
);

/** The configuration after the structural stage: every default applied, every type checked. */
export type RawConfig = SpecType<typeof rawConfigSpec>;
export type RawPrimitive = SpecType<typeof primitive>;
export type RawGroup = SpecType<typeof group>;
export type RawClone = SpecType<typeof clone>;
export type RawOperation = SpecType<typeof operation>;
export type RawMeta = SpecType<typeof metaOverrides>;
export type RawLocation = SpecType<typeof location>;
export type RawColocation = SpecType<typeof colocation>;
export type RawOrder = SpecType<typeof order>;

// Compile-time check that the table's inferred type is what we think it is.
type _AssertTiming = RawConfig['timing']['leaseMs'] extends number ? true : never;
const _timingOk: _AssertTiming = true;
void _timingOk;
