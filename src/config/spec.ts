// The building blocks of the options table (options.ts): each option is a small value that knows
// its documentation, its default and how to check a raw JSON value. One table drives the
// structural validation, the defaults, the CLI listing, docs/configuration.md and the NixOS
// module's options, so they cannot drift apart.
//
// Every spec carries its TypeScript type as a phantom (`Spec<T>`), so `SpecType<typeof rawConfig>`
// is the type of a configuration that passed the structural stage with defaults applied.

import { INFINITY } from './types.js';
import { type IssueSink, didYouMean, joinPath } from './issues.js';

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

interface SpecBase<T> {
  /** one or two sentences for docs, `config options` and the NixOS option description */
  readonly doc: string;
  /** applied when the key is absent */
  readonly default?: T;
  /** absent or null → null; the value is filled in later (see defaultText) or stays unset */
  readonly optional?: boolean;
  /** how the default is computed when it depends on other options, e.g. "number of nodes" */
  readonly defaultText?: string;
  readonly example?: unknown;
  /** phantom: the checked type */
  readonly __type?: T;
}

export interface StringSpec extends SpecBase<string> {
  readonly kind: 'string';
  readonly pattern?: RegExp;
  /** what the pattern means, in words, for error messages and docs */
  readonly patternText?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
}
export interface IntSpec extends SpecBase<number> {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  readonly unit?: 'ms' | 'ppm';
}
export interface BoolSpec extends SpecBase<boolean> {
  readonly kind: 'bool';
}
export interface EnumSpec<V extends string = string> extends SpecBase<V> {
  readonly kind: 'enum';
  readonly values: readonly V[];
}
/** A Pacemaker score: an integer in ±1,000,000 or "INFINITY" / "+INFINITY" / "-INFINITY". */
export interface ScoreSpec extends SpecBase<number> {
  readonly kind: 'score';
}
/** key → string; numbers and booleans are accepted and turned into strings (Nix users write `port = 80`). */
export interface StringMapSpec extends SpecBase<Record<string, string>> {
  readonly kind: 'stringMap';
}
export interface ListSpec<T> extends SpecBase<T[]> {
  readonly kind: 'list';
  readonly of: AnySpec;
  readonly minItems?: number;
}
/** An attribute set keyed by name (nodes, resources, devices): the natural shape in Nix. */
export interface MapSpec<T> extends SpecBase<Record<string, T>> {
  readonly kind: 'map';
  readonly of: AnySpec;
  /** what the keys name, e.g. "node name" */
  readonly keyName: string;
  readonly keyPattern?: RegExp;
  readonly keyPatternText?: string;
  readonly minEntries?: number;
}
export interface ObjectSpec<T> extends SpecBase<T> {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, AnySpec>>;
  /** the whole object may be left out: every field then takes its default */
  readonly defaultsWhenAbsent?: boolean;
}

/** Any spec, for the code that walks the table without caring about types (docs, Nix, checks). */
export type AnySpec =
  | Loose<StringSpec>
  | Loose<IntSpec>
  | Loose<BoolSpec>
  | Loose<EnumSpec>
  | Loose<ScoreSpec>
  | Loose<StringMapSpec>
  | Loose<ListSpec<unknown>>
  | Loose<MapSpec<unknown>>
  | Loose<ObjectSpec<unknown>>;
export type Loose<S> = Omit<S, '__type'> & { readonly __type?: unknown };

export type SpecType<S> = S extends { readonly __type?: infer T } ? T : never;

type Opts<S> = Omit<S, 'kind' | 'doc' | '__type'>;

// ---------------------------------------------------------------------------------------------
// Builders

