// Wire contracts: every message type in proto/ round-trips through its codec with a non-default
// value in every field, the fixtures cover every type, field and enum value the reflection tree
// holds (so a message or field added later without a fixture fails here), and values of the wrong
// type are refused by verify() and by encode().
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import protobuf from 'protobufjs';
import {
  codec, CONTROL_PACKAGE, enumMap, MESH_PACKAGE, messageTypes, ProtoDecodeError, ProtoEncodeError, protoDir,
  rawServiceDefinition,
} from '../../src/adapters/grpc/proto.js';
import { FIXTURES, SAMPLE } from './proto/fixtures.js';
import type { Envelope } from '../../src/ports/mesh-messages.js';
import { decodeJson, encodeJson, MESH_TYPES } from '../../src/ports/mesh-messages.js';

const distProto = fileURLToPath(new URL('../../dist/src/adapters/grpc/proto.js', import.meta.url));
const allTypes = [...messageTypes(MESH_PACKAGE), ...messageTypes(CONTROL_PACKAGE)];
const typeName = (t: protobuf.Type): string => t.fullName.replace(/^\./, '');

function isDefault(field: protobuf.Field, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (field.map) return Object.keys(value as object).length === 0;
  if (field.repeated) return (value as unknown[]).length === 0;
  if (value instanceof Uint8Array) return value.length === 0;
  return value === '' || value === 0 || value === false;
}

