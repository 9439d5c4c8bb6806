// What this build can carry out: the resource kinds and storage types that have a driver. The
// options table accepts every kind and storage type tsha is designed for; the rule in
// rules/drivers.ts refuses the ones marked "planned" here, so `tsha config check`, the NixOS build
// and the agent at start never accept a resource the agent cannot run. Adding a driver flips its
// entry to "built"; the daemon's driver table (src/runtime/daemon.ts) is typed by the built kinds,
// so the compiler then asks for the new driver's factory.

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

interface KindEntry extends Entry {
  /** what runs, as `tsha status` and `tsha config check` show it (Pacemaker's class:provider:type) */
  agent: (params: Record<string, string>, id: string) => string;
}

export const KIND_DRIVERS = {
  systemd: { driver: 'built', label: 'systemd units', agent: (p, id) => `systemd:${p.unit ?? id}` },
  exec: { driver: 'built', label: 'shell commands', agent: (_, id) => `exec:${id}` },
  ip: { driver: 'built', label: 'virtual IP addresses', agent: (p) => virtualIpLabel(p) },
  lxc: { driver: 'built', label: 'LXC containers', agent: (p, id) => `lxc:${p.name ?? id}` },
  microvm: { driver: 'built', label: 'microVMs', liveMigration: 'planned', agent: (p, id) => `microvm:${p.name ?? id}` },
  ocf: { driver: 'built', label: 'OCF resource agents', liveMigration: 'planned', agent: (p) => ocfLabel(p.agent) },
} as const satisfies Record<ResourceKind, KindEntry>;

export const STORAGE_DRIVERS = {
  drbd: { driver: 'planned', label: 'DRBD' },
  rbd: { driver: 'planned', label: 'Ceph RBD' },
} as const satisfies Record<StorageType, Entry>;

type Kinds = typeof KIND_DRIVERS;
/** The kinds this build runs: the daemon's driver table is keyed by exactly these. */
export type BuiltKind = { [K in keyof Kinds]: Kinds[K]['driver'] extends 'built' ? K : never }[keyof Kinds];

/** What a primitive runs, as `tsha status` and `tsha config check` show it: `systemd:nginx.service`, `ocf:heartbeat:IPaddr2`. */
export function agentLabel(r: Pick<PrimitiveResource, 'id' | 'kind' | 'params'>): string {
  const entry: KindEntry = KIND_DRIVERS[r.kind];
  return entry.agent(r.params, r.id);
}

export function kindHasDriver(kind: ResourceKind): kind is BuiltKind {
  const entry: Entry = KIND_DRIVERS[kind];
  return entry.driver === 'built';
}

export function storageHasDriver(type: StorageType): boolean {
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

