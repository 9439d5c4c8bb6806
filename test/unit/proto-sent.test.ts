// Every message and every field of mesh.proto is something an agent sends: the contract declares
// nothing that only a fixture keeps alive. The cores of simulated clusters (test/sim, the real
// src/core) run scenarios that between them send every kind of message; each message they send goes
// through the runtime's mapping (src/runtime/wire.ts) and the agent's codec, as an agent sends it,
// and the bytes are read back with protobufjs reflection over mesh.proto. Every message type must be
// met, every oneof body, and every field with a value other than its default (a field that is
// always zero is not sent either). A message, body or field added to mesh.proto without a sender
// fails here; so does one whose last sender goes away.
import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { envelopeCodec } from '../../src/adapters/grpc/mesh-envelope.js';
import { MESH_PACKAGE, messageTypes, protoRoot } from '../../src/adapters/grpc/proto.js';
import type { Message } from '../../src/core/cluster/messages.js';
import { MESH_TYPES } from '../../src/ports/mesh-messages.js';
import { toOutbound } from '../../src/runtime/wire.js';
import { runScenario } from '../sim/run.js';
import { findScenario } from '../sim/scenarios.js';

/** scenarios whose messages between them reach every field: two_node's peer inclusion, monitor and action failures, promotion, operator commands forwarded to the coordinator, a lagging node's snapshot */
const SCENARIOS = ['two-node-wait-for-all', 'resource-failures', 'start-failures', 'promotable-primary-crash', 'drbd-outdate-request', 'stale-rejoin', 'add-node', 'witness-one-sided'];
const SEEDS = [1, 2, 3];

const typeName = (t: protobuf.Type): string => t.fullName.replace(/^\./, '');

/** message types met and fields seen set to a non-default value, by `Type.field` */
interface Seen {
  types: Set<string>;
  fields: Set<string>;
}

function walk(type: protobuf.Type, msg: protobuf.Message, seen: Seen): void {
  seen.types.add(typeName(type));
  const m = msg as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = m[field.name];
    if (v === undefined || v === null) continue;
    const values: unknown[] = field.repeated ? (v as unknown[]) : [v];
    if (values.length === 0) continue;
    const nonDefault = values.some((x) => (x instanceof Uint8Array ? x.length > 0 : typeof x === 'object' || (x !== 0 && x !== '' && x !== false)));
    if (field.resolvedType instanceof protobuf.Type) {
      for (const x of values) walk(field.resolvedType, x as protobuf.Message, seen);
      seen.fields.add(`${typeName(type)}.${field.name}`);
    } else if (nonDefault) {
      seen.fields.add(`${typeName(type)}.${field.name}`);
    }
  }
}

function capture(): { seen: Seen; messages: Map<Message['type'], number> } {
  const Envelope = protoRoot().lookupType(MESH_TYPES.envelope);
  const seen: Seen = { types: new Set(), fields: new Set() };
  const messages = new Map<Message['type'], number>();
  for (const name of SCENARIOS) {
    for (const seed of SEEDS) {
      runScenario(findScenario(name), seed, undefined, undefined, (sim) => {
        sim.onSend = (from, to, msg) => {
          messages.set(msg.type, (messages.get(msg.type) ?? 0) + 1);
          // stamped as the transport stamps it (its monotonic clock: never 0 after start)
          const bytes = envelopeCodec.encodeStamped({ clusterId: 'sim', from, to, sentAtMs: Math.floor(sim.now) + 1 }, toOutbound(msg));
          walk(Envelope, Envelope.decode(bytes), seen);
        };
      });
    }
  }
  return { seen, messages };
}

describe('mesh.proto declares only what agents send', () => {
  const { seen, messages } = capture();

  it('the scenarios send every message type of the core', () => {
    expect([...messages.keys()].sort()).toEqual(['AppendEntries', 'AppendEntriesResponse', 'InstallSnapshot', 'PreVoteRequest', 'PreVoteResponse', 'Propose', 'VoteRequest', 'VoteResponse']);
  });

  it('every message type of mesh.proto is sent (DeliverAck: the answer to every Mesh call)', () => {
    const service = protoRoot().lookupService('tsha.mesh.v1.Mesh');
    expect(new Set(service.methodsArray.map((m) => m.responseType))).toEqual(new Set(['DeliverAck']));
    const declared = messageTypes(MESH_PACKAGE).map(typeName).filter((n) => n !== 'tsha.mesh.v1.DeliverAck');
    expect(declared.filter((n) => !seen.types.has(n)), 'declared in mesh.proto but never sent').toEqual([]);
  });

  it('every body of the envelope is sent', () => {
    const bodies = protoRoot().lookupType(MESH_TYPES.envelope).oneofs.body!.oneof;
    expect(bodies.filter((b) => !seen.fields.has(`${MESH_TYPES.envelope}.${b}`)), 'bodies never sent').toEqual([]);
  });

  it('every field of every message is sent with a value other than its default', () => {
    const never: string[] = [];
    for (const type of messageTypes(MESH_PACKAGE)) {
      for (const field of type.fieldsArray) {
        const key = `${typeName(type)}.${field.name}`;
        if (!seen.fields.has(key)) never.push(key);
      }
    }
    expect(never, 'fields always at their default (or never sent)').toEqual([]);
  });
});
