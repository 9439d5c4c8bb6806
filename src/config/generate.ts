// Generators fed by the options table: docs/configuration.md and nixos-module/generated-options.nix.
// `npm run docs:config` writes both; test/unit/config/generated.test.ts fails when either file
// on disk differs from what the table gives, so they cannot drift from the code.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AnySpec } from './spec.js';
import { DEFAULT_MONITOR_INTERVAL_MS, DEFAULT_OPERATION_TIMEOUT_MS, KIND_PARAMS, rawConfigSpec } from './options.js';
import { BUILT_KINDS, kindHasDriver, KIND_DRIVERS, listWords, migrationText, PLANNED_KINDS, PLANNED_STORAGE, storageHasDriver, storageLabels, STORAGE_DRIVERS } from './drivers.js';
import { listOptions } from './option-list.js';
import { INFINITY } from './types.js';

// ---------------------------------------------------------------------------------------------
// docs/configuration.md

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function configurationMarkdown(): string {
  const out: string[] = [];
  out.push(`<!-- Generated from src/config/options.ts by \`npm run docs:config\`. Do not edit by hand. -->

# Configuration reference

tsha reads one JSON file, the same on every node. The NixOS module writes it from
\`services.tsha.*\` (nixos-module/), so Nix users write the same options as Nix attribute sets.
Each agent learns which node it is from its command line (\`--node\`, \`services.tsha.nodeName\`).

Check a file with \`tsha config check FILE\` (also run by the NixOS module at build time, and by
the agent at start): it exits 0 with a summary, or 1 with every error at once, one per line as
\`path: reason\`, e.g. \`resources.web.colocation[0].with: no resource named "db"\`.
Unknown keys are errors (with a "did you mean" hint), so a typo never goes unnoticed.

On NixOS, import the flake's \`nixosModules.default\` and declare the cluster once, in a module
every machine imports (see examples/nixos/two-node-witness.nix):

\`\`\`nix
services.tsha = {
  enable = true;                      # the agent; nodeName defaults to networking.hostName
  cluster = { name = "home"; id = "home"; };
  nodes.alpha.address = "10.90.0.1:7400";
  nodes.beta.address = "10.90.0.2:7400";
  witness = { name = "nas"; address = "10.90.0.9:7400"; };   # the NAS sets witness.enable = true
  fencing.devices.redfish-alpha = { agent = "fence_redfish"; hosts = [ "alpha" ]; parameters.ip = "10.91.0.1"; };
  fencing.devices.redfish-beta = { agent = "fence_redfish"; hosts = [ "beta" ]; parameters.ip = "10.91.0.2"; };
  resources.home-assistant = { kind = "systemd"; params.unit = "home-assistant.service"; stateful = true; };
};
\`\`\`

The module writes the JSON to \`/etc/tsha/config.json\`, runs \`tsha config check\` on it while
building (an invalid cluster fails \`nixos-rebuild\` with every error listed), and runs
\`tsha-agent.service\` (or \`tsha-witness.service\`). A switch that changes only the configuration
reloads the daemon (SIGHUP: it applies the new file, or refuses it and keeps running); a new package
restarts it in one step, and the agent re-adopts its resources. The services the cluster runs
(\`kind = "systemd"\`, \`.service\` units) are not started at boot and not restarted or stopped by a
switch: the agent starts them. Module-only options: \`enable\`, \`package\`, \`nodeName\`, \`logLevel\`,
\`systemdWatchdogSec\`, \`softdog\` (loads softdog with \`soft_margin = timing.watchdogMs / 1000\`; \`fencing.watchdogDevice\` defaults to /dev/watchdog), \`controlSocketGroup\`, \`metricsAddress\`, \`openFirewall\`, \`witness.enable\`,
\`selfFence\` (default \`sysrq-reboot\`: a real reset), \`fenceAgentsPackage\` (default \`pkgs.fence-agents\`, on the agent's PATH),
\`fenceCredentials\` (secrets by systemd's \`LoadCredential=\`, never in the store: \`parameters.passwd_script = "cat $CREDENTIALS_DIRECTORY/NAME"\`),
\`meshInterface\` and \`wireguard.{enable,listenPort,privateKeyFile,endpoints,persistentKeepalive}\` (the mesh's WireGuard
interface made from the node table, every other member a peer; the mesh port opened on that interface only),
\`prometheusRules\` (tsha's alert rules in this machine's Prometheus). What each does: [nixos.md](nixos.md).

Conventions:

- Nodes, resources, groups, clones and fence devices are attribute sets keyed by name. Resources,
  groups, clones and fence devices share one id space.
- Constraints (location, colocation, order) are declared on the resource they constrain.
- Durations are integers in milliseconds (\`…Ms\`).
- Scores are integers in ±${INFINITY} or \`"INFINITY"\` / \`"-INFINITY"\` (Pacemaker's convention:
  ±INFINITY = ±${INFINITY}). Positive prefers, negative avoids, ±INFINITY is mandatory.
- Options shown as "unset (null)" may be left out or set to \`null\`.

## Quorum mode (derived, never configured)

| Nodes | Mode | Why |
| --- | --- | --- |
| odd total of votes | \`majority\` | a partition needs more than half of all votes |
| exactly two voting nodes (equal votes) + \`witness\` | \`witness\` | the witness (\`tsha witness\`) breaks the tie, like corosync-qnetd |
| exactly two voting nodes, no witness, fencing enabled, each node fenceable (a device lists it, or \`fencing.watchdog\`) | \`two_node\` | both keep quorum; wait-for-all at first start; \`timing.fenceRaceDelayMs\` keeps both from fencing each other |
| anything else with an even total | refused | a split into equal halves would leave no quorate side, or two |

## Rules between options

- \`timing.failureTimeoutMs\` ≥ 3 × \`timing.heartbeatIntervalMs\`: one or two late heartbeats must not mark a peer down.
- \`timing.electionTimeoutMs\` ≥ 3 × \`timing.heartbeatIntervalMs\`: a follower must not start an election between two heartbeats of a live coordinator (Raft: broadcast time ≪ election timeout).
- \`timing.leaseMs\` > \`timing.failureTimeoutMs\`: a node must notice it is cut off before its lease ends, so it applies \`noQuorumPolicy\` in time.
- \`timing.watchdogMs\` is whole seconds (Linux watchdog timeouts are set in seconds); \`timing.fenceRaceDelayMs\` > 0 in \`two_node\` mode.
- A witness only with exactly two voting nodes of equal votes; its name and address differ from every node's.
- Node addresses (and the witness's) are unique \`host:port\`; node names are DNS labels; the cluster id is lower-case letters, digits and \`-\`.
- Every reference resolves: location \`node\`, colocation \`with\`, order \`after\`/\`before\`, group \`members\`, clone \`child\`, fence device \`hosts\`, fence \`levels\` (node and devices; a level's device must list the node in its hosts).
- A resource belongs to at most one group or clone; group members are primitives; a clone's child is a primitive or group, never a clone. Constraints name the clone, never a resource inside it.
- Order constraints may not form a cycle (start/promote and stop/demote are checked separately; a symmetric order implies the reverse stop order; group members are ordered by their list, and a group or clone starts before and finishes after what it contains, so a member ordered after its own group is a cycle). Orders mixing an up and a down action (stop A then start B) are not checked. Mandatory (\`"INFINITY"\`) colocations may not form a cycle (a group goes where its first member goes, so that member colocated with its own group is one). The error names the cycle: \`a → b → c → a\`.
- A key may appear only once in an object (JSON parsers silently keep the last one).
- Fencing enabled needs a device or the watchdog, and every node must be fenceable (a device lists it, or the watchdog), or its resources could never be recovered.
- \`fencing.watchdogDevice\` needs \`fencing.enabled\` and \`fencing.watchdog\` (the device is fed by watchdog fencing's rule); \`fencing.watchdog\` without a device is a warning (nothing would reset a node whose agent hangs). The device's own timeout is checked by the agent at start (sysfs): longer than \`timing.watchdogMs\` refuses the start.
- Fencing disabled is allowed, but reported loudly as a warning, and refused for DRBD storage, for a \`stateful\` resource unless it starts after a resource holding Ceph RBD storage (whose takeover blocklists the lost node's client, so Ceph refuses its writes), and for two nodes without a witness.
- One RBD image or DRBD resource is held by one resource: a second resource naming the same storage is refused.
- A resource whose kind or storage has no driver in this build is refused, at \`resources.<id>.kind\` or \`resources.<id>.storage\`: ${driversLine()}
- \`operations.stop.onFail\` is \`fence\` or \`block\` (after a failed stop the resource may still run: the node is fenced, or the resource left alone); \`onFail = "ignore"\` is refused in a promotable clone (the failure record does not keep the role the resource failed in); \`onFail = "fence"\` needs fencing; promote/demote operations, role-specific monitors, \`role\`/\`withRole\`, promote/demote order actions and a \`promoted\`/\`unpromoted\` target role need a promotable clone (so neither role can be \`resourceDefaults.targetRole\`); \`migrateTo\`/\`migrateFrom\` need \`meta.allowMigrate\`; ${migrationText()}.
- Storage: \`drbd\` needs \`resource\` and must sit in a promotable clone; \`rbd\` needs \`pool\` and \`image\` and may not sit in a non-promotable clone. Storage implies \`stateful\`.

## Resource kinds and their params

| Kind | In this build | params |
| --- | --- | --- |`);
  for (const [kind, k] of Object.entries(KIND_PARAMS)) {
    const runs = kindHasDriver(kind as keyof typeof KIND_DRIVERS) ? 'runs' : 'planned: refused';
    out.push(`| \`${kind}\` (${KIND_DRIVERS[kind as keyof typeof KIND_DRIVERS].label}) | ${runs} | ${cell(k.doc)} |`);
  }
  out.push(`
| Storage (\`resources.<id>.storage.type\`) | In this build |
| --- | --- |`);
  for (const [type, d] of Object.entries(STORAGE_DRIVERS)) {
    out.push(`| \`${type}\` (${d.label}) | ${storageHasDriver(type as keyof typeof STORAGE_DRIVERS) ? 'runs' : 'planned: refused'} |`);
  }
  out.push(`
## Defaults that depend on other options

- Operations: every primitive has \`start\`, \`stop\` and \`monitor\` (and \`promote\`/\`demote\` inside a
  promotable clone), with timeout ${DEFAULT_OPERATION_TIMEOUT_MS} ms; the monitor runs every ${DEFAULT_MONITOR_INTERVAL_MS} ms. An ocf resource's
  operations without a timeout get the one its agent's meta-data advises, where the agent is installed
  (the agent at start and reload, \`tsha config check\`).
  \`onFail\` is \`restart\`, except for \`stop\`: \`fence\` when fencing is enabled, else \`block\` (Pacemaker's defaults).
- \`meta.*\` of a resource, group or clone: unset options come from \`resourceDefaults\`.
- \`migrationThreshold\` 0 (the default) never bans a resource for its failures; Pacemaker's default
  of INFINITY means the same in practice.
- \`clones.<id>.max\`: the number of nodes.
- \`order[].thenAction\`: the same as \`firstAction\`.

## Options
`);
  let section = '';
  for (const row of listOptions()) {
    const top = row.path.split(/[.[]/)[0]!;
    if (top !== section) {
      section = top;
      out.push(`\n### ${top}\n\n| Option | Type | Default | Description |\n| --- | --- | --- | --- |`);
    }
    out.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.doc)} |`);
  }
  return out.join('\n') + '\n';
}

/** What this build runs and what is planned, from src/config/drivers.ts. */
function driversLine(): string {
  const storage = PLANNED_STORAGE.length > 0 ? `, and storage takeover (${storageLabels(PLANNED_STORAGE).join(', ')}),` : '';
  const planned = PLANNED_KINDS.length > 0 ? `; ${listWords(PLANNED_KINDS.map((k) => `\`${k}\``))} resources${storage} are planned` : '';
  return `this build runs ${listWords(BUILT_KINDS.map((k) => `\`${k}\``))} resources${planned}.`;
}

// ---------------------------------------------------------------------------------------------
// nixos-module/generated-options.nix

/** A Nix string literal. */
export function nixString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${').replace(/\n/g, '\\n')}"`;
}

