// The configuration file as text, damaged at random: validateText (what loadConfig and `tsha config
// check` run) never throws; a text JSON.parse refuses is a syntax error that names its line and
// column inside the text; a text it takes gets exactly the verdict of validate() on its value (plus
// any key given twice). Damage: a character replaced by one that matters to JSON (a brace, a quote,
// a backslash, a control character, a byte order mark …), a range deleted, the text cut short, random
// text inserted, a line repeated. fast-check, fixed seed.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKeys, validate, validateText } from '../../../src/config/index.js';
import { EXAMPLES_DIR, VALID_EXAMPLES } from './helpers.js';

const texts = Object.fromEntries(VALID_EXAMPLES.map((n) => [n, readFileSync(new URL(n, EXAMPLES_DIR), 'utf8')]));
const SIGNIFICANT = ['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '\n', 'a', '0', '-', '.', 'e', 't', '\u0000', '\u0007', '\ufeff', 'é', '\u2028'];

type Damage =
  | { kind: 'replace'; at: number; by: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'repeatLine'; at: number };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), by: fc.constantFrom(...SIGNIFICANT) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 12 }) }),
  fc.record({ kind: fc.constant('repeatLine' as const), at: fc.nat() }),
);

function apply(text: string, d: Damage): string {
  const at = d.at % text.length;
  switch (d.kind) {
    case 'replace':
      return text.slice(0, at) + d.by + text.slice(at + 1);
    case 'delete':
      return text.slice(0, at) + text.slice(at + d.length);
    case 'cut':
      return text.slice(0, at);
    case 'insert':
      return text.slice(0, at) + d.text + text.slice(at);
    case 'repeatLine': {
      const lines = text.split('\n');
      const k = d.at % lines.length;
      return [...lines.slice(0, k + 1), lines[k]!, ...lines.slice(k + 1)].join('\n');
    }
  }
}

describe('configuration text damaged at random', () => {
  it('is refused with the line and column of a syntax error, or judged exactly as its value is', () => {
    const seen = { syntax: 0, valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.constantFrom(...VALID_EXAMPLES), damage, (name, d) => {
        const text = apply(texts[name]!, d);
        const r = validateText(text); // never throws
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          seen.syntax++;
          expect(r.ok).toBe(false);
          const syntax = 'syntax' in r ? r.syntax : '';
          const m = /^not valid JSON at line (\d+), column (\d+): \S/.exec(syntax);
          expect(m, `${d.kind}: ${syntax}`).not.toBeNull();
          const lines = text.split('\n');
          const line = Number(m![1]);
          expect(line).toBeLessThanOrEqual(lines.length);
          expect(Number(m![2])).toBeLessThanOrEqual(lines[line - 1]!.length + 1);
          expect(syntax).not.toContain('is not valid JSON'); // V8's quote of the text is left out
          return;
        }
        const want = validate(value);
        const dup = duplicateKeys(text);
        expect(r.ok, d.kind).toBe(want.ok && dup.length === 0);
        if (r.ok) seen.valid++;
        else {
          seen.invalid++;
          for (const e of r.errors) expect(e.path.length, e.message).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1500, seed: 20261212 },
    );
    console.log(`[config text fuzz] ${JSON.stringify(seen)}`);
    expect(seen.syntax).toBeGreaterThan(300);
    expect(seen.invalid).toBeGreaterThan(50);
  }, 60_000);

  it('names where the text goes wrong when V8 does not (an unexpected token, a byte order mark)', () => {
    // found by the property above: V8's "Unexpected token" errors carry no position
    for (const [text, line, column] of [['{"a": b}', 1, 7], ['{\n  "a": tru\n}', 2, 8], ['\ufeff{"a": 1}', 1, 1], ['x', 1, 1]] as const) {
      const r = validateText(text);
      expect(!r.ok && 'syntax' in r && r.syntax, text).toMatch(new RegExp(`^not valid JSON at line ${line}, column ${column}: Unexpected token`));
    }
  });

  it('a value nested a hundred thousand deep is refused, not a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(validateText(deep).ok).toBe(false);
    const r = validateText(texts['three-node.json']!.replace('"nginx.service"', deep));
    expect(!r.ok && [...new Set(r.errors.map((e) => e.path))]).toEqual(['resources.web.params.unit']);
  });
});
