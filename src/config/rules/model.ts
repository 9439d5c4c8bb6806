// What every rule shares: the structurally checked sections, every declared name (valid entry or
// not), who contains whom, and the helpers that resolve references.

import { type CheckContext, type Invalid, INVALID } from '../spec.js';
import { didYouMean } from '../issues.js';
import type { RawClone, RawConfig, RawGroup, RawPrimitive } from '../options.js';
import type { QuorumDerivation } from '../quorum-mode.js';

export type Sections = { [K in keyof RawConfig]: RawConfig[K] | Invalid };
export type Owner = { type: 'group' | 'clone'; id: string };
export type Declared = RawPrimitive | RawGroup | RawClone;

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

export const valid = <T>(v: T | Invalid): v is T => v !== INVALID;

export function buildModel(s: Sections, ctx: CheckContext): Model {
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
  return m;
}

/** Check a reference to a node; false (and an error) when no node has that name. */
export function refNode(m: Model, name: string, path: string): boolean {
  if (m.nodeNames.has(name) || !m.namesComplete) return true;
  m.ctx.error(path, `no node named ${JSON.stringify(name)}${didYouMean(name, m.nodeNames)}`);
  return false;
}

/** The clone a resource runs in (directly, or as a member of a cloned group), if any. */
export function cloneOf(m: Model, id: string): string | null {
  const o = m.owner.get(id);
  if (!o) return null;
  if (o.type === 'clone') return o.id;
  return cloneOf(m, o.id);
}

export function isPromotableClone(m: Model, id: string): boolean {
  return valid(m.s.clones) && Object.hasOwn(m.s.clones, id) && m.s.clones[id]!.promotable === true;
}

export function inPromotableClone(m: Model, id: string): boolean {
  const c = cloneOf(m, id);
  return c !== null && isPromotableClone(m, c);
}

export function describeId(m: Model, id: string): 'resource' | 'group' | 'clone' | null {
  if (m.resourceIds.has(id)) return 'resource';
  if (m.groupIds.has(id)) return 'group';
  if (m.cloneIds.has(id)) return 'clone';
  return null;
}

/** Check a reference to a resource, group or clone that may be constrained. */
export function refResource(m: Model, id: string, path: string): boolean {
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

/** Every resource, group and clone that passed the structural check, with its section. */
export function declared(m: Model): [string, string, Declared][] {
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

export const known = (m: Model, id: string) => describeId(m, id) !== null;
