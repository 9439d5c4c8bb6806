import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { validate } from '../../../src/config/index.js';

export const EXAMPLES_DIR = new URL('../../../examples/', import.meta.url);

export function loadExample(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, EXAMPLES_DIR), 'utf8')) as Record<string, unknown>;
}

export const VALID_EXAMPLES = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.json') && f !== 'invalid.json')
  .sort();

/** Examples that need drivers this build does not have (examples/planned/): refused, each error naming one. */
export const PLANNED_EXAMPLES = (existsSync(new URL('planned/', EXAMPLES_DIR)) ? readdirSync(new URL('planned/', EXAMPLES_DIR)) : [])
  .filter((f) => f.endsWith('.json'))
  .map((f) => `planned/${f}`)
  .sort();

/** A raw configuration being edited by a test: any JSON shape on purpose. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Cfg = any;

/** A deep copy of an example, changed by `change`. */
export function variant(name: string, change: (c: Cfg) => void): unknown {
  const c = structuredClone(loadExample(name));
  change(c);
  return c;
}

export function errorsOf(raw: unknown): string[] {
  const result = validate(raw);
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}