export const str = (doc: string, o: Opts<StringSpec> = {}): StringSpec => ({ kind: 'string', doc, ...o });
export const int = (doc: string, o: Opts<IntSpec>): IntSpec => ({ kind: 'int', doc, ...o });
export const bool = (doc: string, o: Opts<BoolSpec> = {}): BoolSpec => ({ kind: 'bool', doc, ...o });
export const oneOf = <V extends string>(values: readonly V[], doc: string, o: Omit<Opts<EnumSpec<NoInfer<V>>>, 'values'> = {}): EnumSpec<V> => ({
  kind: 'enum',
  doc,
  values,
  ...o,
});
export const score = (doc: string, o: Opts<ScoreSpec> = {}): ScoreSpec => ({ kind: 'score', doc, ...o });
export const stringMap = (doc: string, o: Opts<StringMapSpec> = {}): StringMapSpec => ({ kind: 'stringMap', doc, ...o });
export const list = <S extends AnySpec>(of: S, doc: string, o: Omit<Opts<ListSpec<SpecType<S>>>, 'of'> = {}): ListSpec<SpecType<S>> => ({
  kind: 'list',
  doc,
  of,
  ...o,
});
export const map = <S extends AnySpec>(
  of: S,
  doc: string,
  o: Omit<Opts<MapSpec<SpecType<S>>>, 'of'> & { keyName: string },
): MapSpec<SpecType<S>> => ({ kind: 'map', doc, of, ...o });
export const obj = <F extends Record<string, AnySpec>>(
  fields: F,
  doc: string,
  o: Omit<Opts<ObjectSpec<FieldsType<F>>>, 'fields'> = {},
): ObjectSpec<FieldsType<F>> => ({ kind: 'object', doc, fields, ...o });

/** Mark a spec optional: absent or null gives null (filled in later when defaultText says how). */
export function optional<S extends AnySpec>(spec: S, defaultText?: string): Optional<S> {
  const { default: _dropped, ...rest } = spec;
  return { ...rest, optional: true, ...(defaultText ? { defaultText } : {}) } as Optional<S>;
}

export type Optional<S extends AnySpec> = Omit<S, '__type' | 'default'> & { readonly __type?: SpecType<S> | null; readonly default?: undefined };
type FieldsType<F> = { -readonly [K in keyof F]: SpecType<F[K]> };

// ---------------------------------------------------------------------------------------------
// Structural check: raw JSON value → typed value with defaults, or INVALID. Never throws; every
// problem goes to the sink with its path. Maps keep their valid entries and remember the keys of
// the invalid ones, so later rules still know those names exist (no "unknown resource" noise).

export interface CheckContext extends IssueSink {
  /** errors reported so far */
  errorCount(): number;
  /** every key seen in every map, by the map's path (valid or not) */
  readonly mapKeys: Map<string, string[]>;
  /** paths of maps that dropped an invalid entry: rules needing the whole map skip them */
  readonly incompleteMaps: Set<string>;
}

const SCORE_WORDS: Record<string, number> = { INFINITY, '+INFINITY': INFINITY, '-INFINITY': -INFINITY };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Defaults are shared by every use: hand out copies of objects and lists, primitives as they are. */
const copyDefault = <T>(value: T): T => (typeof value === 'object' && value !== null ? structuredClone(value) : value);

