// A flat listing of the options table: one row per option, with the path a user writes
// (`resources.<id>.colocation[].with`), its type, default and documentation. Used by
// `tsha config options`, the help of `tsha config check`, docs/configuration.md and the test that
// keeps nixos-module/ in step with the table.

import { type AnySpec, expectedText } from './spec.js';
import { rawConfigSpec } from './options.js';
import { INFINITY } from './types.js';

export interface OptionRow {
  /** e.g. "timing.heartbeatIntervalMs", "nodes.<name>.address", "resources.<id>.location[].score" */
  path: string;
  type: string;
  /** "required", "unset", a JSON value, or how it is computed */
  default: string;
  doc: string;
  /** the spec itself, for generators */
  spec: AnySpec;
  /** true for objects, maps and lists whose items are objects: their rows follow */
  container: boolean;
}

export function typeText(spec: AnySpec): string {
  switch (spec.kind) {
    case 'string':
      return spec.patternText ? `string: ${spec.patternText}` : 'string';
    case 'int':
      return `integer${spec.unit ? ` (${spec.unit})` : ''}, ${spec.min}–${spec.max}`;
    case 'bool':
      return 'boolean';
    case 'enum':
      return spec.values.map((v) => JSON.stringify(v)).join(' | ');
    case 'score':
      return 'score: integer in ±1000000 or "INFINITY" / "-INFINITY"';
    case 'stringMap':
      return 'attribute set of strings';
    case 'list':
      return `list of ${spec.of.kind === 'object' ? 'objects' : typeText(spec.of)}${spec.of.kind === 'list' ? '' : ''}`;
    case 'map':
      return `attribute set of ${spec.of.kind === 'object' ? 'objects' : typeText(spec.of)}, keyed by ${spec.keyName}`;
    case 'object':
      return 'object';
  }
}

export function defaultText(spec: AnySpec): string {
  if (spec.defaultText) return spec.defaultText;
  if (spec.kind === 'score' && Math.abs(spec.default ?? 0) === INFINITY) return spec.default! > 0 ? '"INFINITY"' : '"-INFINITY"';
  if (spec.default !== undefined) return JSON.stringify(spec.default);
  if (spec.optional) return 'unset (null)';
  if (spec.kind === 'object' && spec.defaultsWhenAbsent) return 'defaults of its options';
  return 'required';
}

export function listOptions(root: AnySpec = rawConfigSpec): OptionRow[] {
  const rows: OptionRow[] = [];
  const walk = (spec: AnySpec, path: string) => {
    if (path !== '') {
      const container = spec.kind === 'object' || ((spec.kind === 'map' || spec.kind === 'list') && (spec.of.kind === 'object' || spec.of.kind === 'list'));
      rows.push({ path, type: typeText(spec), default: defaultText(spec), doc: spec.doc, spec, container });
    }
    if (spec.kind === 'object') {
      for (const [key, field] of Object.entries(spec.fields)) walk(field, path === '' ? key : `${path}.${key}`);
    } else if (spec.kind === 'map') {
      const key = spec.keyName.split(' ').pop()!;
      if (spec.of.kind === 'object' || spec.of.kind === 'list') walkChildren(spec.of, `${path}.<${key}>`);
    } else if (spec.kind === 'list') {
      if (spec.of.kind === 'object' || spec.of.kind === 'list') walkChildren(spec.of, `${path}[]`);
    }
  };
  // Items of maps and lists: list their fields, not the item itself (it is described by its container).
  const walkChildren = (spec: AnySpec, path: string) => {
    if (spec.kind === 'object') for (const [key, field] of Object.entries(spec.fields)) walk(field, `${path}.${key}`);
    else if (spec.kind === 'list' && (spec.of.kind === 'object' || spec.of.kind === 'list')) walkChildren(spec.of, `${path}[]`);
  };
  walk(root, '');
  return rows;
}

export { expectedText };