describe('proto loading', () => {
  it('finds proto/ at the package root and loads both versioned packages', () => {
    expect(protoDir()).toMatch(/\/proto$/);
    expect(messageTypes(MESH_PACKAGE).length).toBeGreaterThan(10);
    expect(messageTypes(CONTROL_PACKAGE).length).toBeGreaterThan(15);
  });

  // dist/ exists after `npm ci` (prepare runs the build), so CI always runs this one
  it.skipIf(!existsSync(distProto))('finds proto/ from the built dist/ too, whatever the working directory', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
      const m = await import(${JSON.stringify(pathToFileURL(distProto).href)});
      console.log(JSON.stringify({ dir: m.protoDir(), mesh: m.messageTypes('tsha.mesh.v1').length }));`], { cwd: '/', encoding: 'utf8' });
    const r = JSON.parse(out) as { dir: string; mesh: number };
    expect(r.dir).toBe(protoDir());
    expect(r.mesh).toBeGreaterThan(10);
  });

  it('builds gRPC service definitions for Mesh and Control from reflection', () => {
    const mesh = rawServiceDefinition('tsha.mesh.v1.Mesh');
    expect(Object.keys(mesh)).toEqual(['Stream']);
    expect(mesh.Stream?.path).toBe('/tsha.mesh.v1.Mesh/Stream');
    expect(mesh.Stream?.requestStream).toBe(true);
    const control = rawServiceDefinition('tsha.control.v1.Control');
    expect(Object.keys(control).sort()).toEqual(['DrbdFencePeer', 'FenceCheck', 'FenceCommand', 'History', 'NodeCommand', 'ResourceCommand', 'SchedulerInput', 'Status', 'Watch']);
    expect(control.Watch?.responseStream).toBe(true);
    expect(control.Status?.responseStream).toBe(false);
  });
});

describe('every message type has fixtures that set every field', () => {
  it('has a fixture entry for every message type in the reflection tree, and none for unknown types', () => {
    const loaded = allTypes.map(typeName).sort();
    expect(Object.keys(FIXTURES).sort()).toEqual(loaded);
  });

  for (const type of allTypes) {
    const name = typeName(type);
    it(`${name}: every field non-default in some fixture, every enum value used`, () => {
      const values = (FIXTURES[name] ?? []) as Record<string, unknown>[];
      expect(values.length, `fixtures for ${name}`).toBeGreaterThan(0);
      for (const field of type.fieldsArray) {
        const set = values.some((v) => !isDefault(field, v[field.name]));
        expect(set, `${name}.${field.name} is default in every fixture`).toBe(true);
        if (field.resolvedType instanceof protobuf.Enum && !field.repeated && !field.map) {
          const used = new Set(values.map((v) => v[field.name]));
          for (const ts of enumMap(field.resolvedType).toWire.keys()) {
            expect(used.has(ts), `${name}.${field.name} = '${ts}' has no fixture`).toBe(true);
          }
        }
      }
    });
  }
});

describe('round trip: encode → decode → deep equal', () => {
  for (const type of allTypes) {
    const name = typeName(type);
    it(name, () => {
      const c = codec<unknown>(name);
      for (const value of FIXTURES[name] ?? []) {
        const bytes = c.encode(value);
        expect(c.decode(bytes)).toEqual(value);
        // and once more from the decoded value: encoding is stable
        expect(Buffer.from(c.encode(c.decode(bytes)))).toEqual(Buffer.from(bytes));
      }
    });
  }
});

describe('wrong types are refused', () => {
  for (const type of allTypes) {
    const name = typeName(type);
    if (type.fieldsArray.length === 0) continue;
    it(`${name}: verify() and encode() refuse a wrong-typed value in each field`, () => {
      const c = codec<Record<string, unknown>>(name);
      const fixture = (FIXTURES[name] ?? [])[0] as Record<string, unknown>;
      for (const field of type.fieldsArray) {
        const wrong: unknown =
          field.map || field.repeated ? 'not a list'
          : field.resolvedType instanceof protobuf.Type ? 'not a message'
          : field.resolvedType instanceof protobuf.Enum ? 'not-a-value'
          : field.type === 'string' ? 42
          : field.type === 'bool' ? 'yes'
          : field.type === 'bytes' ? 42
          : 'not a number';
        // verify() on the protobufjs plain object (enums as numbers there)
        const wire = { ...c.toWire(fixture), [field.name]: wrong };
        // a oneof member is refused as a second member too; drop the fixture's set member first
        if (field.partOf) for (const other of field.partOf.oneof) if (other !== field.name) delete wire[other];
        expect(type.verify(wire), `${name}.${field.name} = ${JSON.stringify(wrong)}`).not.toBeNull();
        // encode() of the TypeScript shape
        const ts: Record<string, unknown> = { ...fixture, [field.name]: wrong };
        if (field.partOf) {
          for (const other of field.partOf.oneof) if (other !== field.name) delete ts[other];
          ts[field.partOf.name] = field.name;
        }
        expect(() => c.encode(ts), `${name}.${field.name}`).toThrow(ProtoEncodeError);
      }
    });
  }
});

describe('codec edge cases', () => {
  const env = codec<Envelope>(MESH_TYPES.envelope);

  it('refuses an unspecified enum when encoding, naming the field path', () => {
    const entries = [{ term: 1, index: 1, data: new Uint8Array(0), kind: 'boss' }];
    const bad = { ...SAMPLE.header, body: 'appendEntries', appendEntries: { ...SAMPLE.appendEntries, entries } } as unknown as Envelope;
    expect(() => env.encode(bad)).toThrow(/Envelope\.appendEntries\.entries\[0\]\.kind: expected one of 'normal'/);
  });

  it('refuses two oneof members, and a discriminant that names an unset member', () => {
    const two = { ...SAMPLE.header, body: 'voteRequest', voteRequest: SAMPLE.voteRequest, appendEntries: SAMPLE.appendEntries };
    expect(() => env.encode(two as unknown as Envelope)).toThrow(/more than one of voteRequest, appendEntries/);
    const lying = { ...SAMPLE.header, body: 'preVoteRequest', voteRequest: SAMPLE.voteRequest };
    expect(() => env.encode(lying as unknown as Envelope)).toThrow(/discriminant 'preVoteRequest'/);
  });

  it('decodes garbage bytes into a ProtoDecodeError, never anything else', () => {
    expect(() => env.decode(Buffer.from([0xff, 0xff, 0xff]))).toThrow(ProtoDecodeError);
    // a truncated valid message
    const full = env.encode({ ...SAMPLE.header, body: 'voteRequest', voteRequest: SAMPLE.voteRequest });
    expect(() => env.decode(full.subarray(0, full.length - 3))).toThrow(ProtoDecodeError);
  });

  it('decodes a message whose enum is unspecified (a peer that left it out) as malformed', () => {
    const Env = env.type;
    const bytes = Env.encode(Env.fromObject({ clusterId: 'x', from: 'a', appendEntries: { entries: [{ term: 1 }] } })).finish();
    expect(() => env.decode(bytes)).toThrow(/Envelope\.appendEntries\.entries\[0\]\.kind: EntryKind value 0 is unspecified/);
  });

  it('keeps 64-bit values up to 2^53 exact', () => {
    const e: Envelope = { ...SAMPLE.header, term: Number.MAX_SAFE_INTEGER, body: 'voteRequest', voteRequest: SAMPLE.voteRequest };
    expect(env.decode(env.encode(e)).term).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('carries opaque JSON payloads byte for byte', () => {
    const payload = { op: 'ban', resource: 'web', node: 'b', nested: [1, 'two', null] };
    expect(decodeJson(encodeJson(payload))).toEqual(payload);
  });
});
