// JSON Schema (draft 2020-12) of a control message as `tsha status --output json` and the other
// `--output json` commands print it: derived from the .proto reflection, with the TypeScript shape
// rules of proto.ts (camelCase fields, every scalar present, 64-bit integers as numbers, enums as
// their camelCase names, an unset sub-message as null, maps as objects). docs/status.schema.json is
// this for ClusterStatus (scripts/gen-status-schema.ts writes it; a test keeps it up to date).

import protobuf from 'protobufjs';
import { enumMap, protoRoot } from './proto.js';

type Schema = Record<string, unknown>;

const INTEGER = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function scalar(type: string): Schema {
  if (INTEGER.has(type)) return { type: 'integer' };
  if (type === 'double' || type === 'float') return { type: 'number' };
  if (type === 'bool') return { type: 'boolean' };
  if (type === 'string') return { type: 'string' };
  if (type === 'bytes') return { type: 'string', contentEncoding: 'base64' };
  throw new Error(`json-schema: no JSON type for the protobuf type ${type}`);
}

/** The schema of one message type with every message it uses in $defs. */
export function messageJsonSchema(typeName: string, title: string): Schema {
  const root = protoRoot();
  const defs: Record<string, Schema> = {};
  const ref = (t: protobuf.Type): Schema => {
    const name = t.name;
    if (!defs[name]) {
      defs[name] = {}; // placeholder against cycles
      defs[name] = objectOf(t);
    }
    return { $ref: `#/$defs/${name}` };
  };
  const valueOf = (f: protobuf.Field): Schema => {
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Enum) return { type: 'string', enum: [...enumMap(rt).toWire.keys()] };
    if (rt instanceof protobuf.Type) return ref(rt);
    return scalar(f.type);
  };
  const objectOf = (t: protobuf.Type): Schema => {
    const properties: Record<string, Schema> = {};
    for (const f of t.fieldsArray) {
      f.resolve();
      let s: Schema;
      if (f instanceof protobuf.MapField) s = { type: 'object', additionalProperties: valueOf(f) };
      else if (f.repeated) s = { type: 'array', items: valueOf(f) };
      else if (f.resolvedType instanceof protobuf.Type) s = { anyOf: [valueOf(f), { type: 'null' }] };
      else s = valueOf(f);
      const doc = f.comment?.trim();
      properties[f.name] = doc ? { description: doc.replace(/\s+/g, ' '), ...s } : s;
    }
    return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
  };
  const top = root.lookupType(typeName);
  const body = objectOf(top);
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title, ...body, $defs: defs };
}

/** docs/status.schema.json: `tsha status --output json`. */
export function statusJsonSchema(): Schema {
  return messageJsonSchema('tsha.control.v1.ClusterStatus', 'tsha status --output json (tsha.control.v1.ClusterStatus)');
}