/** Set an own property, even for keys like "__proto__" (JSON.parse makes them own properties too). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkValue(spec: AnySpec, value: unknown, path: string, ctx: CheckContext): unknown {
  if (value === undefined || value === null) {
    if (value === null && !spec.optional) {
      ctx.error(path, `must not be null (expected ${expectedText(spec)})`);
      return INVALID;
    }
    if (spec.default !== undefined) return copyDefault(spec.default);
    if (spec.optional) return null;
    if (spec.kind === 'object' && spec.defaultsWhenAbsent) return checkValue(spec, {}, path, ctx);
    ctx.error(path, `is required (${expectedText(spec)})`);
    return INVALID;
  }
  switch (spec.kind) {
    case 'string':
      return checkString(spec, value, path, ctx);
    case 'int':
      return checkInt(spec, value, path, ctx);
    case 'bool':
      if (typeof value === 'boolean') return value;
      return wrongType(spec, value, path, ctx);
    case 'enum':
      if (typeof value === 'string' && spec.values.includes(value)) return value;
      if (typeof value === 'string') {
        ctx.error(path, `must be one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}${didYouMean(value, spec.values)}`);
        return INVALID;
      }
      return wrongType(spec, value, path, ctx);
    case 'score':
      return checkScore(value, path, ctx);
    case 'stringMap':
      return checkStringMap(value, path, ctx);
    case 'list':
      return checkList(spec, value, path, ctx);
    case 'map':
      return checkMap(spec, value, path, ctx);
    case 'object':
      return checkObject(spec, value, path, ctx);
  }
}

export function expectedText(spec: AnySpec): string {
  switch (spec.kind) {
    case 'string':
      return 'a string';
    case 'int':
      return spec.unit === 'ms' ? 'an integer number of milliseconds' : 'an integer';
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'score':
      return 'a score: an integer or "INFINITY" / "-INFINITY"';
    case 'stringMap':
      return 'an object of strings';
    case 'list':
      return 'a list';
    case 'map':
      return `an object keyed by ${spec.keyName}`;
    case 'object':
      return 'an object';
  }
}

function wrongType(spec: AnySpec, value: unknown, path: string, ctx: CheckContext): Invalid {
  ctx.error(path, `must be ${expectedText(spec)}, got ${describe(value)}`);
  return INVALID;
}

function checkString(spec: Loose<StringSpec>, value: unknown, path: string, ctx: CheckContext): string | Invalid {
  if (typeof value !== 'string') return wrongType(spec, value, path, ctx);
  const min = spec.minLength ?? 1;
  if (value.length < min) {
    ctx.error(path, min === 1 ? 'must not be empty' : `must be at least ${min} characters long`);
    return INVALID;
  }
  if (spec.maxLength !== undefined && value.length > spec.maxLength) {
    ctx.error(path, `must be at most ${spec.maxLength} characters long (got ${value.length})`);
    return INVALID;
  }
  if (spec.pattern && !spec.pattern.test(value)) {
    ctx.error(path, `${describe(value)} is not ${spec.patternText ?? `matching ${spec.pattern.source}`}`);
    return INVALID;
  }
  return value;
}

function checkInt(spec: Loose<IntSpec>, value: unknown, path: string, ctx: CheckContext): number | Invalid {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    if (typeof value === 'number') {
      ctx.error(path, `must be ${expectedText(spec)}, got ${value}`);
      return INVALID;
    }
    return wrongType(spec, value, path, ctx);
  }
  if (value < spec.min || value > spec.max) {
    ctx.error(path, `must be between ${spec.min} and ${spec.max}${spec.unit ? ' ' + spec.unit : ''}, got ${value}`);
    return INVALID;
  }
  return value;
}

function checkScore(value: unknown, path: string, ctx: CheckContext): number | Invalid {
  if (typeof value === 'string') {
    const upper = value.trim().toUpperCase();
    if (Object.hasOwn(SCORE_WORDS, upper)) return SCORE_WORDS[upper]!;
    ctx.error(path, `must be an integer or "INFINITY" / "-INFINITY", got ${describe(value)}`);
    return INVALID;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    ctx.error(path, `must be an integer or "INFINITY" / "-INFINITY", got ${describe(value)}`);
    return INVALID;
  }
  if (Math.abs(value) > INFINITY) {
    ctx.error(path, `must be between -${INFINITY} and ${INFINITY} (or "INFINITY" / "-INFINITY"), got ${value}`);
    return INVALID;
  }
  return value;
}

function checkStringMap(value: unknown, path: string, ctx: CheckContext): Record<string, string> | Invalid {
  if (!isPlainObject(value)) {
    ctx.error(path, `must be an object of strings, got ${describe(value)}`);
    return INVALID;
  }
  const out: Record<string, string> = {};
  let ok = true;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') setOwn(out, key, v);
    else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') setOwn(out, key, String(v));
    else {
      ctx.error(joinPath(path, key), `must be a string, number or boolean, got ${describe(v)}`);
      ok = false;
    }
  }
  return ok ? out : INVALID;
}

function checkList(spec: Loose<ListSpec<unknown>>, value: unknown, path: string, ctx: CheckContext): unknown[] | Invalid {
  if (!Array.isArray(value)) return wrongType(spec, value, path, ctx);
  if (spec.minItems !== undefined && value.length < spec.minItems) {
    ctx.error(path, `must have at least ${spec.minItems} item${spec.minItems === 1 ? '' : 's'}`);
    return INVALID;
  }
  const out = value.map((item, i) => checkValue(spec.of as AnySpec, item, `${path}[${i}]`, ctx));
  return out.includes(INVALID) ? INVALID : out;
}

function checkMap(spec: Loose<MapSpec<unknown>>, value: unknown, path: string, ctx: CheckContext): Record<string, unknown> | Invalid {
  if (!isPlainObject(value)) return wrongType(spec, value, path, ctx);
  const keys = Object.keys(value);
  ctx.mapKeys.set(path, keys);
  if (spec.minEntries !== undefined && keys.length < spec.minEntries) {
    const what = spec.keyName.replace(/ (name|id)$/, '');
    ctx.error(path, `must declare at least ${spec.minEntries} ${what}${spec.minEntries === 1 ? '' : 's'}`);
    ctx.incompleteMaps.add(path);
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const entryPath = joinPath(path, key);
    let entryOk = true;
    if (spec.keyPattern && !spec.keyPattern.test(key)) {
      ctx.error(entryPath, `${JSON.stringify(key)} is not a valid ${spec.keyName}: ${spec.keyPatternText ?? spec.keyPattern.source}`);
      entryOk = false;
    }
    const errorsBefore = ctx.errorCount();
    const entry = value[key];
    const checked =
      spec.of.kind === 'object' && isPlainObject(entry) ? checkObject(spec.of, entry, entryPath, ctx, true) : checkValue(spec.of, entry, entryPath, ctx);
    if (ctx.errorCount() > errorsBefore || !entryOk) ctx.incompleteMaps.add(path);
    if (checked !== INVALID && entryOk) setOwn(out, key, checked);
  }
  return out;
}

/**
 * `lenient` is used for the entries of maps (a resource, a node, a device): a broken field that has
 * a default (or may be unset) takes it, and the entry is kept, so that the rules still check its
 * other fields (its constraints' references, its parameters) and report every error at once. The
 * map is marked incomplete, so rules that need all of it (quorum, fencing coverage) skip it.
 */
