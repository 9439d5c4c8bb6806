// The purity rule of src/core (DESIGN.md, STYLE.md practice 1) must keep firing: lint a fixture
// that breaks it, as if it lived in src/core, and check each kind of breach is reported.
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const fixture = readFileSync(new URL('../fixtures/core-impure.ts', import.meta.url), 'utf8');

async function lintAs(filePath: string) {
  const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });
  const [result] = await eslint.lintText(fixture, { filePath });
  return result!.messages;
}

describe('src/core purity lint rule', () => {
  it('reports every forbidden import, global and call in src/core', async () => {
    const messages = await lintAs('src/core/fixture-impure.ts');
    const lines = (rule: string) =>
      [...new Set(messages.filter((m) => m.ruleId === rule).map((m) => m.line))].sort((a, b) => a - b);
    // node:fs, events, @grpc/grpc-js, dbus-next, pino
    expect(lines('no-restricted-imports')).toEqual([2, 3, 4, 5, 6]);
    // Date, setTimeout, setInterval, process
    expect(lines('no-restricted-globals')).toEqual([9, 11, 12, 13]);
    // Math.random
    expect(lines('no-restricted-properties')).toEqual([10]);
  });

  it('does not apply outside src/core', async () => {
    const messages = await lintAs('src/runtime/fixture-impure.ts');
    expect(messages.filter((m) => String(m.ruleId).startsWith('no-restricted'))).toEqual([]);
  });
});
