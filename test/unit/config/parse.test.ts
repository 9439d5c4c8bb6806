import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, duplicateKeys, loadConfig, parseConfigText, validateText } from '../../../src/config/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'tsha-cfg-parse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseConfigText', () => {
  it('gives line and column of a syntax error', () => {
    const r = parseConfigText('{\n  "a": 1,\n  "b" 2\n}');
    expect(r).toMatchObject({ ok: false, line: 3, column: 7 });
  });

  it('points at the end of a truncated file', () => {
    expect(parseConfigText('{\n "a": [1, 2')).toMatchObject({ ok: false, line: 2, column: 12 });
  });
});

describe('duplicateKeys', () => {
  it('finds a key given twice, with its path', () => {
    const text = '{"nodes": {"n1": {"address": "a:1"}, "n1": {"address": "b:1"}}, "resources": {"web": {"params": {"unit": "a", "unit": "b"}}}}';
    expect(duplicateKeys(text).map((i) => i.path)).toEqual(['nodes.n1', 'resources.web.params.unit']);
  });

  it('is not fooled by keys in arrays, escaped quotes or braces inside strings', () => {
    const text = '{"a": [{"k": 1}, {"k": 2}], "b": "x\\"}{,", "c": {"k": "{\\"k\\": 1}"}, "k": 3}';
    expect(duplicateKeys(text)).toEqual([]);
  });

  it('finds nothing in any JSON.stringify output (which cannot repeat a key)', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => duplicateKeys(JSON.stringify(v, null, 1)).length === 0), { numRuns: 300 });
  });

  it('makes a configuration with a duplicate key invalid', () => {
    const r = validateText('{"cluster": {"name": "x", "id": "x", "id": "y"}, "nodes": {"a": {"address": "a:1"}}, "fencing": {"enabled": false}}');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.path)).toEqual(['cluster.id']);
  });
});

describe('loadConfig', () => {
  it('returns the compiled configuration of a valid file', async () => {
    const config = await loadConfig(new URL('../../../examples/two-node.json', import.meta.url).pathname);
    expect(config.quorumMode).toBe('two_node');
  });

  it('throws ConfigError carrying the file and every issue', async () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, JSON.stringify({ cluster: { name: 'x', id: 'X' }, nodes: {} }));
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.file).toBe(file);
    expect(e.issues.map((i) => `${i.path}: ${i.message}`).sort()).toEqual([
      'cluster.id: the string "X" is not a cluster id (lower-case letters, digits and "-", 1 to 63 characters, starting with a letter or digit)',
      'fencing: fencing is enabled but there is no fence device and fencing.watchdog is false: add devices, enable the watchdog, or set enabled = false (not recommended)',
      'nodes: must declare at least 1 node',
    ]);
    expect(e.message).toContain('invalid configuration (3 errors)');
  });

  it('throws ConfigError for a file it cannot read', async () => {
    await expect(loadConfig(join(tmp, 'missing.json'))).rejects.toThrow(ConfigError);
  });
});
