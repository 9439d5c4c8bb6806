// Loads the wire contracts in proto/ with protobufjs reflection and turns them into codecs and gRPC
// service definitions. No generated code: the .proto files are the single source, read at start.
// The control contract is encoded here; the mesh envelope by its own codec (mesh-envelope.ts), which
// the tests hold to what protobufjs makes of mesh.proto.
//
// TypeScript shape of a decoded message (the interfaces in src/ports/mesh-messages.ts and
// src/ports/control.ts are written to match it, and test/unit/proto-roundtrip.test.ts keeps them
// matched for every message):
// - field names in camelCase (`cluster_id` → `clusterId`), every scalar present with its default;
// - 64-bit integers as `number` (terms, indexes and milliseconds stay far below 2^53);
// - bytes as Uint8Array (a Buffer under Node);
// - enums as the camelCase suffix of the value name (`FENCE_ACTION_REBOOT` → 'reboot',
//   `ACTION_STATUS_ERROR_HARD` → 'errorHard'); the UNSPECIFIED zero value and unknown numbers are
//   refused, on encode and on decode, so a message missing a required enum is malformed;
// - an unset sub-message as null; a oneof as a discriminant property holding the name of the set
//   field (`body: 'appendEntries'`) next to that field.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';

export const MESH_PACKAGE = 'tsha.mesh.v1';
export const CONTROL_PACKAGE = 'tsha.control.v1';

/** the .proto files, relative to the proto directory */
export const PROTO_FILES = ['tsha/mesh/v1/mesh.proto', 'tsha/control/v1/control.proto'] as const;

/** Raised when bytes cannot be decoded into a valid message; carries the type and the field path. */
export class ProtoDecodeError extends Error {
  constructor(
    readonly typeName: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${typeName}${path ? `.${path}` : ''}: ${reason}`);
    this.name = 'ProtoDecodeError';
  }
}

/** Raised when a value cannot be encoded: a bug in the caller, named by type and field path. */
export class ProtoEncodeError extends Error {
  constructor(
    readonly typeName: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${typeName}${path ? `.${path}` : ''}: ${reason}`);
    this.name = 'ProtoEncodeError';
  }
}

