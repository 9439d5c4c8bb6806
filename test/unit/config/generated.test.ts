// The options table feeds docs/configuration.md and nixos-module/generated-options.nix; these
// tests fail when the committed files are out of date (run `npm run docs:config`), when a .nix
// file does not parse, or when the NixOS options and the table disagree on any option, its
// description or its default. nixpkgs cannot be fetched here, so the module's options are
// evaluated with Debian's nix-instantiate against a small stand-in for nixpkgs' lib
// (test/fixtures/nix/stub-lib.nix).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILES } from '../../../src/config/generate.js';
import { listOptions } from '../../../src/config/option-list.js';
import { rawConfigSpec } from '../../../src/config/options.js';
import { validate } from '../../../src/config/index.js';
import { INFINITY } from '../../../src/config/types.js';
import { type Cfg, loadExample, VALID_EXAMPLES } from './helpers.js';

const ROOT = new URL('../../../', import.meta.url);
const rootPath = ROOT.pathname;

function nix(args: string[]): string {
  try {
    return execFileSync('nix-instantiate', args, {
      cwd: rootPath,
      encoding: 'utf8',
      env: { ...process.env, NIX_CONFIG: 'build-users-group =' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('nix-instantiate not found: install Debian\'s nix-bin (.ci/run does)');
    throw new Error(`nix-instantiate ${args.join(' ')} failed:\n${e.stderr ?? String(err)}`);
  }
}

function evalJson(expr: string): Cfg {
  return JSON.parse(nix(['--eval', '--strict', '--json', '-E', expr]));
}

const STUB = `import ./test/fixtures/nix/stub-lib.nix`;

describe('generated files', () => {
  it.each(Object.keys(GENERATED_FILES))('%s is up to date with the options table (npm run docs:config)', (file) => {
    const onDisk = readFileSync(new URL(file, ROOT), 'utf8');
    expect(onDisk === GENERATED_FILES[file as keyof typeof GENERATED_FILES](), `${file} is out of date: run npm run docs:config`).toBe(true);
  });

  it('docs/configuration.md documents every option', () => {
    const doc = readFileSync(new URL('docs/configuration.md', ROOT), 'utf8');
    for (const row of listOptions()) expect(doc).toContain(`| \`${row.path}\` |`);
  });
});

describe('nixos-module', () => {
  const nixFiles = ['flake.nix', ...readdirSync(new URL('nixos-module/', ROOT)).filter((f) => f.endsWith('.nix')).map((f) => `nixos-module/${f}`), 'test/fixtures/nix/stub-lib.nix'];

  it.each(nixFiles)('%s parses (nix-instantiate --parse)', (file) => {
    expect(nix(['--parse', file]).length).toBeGreaterThan(0);
  });

  // services.tsha as evaluated from options.nix with the stand-in lib
  const tree: Cfg = evalJson(`(import ./nixos-module/options.nix { lib = ${STUB}; pkgs = { }; config.networking.hostName = "n1"; }).options.services.tsha`);

  /** Every option of the Nix tree as a path in the table's notation (map keys as <*>). */
  function nixOptions(node: Cfg, path: string, out: Map<string, Cfg>): Map<string, Cfg> {
    if (node._option) {
      out.set(path, node);
      walkType(node.type, path, out);
    } else for (const [k, v] of Object.entries<Cfg>(node)) nixOptions(v, path ? `${path}.${k}` : k, out);
    return out;
  }
  function walkType(type: Cfg, path: string, out: Map<string, Cfg>): void {
    if (type.name === 'nullOr') walkType(type.of, path, out);
    else if (type.name === 'attrsOf') walkType(type.of, `${path}.<*>`, out);
    else if (type.name === 'listOf') walkType(type.of, `${path}[]`, out);
    else if (type.name === 'submodule') for (const [k, v] of Object.entries<Cfg>(type.options)) nixOptions(v, `${path}.${k}`, out);
  }
  const normalize = (p: string) => p.replace(/<[a-z]+>/g, '<*>');
  const nixTree = nixOptions(tree, '', new Map());
  const MODULE_ONLY = ['enable', 'package', 'nodeName', 'logLevel', 'systemdWatchdogSec', 'openFirewall', 'witness.enable'];

  it('has an option for every option of the table, and nothing else but the module\'s own', () => {
    const tablePaths = listOptions()
      .filter((r) => !(r.spec.kind === 'object' && (r.path === 'cluster' || r.path === 'timing' || r.path === 'fencing' || r.path === 'resourceDefaults' || r.path === 'witness')))
      .map((r) => normalize(r.path));
    const fromNix = [...nixTree.keys()].filter((p) => !MODULE_ONLY.includes(p));
    expect(fromNix.sort()).toEqual(tablePaths.sort());
    for (const p of MODULE_ONLY) expect(nixTree.has(p), p).toBe(true);
  });

  it('says what the table says: descriptions and defaults', () => {
    for (const row of listOptions()) {
      const opt = nixTree.get(normalize(row.path));
      if (!opt) continue; // top-level option sets (cluster, timing, …) are not options themselves
      const spec = row.spec;
      expect(opt.description, row.path).toBe(spec.defaultText ? `${spec.doc} Default: ${spec.defaultText}.` : spec.doc);
      const topNullable = row.path.startsWith('witness.');
      if (spec.optional || topNullable) expect(opt.default, row.path).toBeNull();
      else if (spec.default !== undefined) {
        const expected = spec.kind === 'score' && Math.abs(spec.default) === INFINITY ? (spec.default > 0 ? 'INFINITY' : '-INFINITY') : spec.default;
        expect(opt.default, row.path).toEqual(expected);
      } else if (spec.kind === 'object' && spec.defaultsWhenAbsent) expect(opt.default, row.path).toEqual({});
      else expect(opt, row.path).not.toHaveProperty('default'); // required: Nix makes the user set it
    }
  });

  it.each(VALID_EXAMPLES)('config-json.nix turns services.tsha for %s into a JSON configuration tsha reads the same way', (name) => {
    const example: Cfg = loadExample(name);
    // services.tsha as the module system would hand it over: every option present (defaults
    // included), the witness as an option set with its own enable, and the module's own options.
    const cfg: Cfg = { enable: true, nodeName: 'x', logLevel: 'info', systemdWatchdogSec: 10, openFirewall: false };
    for (const key of Object.keys(rawConfigSpec.fields)) cfg[key] = example[key] ?? null;
    cfg.witness = { enable: false, name: null, address: null, publicKey: null, ...(example.witness ?? {}) };
    for (const key of ['timing', 'fencing', 'resourceDefaults', 'resources', 'groups', 'clones']) cfg[key] ??= {};
    cfg.noQuorumPolicy ??= 'stop';
    cfg.maintenanceMode ??= false;
    const json = evalJson(
      `let g = import ./nixos-module/generated-options.nix { lib = ${STUB}; }; in import ./nixos-module/config-json.nix { inherit (g) jsonKeys; } (builtins.fromJSON ${JSON.stringify(JSON.stringify(cfg))})`,
    );
    expect(Object.keys(json).sort()).toEqual(Object.keys(rawConfigSpec.fields).sort());
    const fromNix = validate(json);
    const direct = validate(example);
    expect(fromNix.ok ? fromNix.config : fromNix.errors).toEqual(direct.ok ? direct.config : direct.errors);
  });
});
