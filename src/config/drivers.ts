// The resource kinds and storage types, one entry each: what the kind runs (its label in docs and
// option texts), the params it takes, how `tsha status` and `tsha config check` show a resource of
// it, whether this build has its driver and whether it can live-migrate. The options, the checks,
// the generated docs and the status views read this table. The rule in rules/drivers.ts refuses
// what is marked "planned", so `tsha config check`, the NixOS build and the agent at start never
// accept a resource the agent cannot run. Adding a driver flips its entry to "built"; the daemon's
// driver table (src/runtime/daemon.ts) is typed by the built kinds, so the compiler then asks for
// the new driver's factory.

import { virtualIpLabel } from './ip-address.js';
import { ocfLabel } from './ocf.js';
import type { PrimitiveResource, ResourceKind, StorageSpec } from './types.js';

export type DriverState = 'built' | 'planned';
type StorageType = StorageSpec['type'];

interface Entry {
  driver: DriverState;
  /** what the kind runs, for the docs: "systemd units" */
  label: string;
  /**
   * live migration of a running resource (migrate_to, migrate_from): "built" when the driver and
   * the plan's execution carry it out, "planned" when the kind can migrate by design but this
   * build cannot yet (meta.allowMigrate is refused for it)
   */
  liveMigration?: DriverState;
  /** how to run such a resource with this build's drivers, said when one is refused */
  meanwhile?: string;
}

/** What a resource kind takes in params; an `extra` kind passes other keys on as agent parameters. */
interface KindParams {
  readonly required: readonly string[];
  readonly optional: readonly string[];
  readonly extra: boolean;
  /** for the docs, the options' description and config errors */
  readonly doc: string;
}

interface KindEntry extends Entry {
  params: KindParams;
  /** what runs, as `tsha status` and `tsha config check` show it (Pacemaker's class:provider:type) */
  agent: (params: Record<string, string>, id: string) => string;
}

export const KIND_DRIVERS = {
  systemd: {
    driver: 'built', label: 'systemd units', agent: (p, id) => `systemd:${p.unit ?? id}`,
    params: { required: ['unit'], optional: [], extra: false, doc: 'unit: a unit name ending in .service, .socket, .target, .mount, .automount, .swap, .timer or .path' },
  },
  exec: {
    driver: 'built', label: 'shell commands', agent: (_, id) => `exec:${id}`,
    params: { required: ['start', 'stop', 'monitor'], optional: ['promote', 'demote'], extra: false, doc: 'start, stop, monitor: shell commands; monitor exits 0 when running, 7 when stopped (OCF codes)' },
  },
  ip: {
    driver: 'built', label: 'virtual IP addresses', agent: (p) => virtualIpLabel(p),
    params: { required: ['address', 'interface'], optional: ['arpCount'], extra: false, doc: 'address: the virtual IP with its prefix length ("192.0.2.10/24", "2001:db8::10/64"); interface: the network interface it is added to, the same name on every node; arpCount: gratuitous ARPs sent after the start, one a second (default 5, 0 sends none; IPv4 only)' },
  },
  lxc: {
    driver: 'built', label: 'LXC containers', agent: (p, id) => `lxc:${p.name ?? id}`,
    params: {
      required: ['name'],
      optional: ['configPath', 'healthCommand'],
      extra: false,
      doc: 'name: the container name; configPath: LXC\'s lxcpath, an absolute path (optional, default /var/lib/lxc); healthCommand: a shell command run inside the running container by every monitor (lxc-attach), healthy when it exits 0 (optional)',
    },
  },
  microvm: {
    driver: 'built', label: 'microVMs', liveMigration: 'planned', agent: (p, id) => `microvm:${p.name ?? id}`,
    params: {
      required: ['name'],
      optional: ['readyTcp', 'readyCommand'],
      extra: false,
      doc:
        'name: the microvm.nix VM name (run as microvm@<name>.service); readyTcp: "host:port" of the guest that accepts a TCP connection once it is up, ' +
        'e.g. its SSH port on the tap network (optional); readyCommand: a shell command on the host that exits 0 once the guest is up (optional). ' +
        'With either, start waits until the guest is ready and each monitor checks it again',
    },
  },
  ocf: {
    driver: 'built', label: 'OCF resource agents', liveMigration: 'planned', agent: (p) => ocfLabel(p.agent),
    params: {
      required: ['agent'],
      optional: [],
      extra: true,
      doc: 'agent: "provider:type", e.g. "heartbeat:IPaddr2" (the script <OCF_ROOT>/resource.d/heartbeat/IPaddr2, shown as ocf:heartbeat:IPaddr2); every other key is an agent parameter, passed as OCF_RESKEY_<key>',
    },
  },
} as const satisfies Record<ResourceKind, KindEntry>;

export const STORAGE_DRIVERS = {
  drbd: { driver: 'built', label: 'DRBD' },
  rbd: { driver: 'built', label: 'Ceph RBD' },
} as const satisfies Record<StorageType, Entry>;

type Kinds = typeof KIND_DRIVERS;
/** The kinds this build runs: the daemon's driver table is keyed by exactly these. */
export type BuiltKind = { [K in keyof Kinds]: Kinds[K]['driver'] extends 'built' ? K : never }[keyof Kinds];