function checkObject(spec: Loose<ObjectSpec<unknown>>, value: unknown, path: string, ctx: CheckContext, lenient = false): unknown {
  if (!isPlainObject(value)) return wrongType(spec, value, path, ctx);
  const fields = spec.fields as Record<string, AnySpec>;
  const known = Object.keys(fields);
  let ok = true;
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) {
      ctx.error(joinPath(path, key), `unknown option${didYouMean(key, known)}`);
      ok = false;
    }
  }
  const out: Record<string, unknown> = {};
  for (const key of known) {
    const field = fields[key]!;
    const checked = checkValue(field, Object.hasOwn(value, key) ? value[key] : undefined, joinPath(path, key), ctx);
    if (checked !== INVALID) out[key] = checked;
    else if (lenient && (field.default !== undefined || field.optional)) out[key] = field.default !== undefined ? copyDefault(field.default) : null;
    else if (lenient && field.kind === 'object' && field.defaultsWhenAbsent) out[key] = checkValue(field, {}, joinPath(path, key), ctx);
    else ok = false;
  }
  return ok || lenient ? (Object.keys(out).length === known.length ? out : INVALID) : INVALID;
}

/** Check the top level field by field, so that one broken section does not hide the others' rules. */
export function checkSections<T>(
  spec: ObjectSpec<T>,
  value: unknown,
  ctx: CheckContext,
): { [K in keyof T]: T[K] | Invalid } | Invalid {
  if (!isPlainObject(value)) {
    ctx.error('(root)', `the configuration must be a JSON object, got ${describe(value)}`);
    return INVALID;
  }
  const fields = spec.fields as Record<string, AnySpec>;
  const known = Object.keys(fields);
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) ctx.error(joinPath('', key), `unknown option${didYouMean(key, known)}`);
  }
  const out: Record<string, unknown> = {};
  for (const key of known) out[key] = checkValue(fields[key]!, Object.hasOwn(value, key) ? value[key] : undefined, key, ctx);
  return out as { [K in keyof T]: T[K] | Invalid };
}