const NIX_IDENT = /^[A-Za-z_][A-Za-z0-9_'-]*$/;
const NIX_KEYWORDS = new Set(['assert', 'else', 'if', 'in', 'inherit', 'let', 'or', 'rec', 'then', 'with']);
const nixKey = (k: string) => (NIX_IDENT.test(k) && !NIX_KEYWORDS.has(k) ? k : nixString(k));

export function nixValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return nixString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length ? `[ ${v.map(nixValue).join(' ')} ]` : '[ ]';
  const entries = Object.entries(v as Record<string, unknown>);
  return entries.length ? `{ ${entries.map(([k, x]) => `${nixKey(k)} = ${nixValue(x)};`).join(' ')} }` : '{ }';
}

function nixType(spec: AnySpec, indent: string): string {
  const base = (() => {
    switch (spec.kind) {
      case 'string':
        return 'types.str';
      case 'int':
        return `types.ints.between ${spec.min} ${spec.max}`;
      case 'bool':
        return 'types.bool';
      case 'enum':
        return `types.enum ${nixValue(spec.values)}`;
      case 'score':
        return 'score';
      case 'stringMap':
        return 'types.attrsOf scalar';
      case 'list':
        return `types.listOf (${nixType(spec.of, indent)})`;
      case 'map':
        return `types.attrsOf (${nixType(spec.of, indent)})`;
      case 'object':
        return `types.submodule {\n${indent}  options = ${nixOptions(spec.fields, indent + '  ')};\n${indent}}`;
    }
  })();
  return spec.optional ? `types.nullOr (${base})` : base;
}