/**
 * The proto/ directory of this package, found by walking up from this file to the package root
 * (the folder holding tsha's package.json). Works from src/ under vitest/tsx and from dist/src/
 * after `npm run build`, and in an installed package (proto/ is in package.json "files").
 */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'proto'))) {
      const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
      if (name === 'tsha') return join(dir, 'proto');
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`proto directory not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

let cachedRoot: protobuf.Root | null = null;

/** The loaded, resolved reflection root holding every package in proto/ (loaded once). */
export function protoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const base = protoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(base, target));
  root.loadSync([...PROTO_FILES], { keepCase: false });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

// ---- enum names ↔ TypeScript strings ----

function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function camel(snake: string): string {
  return snake.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Enum values whose TypeScript spelling is not the camelCase of their name: the quorum mode is
 * spelled as corosync and the configuration write it (`two_node`), the one spelling in tsha.
 */
const SPELLED: Record<string, string> = { 'tsha.control.v1.QuorumMode.QUORUM_MODE_TWO_NODE': 'two_node' };

interface EnumMap {
  toTs: Map<number, string>;
  toWire: Map<string, number>;
}

const enumMaps = new WeakMap<protobuf.Enum, EnumMap>();

/** 'FENCE_ACTION_REBOOT' of enum FenceAction ↔ 'reboot'; the zero (UNSPECIFIED) value is left out. */
export function enumMap(e: protobuf.Enum): EnumMap {
  const cached = enumMaps.get(e);
  if (cached) return cached;
  const prefix = `${upperSnake(e.name)}_`;
  const map: EnumMap = { toTs: new Map(), toWire: new Map() };
  for (const [name, num] of Object.entries(e.values)) {
    if (num === 0) continue;
    if (!name.startsWith(prefix)) throw new Error(`enum ${e.fullName}: value ${name} lacks the prefix ${prefix}`);
    const ts = SPELLED[`${e.fullName.replace(/^\./, '')}.${name}`] ?? camel(name.slice(prefix.length));
    map.toTs.set(num, ts);
    map.toWire.set(ts, num);
  }
  enumMaps.set(e, map);
  return map;
}

// ---- conversion between protobufjs plain objects and the TypeScript shape ----

type Plain = Record<string, unknown>;

function join2(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

function convertValue(
  field: protobuf.Field,
  value: unknown,
  path: string,
  dir: 'toTs' | 'toWire',
  fail: (path: string, reason: string) => never,
): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) {
    const m = enumMap(rt);
    if (dir === 'toTs') {
      const s = typeof value === 'number' ? m.toTs.get(value) : undefined;
      if (s === undefined) fail(path, `${rt.name} value ${String(value)} is unspecified or unknown`);
      return s;
    }
    const n = typeof value === 'string' ? m.toWire.get(value) : undefined;
    if (n === undefined) {
      fail(path, `expected one of ${[...m.toWire.keys()].map((k) => `'${k}'`).join(', ')}, got ${JSON.stringify(value)}`);
    }
    return n;
  }
  if (rt instanceof protobuf.Type) {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'object' || Array.isArray(value)) fail(path, `expected a ${rt.name} object`);
    return convertMessage(rt, value as Plain, path, dir, fail);
  }
  return value;
}

function convertMessage(
  type: protobuf.Type,
  obj: Plain,
  path: string,
  dir: 'toTs' | 'toWire',
  fail: (path: string, reason: string) => never,
): Plain {
  const out: Plain = { ...obj };
  for (const field of type.fieldsArray) {
    const value = obj[field.name];
    // most fields are absent (oneof bodies) or scalars: no path string for them (the mesh encodes
    // and decodes an envelope per heartbeat, on code too cold to be optimized)
    if (value === undefined || value === null) {
      if (dir === 'toWire' && field.partOf === null && field.resolvedType instanceof protobuf.Enum && !field.repeated && !field.map) {
        fail(join2(path, field.name), 'missing');
      }
      continue;
    }
    if (!field.resolvedType) continue;
    const p = join2(path, field.name);
    if (field.map) {
      if (typeof value !== 'object') fail(p, 'expected an object');
      const m: Plain = {};
      for (const [k, v] of Object.entries(value as Plain)) m[k] = convertValue(field, v, join2(p, k), dir, fail);
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(value)) fail(p, 'expected an array');
      out[field.name] = (value as unknown[]).map((v, i) => convertValue(field, v, join2(p, i), dir, fail));
    } else {
      out[field.name] = convertValue(field, value, p, dir, fail);
    }
  }
  if (dir === 'toWire') {
    // The discriminant of a oneof is informational on the TypeScript side; protobufjs infers the
    // set member from which field is present. Refuse a discriminant that disagrees.
    for (const oneof of type.oneofsArray) {
      const disc = obj[oneof.name];
      delete out[oneof.name];
      const set = oneof.oneof.filter((n) => obj[n] !== undefined && obj[n] !== null);
      if (set.length > 1) fail(join2(path, oneof.name), `more than one of ${set.join(', ')} set`);
      if (disc !== undefined && disc !== set[0]) {
        fail(join2(path, oneof.name), `discriminant '${String(disc)}' but ${set[0] ? `'${set[0]}'` : 'nothing'} is set`);
      }
    }
  }
  return out;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

/** Encodes and decodes one message type between bytes and its TypeScript shape. */
export interface Codec<T> {
  readonly type: protobuf.Type;
  /** throws ProtoEncodeError (a caller bug) for a value that does not fit the contract */
  encode(value: T): Uint8Array;
  /** throws ProtoDecodeError for malformed bytes or a message violating the contract */
  decode(bytes: Uint8Array): T;
  /** the TypeScript shape → protobufjs plain object (enums as numbers), exposed for tests */
  toWire(value: T): Plain;
}

const codecs = new Map<string, Codec<unknown>>();

/** A codec for a fully qualified message name, e.g. 'tsha.mesh.v1.Envelope'. */
export function codec<T>(typeName: string): Codec<T> {
  const cached = codecs.get(typeName);
  if (cached) return cached as Codec<T>;
  const type = protoRoot().lookupType(typeName);
  const toWire = (value: T): Plain => {
    if (typeof value !== 'object' || value === null) throw new ProtoEncodeError(typeName, '', 'expected an object');
    return convertMessage(type, value as Plain, '', 'toWire', (path, reason) => {
      throw new ProtoEncodeError(typeName, path, reason);
    });
  };
  const c: Codec<T> = {
    type,
    toWire,
    encode(value) {
      const wire = toWire(value);
      const err = type.verify(wire);
      if (err !== null) throw new ProtoEncodeError(typeName, '', err);
      // toWire already gave every field its wire form (enums as numbers, checked by verify), so
      // protobufjs encodes the plain object as it is: no fromObject copy of every message
      return type.encode(wire).finish();
    },
    decode(bytes) {
      let msg: protobuf.Message;
      try {
        msg = type.decode(bytes);
      } catch (e) {
        throw new ProtoDecodeError(typeName, '', e instanceof Error ? e.message : String(e));
      }
      const obj = type.toObject(msg, TO_OBJECT);
      return convertMessage(type, obj, '', 'toTs', (path, reason) => {
        throw new ProtoDecodeError(typeName, path, reason);
      }) as T;
    },
  };
  codecs.set(typeName, c as Codec<unknown>);
  return c;
}

/** Every message type in a package, by fully qualified name (for tests that must cover them all). */
export function messageTypes(pkg: string): protobuf.Type[] {
  const ns = protoRoot().lookup(pkg);
  if (!(ns instanceof protobuf.Namespace)) throw new Error(`no package ${pkg}`);
  const out: protobuf.Type[] = [];
  const walk = (n: protobuf.NamespaceBase): void => {
    for (const child of n.nestedArray) {
      if (child instanceof protobuf.Type) out.push(child);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) walk(child);
    }
  };
  walk(ns);
  return out;
}

const identity = (b: Buffer): Buffer => b;

/**
 * A gRPC service definition built from reflection whose requests and responses stay raw Buffers:
 * the adapters decode them with `codec()` themselves, so that malformed bytes are counted and
 * answered with INVALID_ARGUMENT instead of dying inside grpc-js's deserializer.
 */
export function rawServiceDefinition(serviceName: string): ServiceDefinition {
  const service = protoRoot().lookupService(serviceName);
  const def: Record<string, MethodDefinition<Buffer, Buffer>> = {};
  for (const method of service.methodsArray) {
    def[method.name] = {
      path: `/${service.fullName.replace(/^\./, '')}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
      originalName: method.name,
    };
  }
  return def;
}