/** Each kind's params (the kind table's), for the options, the checks and the docs. */
export const KIND_PARAMS = Object.fromEntries(Object.entries(KIND_DRIVERS).map(([k, e]) => [k, e.params])) as { [K in keyof typeof KIND_DRIVERS]: (typeof KIND_DRIVERS)[K]['params'] };

/** What a primitive runs, as `tsha status` and `tsha config check` show it: `systemd:nginx.service`, `ocf:heartbeat:IPaddr2`. */
export function agentLabel(r: Pick<PrimitiveResource, 'id' | 'kind' | 'params'>): string {
  const entry: KindEntry = KIND_DRIVERS[r.kind];
  return entry.agent(r.params, r.id);
}

type Storages = typeof STORAGE_DRIVERS;
/** The storage types this build takes over: the daemon's storage driver table is keyed by exactly these. */
export type BuiltStorage = { [K in keyof Storages]: Storages[K]['driver'] extends 'built' ? K : never }[keyof Storages];

export function kindHasDriver(kind: ResourceKind): kind is BuiltKind {
  const entry: Entry = KIND_DRIVERS[kind];
  return entry.driver === 'built';
}

export function storageHasDriver(type: StorageType): type is BuiltStorage {
  const entry: Entry = STORAGE_DRIVERS[type];
  return entry.driver === 'built';
}

/** The kind's resources live-migrate in this build (the driver runs and carries out migrate_to/migrate_from). */
export function kindMigrates(kind: ResourceKind): boolean {
  const entry: Entry = KIND_DRIVERS[kind];
  return entry.driver === 'built' && entry.liveMigration === 'built';
}

/** The kind is designed to live-migrate, but this build cannot yet. */
export function kindMigrationPlanned(kind: ResourceKind): boolean {
  const entry: Entry = KIND_DRIVERS[kind];
  return entry.liveMigration !== undefined && !kindMigrates(kind);
}

export const BUILT_KINDS = (Object.keys(KIND_DRIVERS) as ResourceKind[]).filter(kindHasDriver);
export const PLANNED_KINDS = (Object.keys(KIND_DRIVERS) as ResourceKind[]).filter((k) => !kindHasDriver(k));
export const MIGRATING_KINDS = (Object.keys(KIND_DRIVERS) as ResourceKind[]).filter(kindMigrates);
export const MIGRATION_PLANNED_KINDS = (Object.keys(KIND_DRIVERS) as ResourceKind[]).filter(kindMigrationPlanned);
export const BUILT_STORAGE = (Object.keys(STORAGE_DRIVERS) as StorageType[]).filter(storageHasDriver);
export const PLANNED_STORAGE = (Object.keys(STORAGE_DRIVERS) as StorageType[]).filter((t) => !storageHasDriver(t));

/** "a", "a and b", "a, b and c" */
export function listWords(words: readonly string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

const are = (n: number) => (n === 1 ? 'is' : 'are');
export const storageLabels = (types: readonly StorageType[]) => types.map((t) => STORAGE_DRIVERS[t].label);
/** "systemd units (`systemd`) and shell commands (`exec`)" */
export const kindLabels = (kinds: readonly ResourceKind[]) => listWords(kinds.map((k) => `${KIND_DRIVERS[k].label} (${k})`));

/** Why a resource of this kind is refused (a kind with a driver never is). */
export function kindNotBuilt(kind: ResourceKind): string {
  const entry: Entry = KIND_DRIVERS[kind];
  const planned = PLANNED_KINDS.length > 0 ? ` (${listWords(PLANNED_KINDS)} ${are(PLANNED_KINDS.length)} planned)` : '';
  const meanwhile = entry.meanwhile ? `; ${entry.meanwhile}` : '';
  return `${JSON.stringify(kind)} resources cannot run yet: this build has drivers for ${listWords(BUILT_KINDS)} resources only${planned}${meanwhile}`;
}

/** Which resources may set meta.allowMigrate, for docs and errors: "no resource of this build (planned: microvm and ocf)". */
export function migrationText(): string {
  const planned = MIGRATION_PLANNED_KINDS.length > 0 ? `live migration of ${listWords(MIGRATION_PLANNED_KINDS)} resources is planned` : '';
  if (MIGRATING_KINDS.length === 0) return `no resource of this build can live-migrate${planned ? ` (${planned})` : ''}`;
  return `only ${listWords(MIGRATING_KINDS)} resources can live-migrate${planned ? ` (${planned})` : ''}`;
}

/** Why a resource that holds storage of this type is refused. */
export function storageNotBuilt(type: StorageType): string {
  const what = `${STORAGE_DRIVERS[type].label} storage cannot be taken over yet`;
  if (BUILT_STORAGE.length === 0) return `${what}: storage takeover (${storageLabels(PLANNED_STORAGE).join(', ')}) is planned, not built`;
  return `${what}: this build takes over ${listWords(storageLabels(BUILT_STORAGE))} storage only (${listWords(storageLabels(PLANNED_STORAGE))} ${are(PLANNED_STORAGE.length)} planned)`;
}