function nixDefault(spec: AnySpec): string | null {
  if (spec.optional) return 'null';
  if (spec.kind === 'score' && spec.default !== undefined && Math.abs(spec.default) === INFINITY) return spec.default > 0 ? '"INFINITY"' : '"-INFINITY"';
  if (spec.default !== undefined) return nixValue(spec.default);
  if (spec.kind === 'object' && spec.defaultsWhenAbsent) return '{ }';
  return null;
}

function nixDescription(spec: AnySpec): string {
  return spec.defaultText ? `${spec.doc} Default: ${spec.defaultText}.` : spec.doc;
}

function nixOption(spec: AnySpec, indent: string): string {
  const lines = [`mkOption {`, `${indent}  type = ${nixType(spec, indent + '  ')};`];
  const dflt = nixDefault(spec);
  if (dflt !== null) lines.push(`${indent}  default = ${dflt};`);
  lines.push(`${indent}  description = ${nixString(nixDescription(spec))};`, `${indent}}`);
  return lines.join('\n');
}

function nixOptions(fields: Readonly<Record<string, AnySpec>>, indent: string): string {
  const lines = ['{'];
  for (const [key, spec] of Object.entries(fields)) lines.push(`${indent}  ${nixKey(key)} = ${nixOption(spec, indent + '  ')};`);
  lines.push(`${indent}}`);
  return lines.join('\n');
}

