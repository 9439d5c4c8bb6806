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
import type { AnySpec } from '../../../src/config/spec.js';
import { type Cfg, loadExample, PLANNED_EXAMPLES, VALID_EXAMPLES } from './helpers.js';

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
  const nixFiles = [
    'flake.nix',
    ...readdirSync(new URL('nixos-module/', ROOT)).filter((f) => f.endsWith('.nix')).map((f) => `nixos-module/${f}`),
    ...readdirSync(new URL('examples/nixos/', ROOT)).map((f) => `examples/nixos/${f}`),
    'test/fixtures/nix/stub-lib.nix',
    'test/fixtures/nix/stub-pkgs.nix',
  ];

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
  const MODULE_ONLY = ['enable', 'package', 'nodeName', 'logLevel', 'systemdWatchdogSec', 'controlSocketGroup', 'metricsAddress', 'ocfRoot', 'openFirewall', 'softdog', 'witness.enable'];

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

  /** What the module system makes of a value: every unset option takes its Nix default (null for optional ones). */
  function withNixDefaults(spec: AnySpec, value: Cfg): Cfg {
    if (value === null || value === undefined) return value;
    if (spec.kind === 'object') {
      const out: Cfg = {};
      for (const [key, field] of Object.entries(spec.fields)) {
        let v = value[key];
        if (v === undefined) {
          if (field.optional) v = null;
          else if (field.kind === 'score' && field.default === INFINITY) v = 'INFINITY';
          else if (field.default !== undefined) v = structuredClone(field.default);
          else if (field.kind === 'object' && field.defaultsWhenAbsent) v = {};
        }
        out[key] = withNixDefaults(field, v);
      }
      return out;
    }
    if (spec.kind === 'map') return Object.fromEntries(Object.entries<Cfg>(value).map(([k, v]) => [k, withNixDefaults(spec.of, v)]));
    if (spec.kind === 'list') return value.map((v: Cfg) => withNixDefaults(spec.of, v));
    return value;
  }

  // the planned examples too: their options (storage, promotable clones) go through Nix the same way, errors and all
  it.each([...VALID_EXAMPLES, ...PLANNED_EXAMPLES])('config-json.nix turns services.tsha for %s into a JSON configuration tsha reads the same way', (name) => {
    const example: Cfg = loadExample(name);
    // services.tsha as the module system would hand it over: every option present with its Nix
    // default (nulls included), the witness as an option set with its own enable, and the
    // module's own options.
    const cfg: Cfg = { enable: true, nodeName: 'x', logLevel: 'info', systemdWatchdogSec: 10, openFirewall: false, ...withNixDefaults(rawConfigSpec, example) };
    cfg.witness = { enable: false, name: null, address: null, publicKey: null, ...(example.witness ?? {}) };
    expect(JSON.stringify(cfg)).toContain('null'); // the nulls of unset options really are there
    const json = evalJson(
      `let g = import ./nixos-module/generated-options.nix { lib = ${STUB}; }; in import ./nixos-module/config-json.nix { inherit (g) jsonKeys; } (builtins.fromJSON ${JSON.stringify(JSON.stringify(cfg))})`,
    );
    expect(Object.keys(json).sort()).toEqual(Object.keys(rawConfigSpec.fields).sort());
    const fromNix = validate(json);
    const direct = validate(example);
    expect(fromNix.ok ? fromNix.config : fromNix.errors).toEqual(direct.ok ? direct.config : direct.errors);
  });

  it('examples/nixos/two-node-witness.nix means the same configuration as examples/two-node-witness.json', () => {
    const set: Cfg = evalJson(`(import ./examples/nixos/two-node-witness.nix { lib = ${STUB}; config.networking.hostName = "alpha"; }).services.tsha`);
    expect(set).toMatchObject({ enable: true, witness: { enable: false } });
    const { enable, witness, openFirewall, ...rest } = set;
    void enable;
    void openFirewall;
    const { enable: _w, ...witnessDecl } = witness;
    void _w;
    const cfg: Cfg = { ...withNixDefaults(rawConfigSpec, { ...rest, witness: witnessDecl }), witness: { enable: false, publicKey: null, ...witnessDecl } };
    const json = evalJson(
      `let g = import ./nixos-module/generated-options.nix { lib = ${STUB}; }; in import ./nixos-module/config-json.nix { inherit (g) jsonKeys; } (builtins.fromJSON ${JSON.stringify(JSON.stringify(cfg))})`,
    );
    const fromNix = validate(json);
    const direct = validate(loadExample('two-node-witness.json'));
    expect(fromNix.ok ? fromNix.config : fromNix.errors).toEqual(direct.ok ? direct.config : direct.errors);
  });

  /** default.nix evaluated with stand-ins for lib and pkgs: what it would configure on one machine. */
  function moduleConfig(example: string, machine: Cfg): Cfg {
    const cfg: Cfg = {
      ...withNixDefaults(rawConfigSpec, { ...loadExample(example), witness: null }),
      package: { outPath: '/nix/store/stub-tsha' },
      nodeName: machine.hostName,
      logLevel: 'info',
      systemdWatchdogSec: 10,
      softdog: false,
      controlSocketGroup: null,
      metricsAddress: null,
      ocfRoot: null,
      openFirewall: true,
      ...machine.options,
    };
    cfg.witness = { name: null, address: null, publicKey: null, ...(loadExample(example).witness ?? {}), enable: machine.options.witness?.enable ?? false };
    const expr = `(import ./nixos-module/default.nix {
      lib = ${STUB};
      pkgs = import ./test/fixtures/nix/stub-pkgs.nix;
      config = { networking.hostName = ${JSON.stringify(machine.hostName)}; services.tsha = builtins.fromJSON ${JSON.stringify(JSON.stringify(cfg))}; } // builtins.fromJSON ${JSON.stringify(JSON.stringify(machine.config ?? {}))};
    }).config`;
    const merged = evalJson(expr);
    // flatten mkMerge/mkIf: keep what applies
    const out: Cfg = { assertions: [], systemd: { services: {}, tmpfiles: [] as string[] }, ports: [] as number[], etc: {}, boot: {}, warnings: [] };
    for (const part of merged.contents) {
      if (!part.condition) continue;
      const c = part.content;
      out.assertions.push(...(c.assertions ?? []));
      Object.assign(out.systemd.services, c.systemd?.services ?? {});
      out.systemd.tmpfiles.push(...(c.systemd?.tmpfiles?.rules ?? []));
      Object.assign(out.etc, c.environment?.etc ?? {});
      Object.assign(out.boot, c.boot ?? {});
      out.warnings.push(...(c.warnings ?? []));
      const ports = c.networking?.firewall?.allowedTCPPorts;
      if (ports?.condition) out.ports.push(...ports.content);
    }
    return out;
  }

  it('default.nix runs tsha-agent on a node: notify service with watchdog, state and runtime directories, checked config', () => {
    const c = moduleConfig('two-node.json', { hostName: 'left', options: { enable: true, controlSocketGroup: 'wheel' } });
    expect(c.assertions.filter((a: Cfg) => !a.assertion)).toEqual([]);
    expect(Object.keys(c.systemd.services)).toEqual(['tsha-agent']);
    const unit = c.systemd.services['tsha-agent'];
    expect(unit.serviceConfig).toMatchObject({
      Type: 'notify',
      NotifyAccess: 'all',
      WatchdogSec: '10s',
      Restart: 'on-failure',
      KillMode: 'process',
      StateDirectory: 'tsha',
      RuntimeDirectory: 'tsha',
    });
    expect(unit.serviceConfig.ExecStart).toBe(
      '/nix/store/stub-tsha/bin/tsha --log-level info agent --config /nix/store/stub-tsha-edge-2n-checked.json --node left --state-dir /var/lib/tsha --socket /run/tsha/control.sock --socket-group wheel',
    );
    expect(unit.restartTriggers).toEqual(['/nix/store/stub-tsha-edge-2n-checked.json']);
    expect(unit.path).toEqual(['/nix/store/stub-systemd']);
    expect(c.etc['tsha/config.json'].source).toBe('/nix/store/stub-tsha-edge-2n-checked.json');
    expect(c.ports).toEqual([7400]);
  });

  it('default.nix puts ip and arping on the agent\'s PATH when the configuration has virtual IPs', () => {
    const c = moduleConfig('virtual-ip.json', { hostName: 'db1', options: { enable: true } });
    expect(c.assertions.filter((a: Cfg) => !a.assertion)).toEqual([]);
    expect(c.systemd.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd', '/nix/store/stub-iproute2', '/nix/store/stub-iputils']);
    const without = moduleConfig('two-node.json', { hostName: 'left', options: { enable: true } });
    expect(without.systemd.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd']);
  });

  it('default.nix puts LXC\'s tools on the agent\'s PATH when a resource is an LXC container', () => {
    const twoNode = loadExample('two-node.json');
    const c = moduleConfig('two-node.json', {
      hostName: 'left',
      options: { enable: true, resources: { ...withNixDefaults(rawConfigSpec, twoNode).resources, dns: withNixDefaults(rawConfigSpec, { ...twoNode, resources: { dns: { kind: 'lxc', params: { name: 'dns' } } } }).resources.dns } },
    });
    expect(c.systemd.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd', '/nix/store/stub-lxc']);
  });

  it('default.nix gives the agent nixpkgs\' OCF agents when an ocf resource needs them, or the ocfRoot given, and /run/resource-agents', () => {
    const withOcf = (o: Cfg) => {
      const base = withNixDefaults(rawConfigSpec, loadExample('two-node.json'));
      return moduleConfig('two-node.json', { hostName: 'left', options: { enable: true, resources: { ...base.resources, vip: { ...base.resources[Object.keys(base.resources)[0]!], kind: 'ocf', params: { agent: 'heartbeat:IPaddr2', ip: '10.0.0.9' } } }, ...o } });
    };
    expect(withOcf({}).systemd.services['tsha-agent'].serviceConfig.ExecStart).toMatch(/ --ocf-root \/nix\/store\/stub-ocf-resource-agents\/usr\/lib\/ocf$/);
    expect(withOcf({}).systemd.tmpfiles).toEqual(['d /run/resource-agents 1755 root root -']);
    expect(withOcf({ ocfRoot: '/srv/ocf' }).systemd.services['tsha-agent'].serviceConfig.ExecStart).toMatch(/ --ocf-root \/srv\/ocf$/);
    const without = moduleConfig('two-node.json', { hostName: 'left', options: { enable: true } });
    expect(without.systemd.services['tsha-agent'].serviceConfig.ExecStart).not.toContain('--ocf-root');
    expect(without.systemd.tmpfiles).toEqual([]);
  });

  it('default.nix with softdog: loads it with soft_margin = timing.watchdogMs in seconds, and asserts watchdog fencing', () => {
    const threeNode = withNixDefaults(rawConfigSpec, loadExample('three-node.json'));
    const c = moduleConfig('three-node.json', {
      hostName: 'n1',
      options: { enable: true, softdog: true, fencing: { ...threeNode.fencing, watchdog: true }, timing: { ...threeNode.timing, watchdogMs: 7000 } },
    });
    expect(c.assertions.filter((a: Cfg) => !a.assertion)).toEqual([]);
    expect(c.boot).toEqual({ kernelModules: ['softdog'], extraModprobeConfig: 'options softdog soft_margin=7' });
    const off = moduleConfig('three-node.json', { hostName: 'n1', options: { enable: true, softdog: true } });
    expect(off.assertions.filter((a: Cfg) => !a.assertion).map((a: Cfg) => a.message)).toEqual([
      'services.tsha.softdog: the watchdog device is fed by watchdog fencing; set services.tsha.fencing.watchdog = true (and fencing.enabled).',
    ]);
    expect(off.boot).toEqual({ kernelModules: ['softdog'], extraModprobeConfig: 'options softdog soft_margin=5' });
  });

  it('default.nix asserts that microvm.nix does not autostart a VM the cluster runs, naming the resource', () => {
    const three: Cfg = loadExample('three-node.json');
    const withVm = { enable: true, resources: withNixDefaults(rawConfigSpec, { ...three, resources: { ...three.resources, mail: { kind: 'microvm', params: { name: 'mail' } } } }).resources };
    const failing = (config: Cfg) => moduleConfig('three-node.json', { hostName: 'n1', options: withVm, config }).assertions.filter((a: Cfg) => !a.assertion).map((a: Cfg) => a.message);
    expect(failing({ microvm: { vms: { mail: { autostart: true } } } })).toEqual([
      'services.tsha.resources.mail: microvm.vms.mail.autostart must be false: tsha starts the VM on one node, and autostart would start it at boot on every node that declares it.',
    ]);
    expect(failing({ microvm: { vms: { mail: { autostart: false } } } })).toEqual([]);
    expect(failing({})).toEqual([]); // microvm.nix not imported on this machine (or the VM declared imperatively)
  });

  it('default.nix checks the generated JSON with tsha config check while building', () => {
    const script = nix([
      '--eval',
      '-E',
      `let m = (import ./nixos-module/default.nix { lib = ${STUB}; pkgs = import ./test/fixtures/nix/stub-pkgs.nix; config = { networking.hostName = "x"; services.tsha = { enable = true; nodeName = "x"; package = "/nix/store/stub-tsha"; cluster.id = "c"; cluster.name = "c"; nodes = { x.address = "a:1"; }; witness = { enable = false; name = null; address = null; publicKey = null; }; }; }; }).config; in (builtins.elemAt m.contents 0).content.environment.etc."tsha/config.json".source.script`,
    ]);
    expect(script).toMatch(/tsha config check \/nix\/store\/stub-tsha-c\.json/);
  });

  it('default.nix runs tsha-witness on the witness machine, and its assertions name their subject', () => {
    const w = moduleConfig('two-node-witness.json', { hostName: 'nas', options: { enable: false, witness: { enable: true } } });
    expect(w.assertions.filter((a: Cfg) => !a.assertion)).toEqual([]);
    expect(Object.keys(w.systemd.services)).toEqual(['tsha-witness']);
    expect(w.systemd.services['tsha-witness'].serviceConfig).toMatchObject({ Type: 'notify', DynamicUser: true, StateDirectory: 'tsha-witness' });
    expect(w.ports).toEqual([7400]);

    const wrongNode = moduleConfig('two-node.json', { hostName: 'middle', options: { enable: true } });
    expect(wrongNode.assertions.filter((a: Cfg) => !a.assertion).map((a: Cfg) => a.message)).toEqual([
      'services.tsha.nodeName "middle" is not one of services.tsha.nodes (left, right).',
    ]);
    const both = moduleConfig('two-node-witness.json', { hostName: 'alpha', options: { enable: true, witness: { enable: true } } });
    expect(both.assertions.filter((a: Cfg) => !a.assertion).map((a: Cfg) => a.message)).toEqual([
      'services.tsha: this machine is both a node (services.tsha.enable) and the witness (services.tsha.witness.enable); the witness must run on a third machine.',
    ]);
  });
});