/**
 * The options of services.tsha that mirror the JSON. Top-level objects (cluster, timing, fencing,
 * resourceDefaults) are nested option sets, so `services.tsha.timing.leaseMs` is one option;
 * the witness too, with every option nullable (all null = no witness), so that options.nix can
 * add `services.tsha.witness.enable` (run `tsha witness` on this machine) beside them.
 */
export function nixOptionsFile(): string {
  const out: string[] = [
    '# Generated from src/config/options.ts by `npm run docs:config`. Do not edit by hand:',
    '# test/unit/config/generated.test.ts fails when this file and the options table differ.',
    '{ lib }:',
    'let',
    '  inherit (lib) mkOption types;',
    '  score = types.either types.int (types.enum [ "INFINITY" "+INFINITY" "-INFINITY" ]);',
    '  scalar = types.oneOf [ types.str types.int types.bool ];',
    'in',
    '{',
    `  # the options of services.tsha written to the JSON file, in the table's order`,
    `  jsonKeys = ${nixValue(Object.keys(rawConfigSpec.fields))};`,
    '  options = {',
  ];
  for (const [key, spec] of Object.entries(rawConfigSpec.fields)) {
    if (spec.kind === 'object') {
      const nested = Object.fromEntries(Object.entries(spec.fields).map(([k, f]) => [k, spec.optional && !f.optional ? { ...f, optional: true, default: undefined } : f]));
      out.push(`    ${key} = ${nixOptions(nested as Record<string, AnySpec>, '    ')};`);
    } else out.push(`    ${key} = ${nixOption(spec, '    ')};`);
  }
  out.push('  };', '}');
  return out.join('\n') + '\n';
}

export const GENERATED_FILES = {
  'docs/configuration.md': configurationMarkdown,
  'nixos-module/generated-options.nix': nixOptionsFile,
} as const;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = new URL('../../', import.meta.url);
  for (const [file, make] of Object.entries(GENERATED_FILES)) {
    writeFileSync(new URL(file, root), make());
    process.stdout.write(`wrote ${file}\n`);
  }
}
