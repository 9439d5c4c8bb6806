// The options table feeds docs/configuration.md and nixos-module/generated-options.nix; these
// tests fail when the committed files are out of date (run `npm run docs:config`), when a .nix
// file does not parse, or when the NixOS options and the table disagree on any option, its
// description or its default. nixos-module/ is evaluated by nixpkgs' real module system
// (lib.evalModules from ../shared/nixpkgs-lib, or $TSHA_SHARED_DIR/nixpkgs-lib) with Debian's
// nix-instantiate; the NixOS options it sets are stand-in declarations typed as nixpkgs types them
// (test/nix/nixos-stubs.nix), so setting an undeclared option or a wrong type fails the evaluation.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { GENERATED_FILES } from '../../../src/config/generate.js';
import { listOptions } from '../../../src/config/option-list.js';
import { rawConfigSpec } from '../../../src/config/options.js';
import { validate } from '../../../src/config/index.js';
import { checkWithOcfAgents } from '../../../src/cli/commands/config-check.js';
import { INFINITY } from '../../../src/config/types.js';
import { type Cfg, loadExample, PLANNED_EXAMPLES, VALID_EXAMPLES } from './helpers.js';
import { findNixpkgsLib, renderServiceSection, renderUnit } from '../../helpers/nix.js';

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

/** nixpkgs' lib (test/helpers/nix.ts): the tests fail without it. */
function nixpkgsLib(): string {
  const { found, candidates } = findNixpkgsLib();
  if (!found) throw new Error(`nixpkgs' lib not found (looked in ${candidates.join(', ')}): set TSHA_SHARED_DIR to the folder holding nixpkgs-lib/`);
  return found;
}
const NIXPKGS_LIB = nixpkgsLib();

/** systemd-analyze security --offline=yes of a rendered unit: its overall exposure (0 to 10). */
function exposure(name: string, serviceConfig: Record<string, unknown>): number {
  const dir = mkdtempSync(join(tmpdir(), 'tsha-unit-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, renderServiceSection(serviceConfig));
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { encoding: 'utf8' });
    const m = /Overall exposure level for \S+: (\d+\.\d)/.exec(r.stdout);
    if (!m) throw new Error(`systemd-analyze security ${name}: no exposure level in its output\n${r.stdout}${r.stderr}`);
    return Number(m[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const LIB = `(import ${JSON.stringify(NIXPKGS_LIB)})`;

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
    ...readdirSync(new URL('test/nix/', ROOT)).map((f) => `test/nix/${f}`),
  ];

  it.each(nixFiles)('%s parses (nix-instantiate --parse)', (file) => {
    expect(nix(['--parse', file]).length).toBeGreaterThan(0);
  });

  // every option under services.tsha, flattened through submodules by the module system itself
  const declared: { loc: string[]; description: string; default?: unknown }[] = JSON.parse(
    nix(['--eval', '--strict', '--json', '-E', `import ./test/nix/options.nix { lib = ${LIB}; }`]),
  );
  /** services.tsha.nodes.<name>.attributes / …colocation.*.score → the table's notation, map keys as <*> */
  const pathOf = (loc: string[]) => loc.slice(2).reduce((p, s) => (s === '*' ? `${p}[]` : p ? `${p}.${s}` : s), '').replace(/<[a-z]+>/g, '<*>');
  const nixTree = new Map(declared.map((o) => [pathOf(o.loc), o]));
  const normalize = (p: string) => p.replace(/<[a-z]+>/g, '<*>');
  const MODULE_ONLY = ['enable', 'package', 'nodeName', 'logLevel', 'systemdWatchdogSec', 'controlSocketGroup', 'metricsAddress', 'ocfRoot', 'openFirewall', 'softdog', 'witness.enable', 'selfFence', 'agentSandbox', 'fenceAgentsPackage', 'fenceCredentials', 'meshInterface', 'wireguard.enable', 'wireguard.listenPort', 'wireguard.privateKeyFile', 'wireguard.endpoints', 'wireguard.persistentKeepalive', 'prometheusRules', 'prometheusScrape.enable', 'prometheusScrape.port', 'grafanaDashboard'];

  it('has an option for every option of the table, and nothing else but the module\'s own', () => {
    const tablePaths = listOptions()
      .filter((r) => !(r.spec.kind === 'object' && (r.path === 'cluster' || r.path === 'timing' || r.path === 'fencing' || r.path === 'resourceDefaults' || r.path === 'witness')))
      .map((r) => normalize(r.path));
    const fromNix = [...nixTree.keys()].filter((p) => !MODULE_ONLY.includes(p));
    expect(fromNix.sort()).toEqual(tablePaths.sort());
    for (const p of MODULE_ONLY) expect(nixTree.has(p), p).toBe(true);
  });

  it('docs/nixos.md lists every option of the module\'s own', () => {
    const doc = readFileSync(new URL('docs/nixos.md', ROOT), 'utf8');
    for (const p of MODULE_ONLY) expect(doc, p).toContain(`| \`${p}\` |`);
  });

  it('says what the table says: descriptions and defaults', () => {
    let compared = 0;
    for (const row of listOptions()) {
      const opt = nixTree.get(normalize(row.path));
      if (!opt) continue; // top-level option sets (cluster, timing, …) are not options themselves
      compared++;
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
    expect(compared).toBeGreaterThan(100);
  });

  interface Machine {
    hostName: string;
    /** a JSON configuration from examples/ as services.tsha */
    example?: string;
    /** services.tsha on top of the example (lib.recursiveUpdate) */
    tsha?: Cfg;
    /** more of the machine's configuration, a Nix module expression */
    module?: string;
    /** microvm.nix's host module imported (microvm.vms declared) */
    microvm?: boolean;
    /** declare the resources' units as NixOS service modules would (default: on a node, tsha.enable) */
    units?: boolean;
  }

  /**
   * The units of the configuration's systemd resources declared as the NixOS modules that bring
   * them would (services.frr, services.nginx, containers.dns, fileSystems, …): a service wanted by
   * multi-user.target, a socket by sockets.target, a timer by timers.target; a template instance
   * through its template; container@NAME.service by containers.NAME; a mount by a fileSystems
   * entry with noauto.
   */
  function unitDeclarations(resources: Record<string, Cfg>): string {
    const lines: string[] = [];
    for (const r of Object.values(resources)) {
      const unit = r.kind === 'systemd' ? (r.params?.unit as string | undefined) : undefined;
      const m = unit ? /^(.+)\.([a-z]+)$/.exec(unit) : null;
      if (!m) continue;
      const [, base, type] = m as unknown as [string, string, string];
      const container = /^container@(.+)$/.exec(base);
      const declared = base.includes('@') ? base.replace(/@.*/, '@') : base;
      if (container) lines.push(`containers.${JSON.stringify(container[1])} = { };`);
      else if (type === 'service') lines.push(`systemd.services.${JSON.stringify(declared)} = { wantedBy = [ "multi-user.target" ]; serviceConfig.ExecStart = "/run/current-system/sw/bin/${declared}"; };`);
      else if (type === 'socket') lines.push(`systemd.sockets.${JSON.stringify(declared)} = { wantedBy = [ "sockets.target" ]; listenStreams = [ "/run/${declared}.sock" ]; };`);
      else if (type === 'timer') lines.push(`systemd.timers.${JSON.stringify(declared)} = { wantedBy = [ "timers.target" ]; timerConfig.OnCalendar = "daily"; };`);
      else if (type === 'path') lines.push(`systemd.paths.${JSON.stringify(declared)} = { wantedBy = [ "paths.target" ]; pathConfig.PathExists = "/run/${declared}"; };`);
      else if (type === 'target') lines.push(`systemd.targets.${JSON.stringify(declared)} = { wantedBy = [ "multi-user.target" ]; };`);
      else if (type === 'mount') lines.push(`fileSystems.${JSON.stringify('/' + base.replace(/-/g, '/').replace(/\\x2d/g, '-'))} = { device = "/dev/disk/by-label/${base}"; options = [ "noauto" ]; };`);
    }
    return `{ ${lines.join(' ')} }`;
  }

  function machineExpr(m: Machine): string {
    const example: Cfg = m.example ? loadExample(m.example) : {};
    if (example.witness === null) delete example.witness;
    const json = (v: unknown) => `(builtins.fromJSON ${JSON.stringify(JSON.stringify(v))})`;
    const resources = { ...(example.resources ?? {}), ...(m.tsha?.resources ?? {}) };
    return `import ./test/nix/eval.nix {
      lib = ${LIB};
      microvm = ${m.microvm ? 'true' : 'false'};
      modules = [
        ({ lib, pkgs, ... }: {
          networking.hostName = ${JSON.stringify(m.hostName)};
          services.tsha = lib.recursiveUpdate ${json(example)} ${json(m.tsha ?? {})} // { package = pkgs.tsha; };
        })
        ${(m.units ?? m.tsha?.enable === true) ? unitDeclarations(resources) : ''}
        ${m.module ?? ''}
      ];
    }`;
  }

  /** What nixos-module/ configures on one machine, as the module system merged it. */
  function machine(m: Machine): Cfg {
    return evalJson(machineExpr(m));
  }

  /** The evaluation error of a machine whose configuration the module system must refuse. */
  function refused(m: Machine): string {
    try {
      machine(m);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('the evaluation succeeded');
  }

  it('the stand-in NixOS options refuse what NixOS refuses: an undeclared option, a wrong type, a bad unit name', () => {
    const base = { hostName: 'left', example: 'two-node.json', tsha: { enable: true } };
    expect(refused({ ...base, module: '{ networking.nosuchoption = true; }' })).toMatch(/The option `networking\.nosuchoption' does not exist/);
    expect(refused({ ...base, module: '{ systemd.services.tsha-agent.serviceConfig.Restart = "sometimes"; }' })).toMatch(/systemd\.services\.tsha-agent\.serviceConfig/);
    expect(refused({ ...base, module: '{ systemd.services.tsha-agent.after = [ "network-online" ]; }' })).toMatch(/systemd\.services\.tsha-agent\.after/);
    expect(refused({ ...base, module: '{ networking.firewall.allowedTCPPorts = [ 70000 ]; }' })).toMatch(/allowedTCPPorts/);
    expect(refused({ ...base, tsha: { enable: true, logLevel: 'loud' } })).toMatch(/services\.tsha\.logLevel/);
  });

  // the planned examples too: their options (storage, promotable clones) go through Nix the same way, errors and all
  it.each([...VALID_EXAMPLES, ...PLANNED_EXAMPLES])('%s as services.tsha evaluates, and the JSON the module writes means what the example means', (name) => {
    const example: Cfg = loadExample(name);
    const nodeName = Object.keys(example.nodes)[0]!;
    const m = machine({ hostName: nodeName, example: name, tsha: { enable: true } });
    if (VALID_EXAMPLES.includes(name)) expect(m.failedAssertions).toEqual([]);
    expect(Object.keys(m.config).sort()).toEqual(Object.keys(rawConfigSpec.fields).sort());
    expect(JSON.stringify(m.config)).toContain('null'); // the nulls of unset options really are written
    const fromNix = validate(m.config);
    const direct = validate(example);
    expect(fromNix.ok ? fromNix.config : fromNix.errors).toEqual(direct.ok ? direct.config : direct.errors);
  });

  it('examples/nixos/two-node-witness.nix means the same configuration as examples/two-node-witness.json, on every machine', () => {
    for (const hostName of ['alpha', 'beta', 'nas']) {
      const m = evalJson(`import ./test/nix/eval.nix {
        lib = ${LIB};
        modules = [ ./examples/nixos/two-node-witness.nix ({ pkgs, ... }: { networking.hostName = "${hostName}"; services.tsha.package = pkgs.tsha; }) ];
      }`);
      expect(m.failedAssertions, hostName).toEqual([]);
      expect(Object.keys(m.services).sort(), hostName).toEqual(hostName === 'nas' ? ['tsha-witness'] : ['home-assistant', 'mosquitto', 'tsha-agent']);
      expect(m.wireguard.tsha0.peers, hostName).toHaveLength(2);
      expect(m.firewall.interfaces.tsha0.allowedTCPPorts, hostName).toEqual([7400]);
      const fromNix = validate(m.config);
      const direct = validate(loadExample('two-node-witness.json'));
      expect(fromNix.ok ? fromNix.config : fromNix.errors, hostName).toEqual(direct.ok ? direct.config : direct.errors);
    }
  });

  it('default.nix runs tsha-agent on a node: notify service with watchdog, state and runtime directories, checked config', () => {
    const c = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, controlSocketGroup: 'wheel', openFirewall: true } });
    expect(c.failedAssertions).toEqual([]);
    expect(Object.keys(c.services).sort()).toEqual(['frr', 'kea-dhcp4-server', 'tsha-agent']); // the agent and its resources
    const unit = c.services['tsha-agent'];
    expect(unit.serviceConfig).toMatchObject({
      Type: 'notify',
      NotifyAccess: 'all',
      WatchdogSec: '10s',
      Restart: 'on-failure',
      KillMode: 'process',
      StateDirectory: 'tsha',
      RuntimeDirectory: 'tsha',
      // systemd makes /run/tsha root's: the group's members must be able to reach the socket in it
      RuntimeDirectoryMode: '0755',
    });
    expect(machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } }).services['tsha-agent'].serviceConfig.RuntimeDirectoryMode).toBe('0750');
    expect(unit.serviceConfig.ExecStart).toBe(
      '/nix/store/stub-tsha/bin/tsha --log-level info agent --config /etc/tsha/config.json --node left --state-dir /var/lib/tsha --socket /run/tsha/control.sock --self-fence "sysrq-reboot" --socket-group wheel',
    );
    expect(unit.path).toEqual(['/nix/store/stub-systemd', '/nix/store/stub-fence-agents']);
    expect(c.etc['tsha/config.json'].source).toBe('/nix/store/stub-tsha-edge-2n-checked.json');
    expect(c.firewall.allowedTCPPorts).toEqual([7400]);
    expect(c.systemPackages).toEqual(['/nix/store/stub-tsha']);
  });

  it('default.nix makes a switch reload the daemons for a new configuration, and restart them (in one step) for anything else', () => {
    const agent = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } }).services['tsha-agent'];
    const witness = machine({ hostName: 'nas', example: 'two-node-witness.json', tsha: { witness: { enable: true } } }).services['tsha-witness'];
    for (const [unit, checked] of [[agent, '/nix/store/stub-tsha-edge-2n-checked.json'], [witness, '/nix/store/stub-tsha-home-checked.json']] as const) {
      // the daemon reads /etc/tsha/config.json, which the switch points at the new file before reloading
      expect(unit.serviceConfig.ExecStart).toContain(' --config /etc/tsha/config.json ');
      expect(unit.reloadTriggers).toEqual([checked]);
      expect(unit.serviceConfig.ExecReload).toBe('/nix/store/stub-coreutils/bin/kill -HUP $MAINPID');
      expect(unit).toMatchObject({ restartIfChanged: true, reloadIfChanged: false, stopIfChanged: false });
      // restarted, never given up on, while the mesh below it comes up slowly
      expect(unit.startLimitIntervalSec).toBe(0);
      expect(unit.serviceConfig).toMatchObject({ Restart: 'on-failure', RestartSec: '1s', RestartSteps: 5, RestartMaxDelaySec: '10s' });
    }
    // what a reload cannot change restarts the daemon
    expect(agent.restartTriggers).toEqual(['edge-2n', '10.90.0.1:7400']);
    expect(witness.restartTriggers).toEqual(['home', '10.90.0.9:7400']);
  });

  it('the rendered units\' sandbox, as systemd-analyze security --offline=yes scores it: the witness locked down, the agent bounded to what its resources need', () => {
    const witness = machine({ hostName: 'nas', example: 'two-node-witness.json', tsha: { witness: { enable: true } } }).services['tsha-witness'];
    const systemdOnly = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } }).services['tsha-agent'];
    const withIps = machine({ hostName: 'db1', example: 'virtual-ip.json', tsha: { enable: true } }).services['tsha-agent'];
    const withExec = machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true } }).services['tsha-agent'];
    const optedOut = machine({ hostName: 'db1', example: 'virtual-ip.json', tsha: { enable: true, agentSandbox: 'none' } }).services['tsha-agent'];
    const scores = {
      witness: exposure('tsha-witness.service', witness.serviceConfig),
      systemdOnly: exposure('tsha-agent.service', systemdOnly.serviceConfig),
      withIps: exposure('tsha-agent.service', withIps.serviceConfig),
      withExec: exposure('tsha-agent.service', withExec.serviceConfig),
      optedOut: exposure('tsha-agent.service', optedOut.serviceConfig),
    };
    // the witness: 8.4 with DynamicUser alone
    expect(scores.witness).toBeLessThanOrEqual(1.5);
    // systemd units over D-Bus and fence agents over the network: 2.7; with virtual IPs (ip, arping): 3.1
    // (2.5 and 3.0 with a self-fence other than sysrq-reboot, which leaves ProtectKernelTunables on)
    expect(scores.systemdOnly).toBeLessThanOrEqual(2.7);
    expect(scores.withIps).toBeLessThanOrEqual(3.1);
    // exec commands (or the sandbox turned off) run anything as the agent's children: unconfined
    expect(scores.withExec).toBeGreaterThanOrEqual(9.6);
    expect(scores.optedOut).toBeGreaterThanOrEqual(9.6);
  });

  it('default.nix bounds the agent by what its resources run: capabilities, address families and writable paths derived from the configuration', () => {
    const systemdOnly = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } }).services['tsha-agent'].serviceConfig;
    expect(systemdOnly).toMatchObject({
      // units started and stopped over D-Bus as root, fence agents over the network: no capability
      CapabilityBoundingSet: '',
      ProtectSystem: 'strict',
      // sysrq-reboot: /proc/sysrq-trigger writable, so /proc/sys and /sys read-only by name
      ProtectKernelTunables: false,
      ReadOnlyPaths: ['/proc/sys', '/sys'],
      ReadWritePaths: [],
      // fence_ipmilan devices: SSH-based fence agents read root's keys
      ProtectHome: 'read-only',
      RestrictAddressFamilies: ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK'],
      SystemCallFilter: ['@system-service', 'pkey_alloc', 'pkey_free', 'pkey_mprotect'],
      NoNewPrivileges: true,
      DevicePolicy: 'closed',
      DeviceAllow: [],
    });
    expect(systemdOnly.MemoryDenyWriteExecute).toBeUndefined(); // V8 compiles to executable memory
    const withIps = machine({ hostName: 'db1', example: 'virtual-ip.json', tsha: { enable: true, controlSocketGroup: 'wheel', fencing: { watchdog: true, watchdogDevice: '/dev/watchdog1' } } }).services['tsha-agent'].serviceConfig;
    expect(withIps).toMatchObject({
      CapabilityBoundingSet: 'CAP_CHOWN CAP_NET_ADMIN CAP_NET_RAW',
      RestrictAddressFamilies: ['AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET'],
      ReadWritePaths: ['/proc/sys/net/ipv6/conf'],
      DeviceAllow: ['/dev/watchdog1 rw'],
    });
    // no resource that systemd runs, no fence device, a mesh port below 1024, exit as self-fence
    const ipsOnly = machine({
      hostName: 'db1', example: 'virtual-ip.json', tsha: { enable: true, selfFence: 'exit', fencing: { watchdog: true }, nodes: { db1: { address: '10.90.0.1:700' } } },
      module: '({ lib, ... }: { services.tsha.resources.postgresql = lib.mkForce { kind = "ip"; params = { address = "10.90.1.11/24"; interface = "lan0"; }; }; services.tsha.fencing.devices = lib.mkForce { }; })',
    }).services['tsha-agent'].serviceConfig;
    expect(ipsOnly).toMatchObject({ CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE CAP_NET_ADMIN CAP_NET_RAW', ProtectHome: true, ProtectKernelTunables: true, ReadOnlyPaths: [], ReadWritePaths: ['/proc/sys/net/ipv6/conf'] });
  });

  it('default.nix leaves the agent unconfined when the configuration runs programs of its own choosing as the agent\'s children', () => {
    const unconfined = (m: Machine) => {
      const c = machine(m);
      expect(c.failedAssertions).toEqual([]);
      const sc = c.services['tsha-agent'].serviceConfig;
      expect(sc.CapabilityBoundingSet).toBeUndefined();
      expect(sc.ProtectSystem).toBeUndefined();
      expect(sc).toMatchObject({ SystemCallArchitectures: 'native', LockPersonality: true });
    };
    const base = { hostName: 'db1', example: 'virtual-ip.json' };
    unconfined({ ...base, tsha: { enable: true, agentSandbox: 'none' } });
    unconfined({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true } }); // an exec resource
    unconfined({ ...base, tsha: { enable: true, selfFence: 'command:systemctl reboot --force --force' } });
    unconfined({ ...base, tsha: { enable: true }, module: '{ services.tsha.resources.dummy = { kind = "ocf"; params.agent = "heartbeat:Dummy"; }; }' });
    unconfined({ ...base, tsha: { enable: true }, module: '{ services.tsha.resources.ct = { kind = "lxc"; params.name = "ct"; }; }' });
    unconfined({ ...base, tsha: { enable: true, fencing: { devices: { pdu: { unfence: true } } } } });
    unconfined({ ...base, tsha: { enable: true, fencing: { devices: { pdu: { agent: 'fence_sbd' } } } } });
    unconfined({ ...base, tsha: { enable: true }, module: '{ services.tsha.resources.postgresql.storage = { type = "rbd"; pool = "rbd"; image = "pg"; }; }' });
    unconfined({ ...base, tsha: { enable: true }, module: '{ services.tsha.resources.vm = { kind = "microvm"; params = { name = "vm"; readyCommand = "true"; }; }; }' });
  });

  it('the rendered units pass systemd-analyze verify: the agent (with credentials and a mesh interface; bounded, and unconfined) and the witness', () => {
    const wireguard = { enable: true, privateKeyFile: '/run/keys/wg.key', endpoints: { alpha: '192.0.2.1:51820', beta: '192.0.2.2:51820', nas: '192.0.2.9:51820' } };
    const units = {
      'tsha-agent.service': machine({ hostName: 'alpha', example: 'two-node-witness.json', tsha: { enable: true, wireguard, fenceCredentials: { 'bmc-password': '/run/keys/bmc-password' } } }).services['tsha-agent'],
      'tsha-witness.service': machine({ hostName: 'nas', example: 'two-node-witness.json', tsha: { witness: { enable: true }, wireguard } }).services['tsha-witness'],
      // the agent bounded for virtual IPs and systemd units, and unconfined for exec resources
      'tsha-agent-vip.service': machine({ hostName: 'db1', example: 'virtual-ip.json', tsha: { enable: true, controlSocketGroup: 'wheel', fencing: { watchdog: true, watchdogDevice: '/dev/watchdog' } } }).services['tsha-agent'],
      'tsha-agent-exec.service': machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true } }).services['tsha-agent'],
    };
    const dir = mkdtempSync(join(tmpdir(), 'tsha-verify-'));
    try {
      for (const [name, service] of Object.entries(units)) {
        const text = renderUnit(service, dir);
        // the programs the unit runs, as stand-in executables where the store paths point
        for (const [, path] of text.matchAll(/^Exec\w+=[-@:+!]*(\S+)/gm)) {
          mkdirSync(dirname(path!), { recursive: true });
          writeFileSync(path!, '#!/bin/sh\n', { mode: 0o755 });
        }
        writeFileSync(join(dir, name), text);
        const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, name)], { encoding: 'utf8' });
        // RestartSteps= and RestartMaxDelaySec= came with systemd 254 (NixOS has it); older ones ignore them
        const version = Number(/systemd (\d+)/.exec(spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' }).stdout)?.[1]);
        const diagnostics = r.stderr.split('\n').filter((l) => l && !(version < 254 && /Unknown key '(RestartSteps|RestartMaxDelaySec)'/.test(l)));
        expect(diagnostics, `${name}\n${text}`).toEqual([]);
        expect(r.status, name).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('default.nix puts fence-agents on the agent\'s PATH when there are fence devices, and hands it secrets with LoadCredential', () => {
    const c = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, fenceCredentials: { 'bmc-password': '/run/keys/bmc-password' } } });
    expect(c.failedAssertions).toEqual([]);
    expect(c.warnings).toEqual([]); // passwd_script: no password in the store
    expect(c.services['tsha-agent'].path).toContain('/nix/store/stub-fence-agents');
    expect(c.services['tsha-agent'].serviceConfig.LoadCredential).toEqual(['bmc-password:/run/keys/bmc-password']);
    expect(machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, fenceAgentsPackage: null } }).services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd']);
    const witnessOnly = machine({ hostName: 'alpha', example: 'two-node-witness.json', tsha: { enable: true }, module: '({ lib, ... }: { services.tsha.fencing.devices = lib.mkForce { }; })' });
    expect(witnessOnly.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd']);

    const inStore = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, fenceCredentials: { 'bmc-password': '/nix/store/abc-pw', 'a/b': '/run/keys/x', rel: 'keys/x' } } });
    expect(inStore.failedAssertions.sort()).toEqual([
      'services.tsha.fenceCredentials.a/b = "/run/keys/x": a credential is a name of letters, digits, \'_\', \'.\' and \'-\', and an absolute path outside the Nix store (a file in the store is readable by anyone on the machine).',
      'services.tsha.fenceCredentials.bmc-password = "/nix/store/abc-pw": a credential is a name of letters, digits, \'_\', \'.\' and \'-\', and an absolute path outside the Nix store (a file in the store is readable by anyone on the machine).',
      'services.tsha.fenceCredentials.rel = "keys/x": a credential is a name of letters, digits, \'_\', \'.\' and \'-\', and an absolute path outside the Nix store (a file in the store is readable by anyone on the machine).',
    ]);
    const plain = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, fencing: { devices: { 'ipmi-right': { parameters: { passwd: 'hunter2' } } } } } });
    expect(plain.warnings).toEqual([
      'services.tsha.fencing.devices.ipmi-right.parameters: a password given in the configuration ends up in the Nix store, readable by anyone on the machine; use passwd_script with services.tsha.fenceCredentials instead.',
    ]);
  });

  it('default.nix makes a node fence itself with a real reset (sysrq-reboot) unless told otherwise, and warns about exit without a watchdog', () => {
    const exec = (selfFence?: string, fencing: Cfg = {}) => machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, fencing, ...(selfFence ? { selfFence } : {}) } });
    expect(exec().services['tsha-agent'].serviceConfig.ExecStart).toContain(' --self-fence "sysrq-reboot"');
    // one ExecStart argument, with systemd's % and $ kept literal
    expect(exec('command:echo b > /proc/sysrq-trigger; logger "$HOME 100%"').services['tsha-agent'].serviceConfig.ExecStart).toContain(
      String.raw` --self-fence "command:echo b > /proc/sysrq-trigger; logger \"$$HOME 100%%\""`,
    );
    expect(exec('exit').warnings).toEqual([
      'services.tsha.selfFence = "exit" without fencing.watchdog: a node that must fence itself only kills its agent, and its resources keep running; use "sysrq-reboot" or watchdog fencing.',
    ]);
    expect(exec('exit', { watchdog: true, watchdogDevice: '/dev/watchdog' }).warnings).toEqual([]);
    expect(refused({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, selfFence: 'reboot' } })).toMatch(/services\.tsha\.selfFence/);
  });

  it('default.nix makes the WireGuard mesh from the node table: every other member a peer, the daemon after the interface, the mesh port open on it only', () => {
    const wireguard = { enable: true, privateKeyFile: '/run/keys/wg.key', endpoints: { alpha: '192.0.2.1:51820', beta: '192.0.2.2:51820', nas: 'nas.example.net:51820' } };
    const alpha = machine({ hostName: 'alpha', example: 'two-node-witness.json', tsha: { enable: true, openFirewall: true, wireguard } });
    expect(alpha.failedAssertions).toEqual([]);
    expect(alpha.wireguard).toEqual({
      tsha0: {
        ips: ['10.90.0.1/32'],
        listenPort: 51820,
        privateKey: null,
        privateKeyFile: '/run/keys/wg.key',
        generatePrivateKeyFile: false,
        allowedIPsAsRoutes: true,
        peers: [
          { publicKey: 'rttUAZIEHDTigK2iS6ZXFKjGadNBMopM6eSj+E4q8ww=', endpoint: '192.0.2.2:51820', allowedIPs: ['10.90.0.2/32'], persistentKeepalive: null, presharedKeyFile: null },
          { publicKey: 'Mb97lVMZFnpbKEDEwT2JUF9uqrvp0tzg9+7BVmVKh3M=', endpoint: 'nas.example.net:51820', allowedIPs: ['10.90.0.9/32'], persistentKeepalive: null, presharedKeyFile: null },
        ],
      },
    });
    expect(alpha.services['tsha-agent'].wants.sort()).toEqual(['network-online.target', 'wireguard-tsha0.service']);
    expect(alpha.services['tsha-agent'].after.sort()).toEqual(['network-online.target', 'wireguard-tsha0.service']);
    expect(alpha.firewall).toEqual({ allowedTCPPorts: [], allowedUDPPorts: [51820], interfaces: { tsha0: { allowedTCPPorts: [7400], allowedUDPPorts: [] } } });

    // the witness machine: both nodes as peers, the witness daemon after the interface
    const nas = machine({ hostName: 'nas', example: 'two-node-witness.json', tsha: { witness: { enable: true }, wireguard: { ...wireguard, persistentKeepalive: 25 } } });
    expect(nas.failedAssertions).toEqual([]);
    expect(nas.wireguard.tsha0.ips).toEqual(['10.90.0.9/32']);
    expect(nas.wireguard.tsha0.peers.map((p: Cfg) => [p.endpoint, p.allowedIPs, p.persistentKeepalive])).toEqual([['192.0.2.1:51820', ['10.90.0.1/32'], 25], ['192.0.2.2:51820', ['10.90.0.2/32'], 25]]);
    expect(nas.services['tsha-witness'].after).toContain('wireguard-tsha0.service');
    expect(nas.firewall.allowedUDPPorts).toEqual([]); // openFirewall not set

    // IPv6 mesh addresses
    const v6 = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, nodes: { left: { address: '[fd00::1]:7400' }, right: { address: '[fd00::2]:7400' } }, wireguard: { ...wireguard, endpoints: { right: '[2001:db8::2]:51820' } } } });
    expect(v6.failedAssertions).toEqual([]);
    expect(v6.wireguard.tsha0.ips).toEqual(['fd00::1/128']);
    expect(v6.wireguard.tsha0.peers[0]).toMatchObject({ endpoint: '[2001:db8::2]:51820', allowedIPs: ['fd00::2/128'] });

    // an interface the machine brings itself: the mesh port on it only, no interface made
    const own = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, openFirewall: true, meshInterface: 'wg0' } });
    expect(own.wireguard).toEqual({});
    expect(own.firewall).toEqual({ allowedTCPPorts: [], allowedUDPPorts: [], interfaces: { wg0: { allowedTCPPorts: [7400], allowedUDPPorts: [] } } });
  });

  it('default.nix asserts what the WireGuard mesh needs: a private key outside the store, every peer\'s key and endpoint, this machine a member', () => {
    const m = (wireguard: Cfg, extra: Cfg = {}) => machine({ hostName: 'alpha', example: 'two-node-witness.json', tsha: { enable: true, wireguard: { enable: true, ...wireguard }, ...extra } }).failedAssertions;
    expect(m({ endpoints: { beta: 'b:1', nas: 'n:1' } })).toEqual(['services.tsha.wireguard.privateKeyFile: set it to this machine\'s WireGuard private key, a file outside the Nix store.']);
    expect(m({ privateKeyFile: '/nix/store/abc-wg.key', endpoints: { beta: 'b:1', nas: 'n:1' } })).toEqual(['services.tsha.wireguard.privateKeyFile: set it to this machine\'s WireGuard private key, a file outside the Nix store.']);
    expect(m({ privateKeyFile: '/run/keys/wg', endpoints: { beta: 'b:1' } })).toEqual([
      'services.tsha.wireguard: the peer nas needs its publicKey (services.tsha.witness.publicKey) and its underlay address (services.tsha.wireguard.endpoints.nas).',
    ]);
    expect(m({ privateKeyFile: '/run/keys/wg', endpoints: { beta: 'b:1', nas: 'n:1' } }, { nodes: { beta: { publicKey: null } } })).toEqual([
      'services.tsha.wireguard: the peer beta needs its publicKey (services.tsha.nodes.beta.publicKey) and its underlay address (services.tsha.wireguard.endpoints.beta).',
    ]);
    expect(m({ privateKeyFile: '/run/keys/wg', endpoints: { beta: 'b:1', nas: 'n:1' } }, { meshInterface: null })).toEqual([
      'services.tsha.wireguard.enable: the interface needs a name (services.tsha.meshInterface).',
    ]);
    const stranger = machine({ hostName: 'other', example: 'two-node-witness.json', tsha: { enable: true, wireguard: { enable: true, privateKeyFile: '/run/keys/wg', endpoints: { alpha: 'a:1', beta: 'b:1', nas: 'n:1' } } } });
    expect(stranger.failedAssertions).toEqual([
      'services.tsha.nodeName "other" is not one of services.tsha.nodes (alpha, beta).',
      'services.tsha.wireguard.enable: this machine (other) is not a member of the cluster (services.tsha.nodes, services.tsha.witness).',
    ]);
    expect(stranger.wireguard).toEqual({});
  });

  /** what `tsha config check` runs on a file (checkWithOcfAgents: validation, then the ocf resources against the agents installed here), on a configuration the module wrote */
  async function configCheck(config: Cfg): Promise<{ ok: boolean; output: string }> {
    const r = await checkWithOcfAgents(JSON.stringify(config));
    if ('syntax' in r) return { ok: false, output: r.syntax };
    return { ok: r.result.ok, output: JSON.stringify(r.result.ok ? r.result.warnings : r.result.errors) };
  }

  /** every machine, its own module (a Nix expression) evaluated with its host name */
  function machinesOf(moduleOf: (hostName: string) => string, hostNames: readonly string[]): Record<string, Cfg> {
    return Object.fromEntries(hostNames.map((hostName) => [hostName, evalJson(`import ./test/nix/eval.nix {
      lib = ${LIB};
      modules = [ ${moduleOf(hostName)} ({ pkgs, ... }: { networking.hostName = "${hostName}"; services.tsha.package = pkgs.tsha; }) ];
    }`)]));
  }

  it.each([
    ['examples/nixos/two-node-witness.nix', ['alpha', 'beta', 'nas']],
    ['examples/nixos/three-node-vip.nix', ['n1', 'n2', 'n3']],
  ] as const)('%s evaluates on every machine, asserts nothing, and its JSON passes tsha config check', async (file, hostNames) => {
    const machines = machinesOf(() => `./${file}`, hostNames);
    for (const [hostName, m] of Object.entries(machines)) {
      expect(m.failedAssertions, hostName).toEqual([]);
      const check = await configCheck(m.config);
      expect(check.ok, `${hostName}: ${check.output}`).toBe(true);
    }
    // one configuration for the whole cluster
    expect(new Set(Object.values(machines).map((m) => JSON.stringify(m.config))).size).toBe(1);
  });

  it.each([false, true])('nixos-module/tests/failover.nix (witness %s): every machine evaluates, asserts nothing, its JSON passes tsha config check, and the web service is the cluster\'s', async (witness) => {
    const names = witness ? ['n1', 'n2', 'nas'] : ['n1', 'n2', 'n3'];
    const test = `(import ./nixos-module/tests/failover.nix { tshaModule = ./nixos-module/default.nix; witness = ${witness}; } { lib = ${LIB}; })`;
    expect(evalJson(`${test}.name`)).toBe(witness ? 'tsha-failover-witness' : 'tsha-failover-majority');
    expect(evalJson(`builtins.attrNames ${test}.nodes`)).toEqual(names);
    const script = evalJson(`${test}.testScript`) as unknown as string;
    expect(script).toContain('.crash()');
    expect(script).toContain('tsha status --output json');
    const machines = machinesOf((hostName) => `${test}.nodes.${hostName}`, names);
    for (const [hostName, m] of Object.entries(machines)) {
      expect(m.failedAssertions, hostName).toEqual([]);
      const check = await configCheck(m.config);
      expect(check.ok, `${hostName}: ${check.output}`).toBe(true);
      // the mesh from the node table: every other member a peer, reached at its host name
      expect(m.wireguard.tsha0.peers.map((p: Cfg) => p.endpoint).sort(), hostName).toEqual(names.filter((n) => n !== hostName).map((n) => `${n}:51820`));
      expect(m.wireguard.tsha0.privateKeyFile, hostName).toBe('/etc/tsha-test/wireguard.key');
      expect(m.etc['tsha-test/wireguard.key'].mode, hostName).toBe('0400');
    }
    expect(new Set(Object.values(machines).map((m) => JSON.stringify(m.config))).size).toBe(1);
    const validated = validate(machines.n1!.config);
    expect(validated.ok && validated.config.quorumMode).toBe(witness ? 'witness' : 'majority');
    for (const n of names.filter((x) => x !== 'nas')) {
      // declared wanted by multi-user.target, taken off it: only the node the cluster picks runs it
      expect(machines[n]!.services.web, n).toMatchObject({ wantedBy: [], restartIfChanged: false, stopIfChanged: false });
      expect(machines[n]!.boot.kernelModules, n).toEqual(['softdog']);
    }
    if (witness) expect(Object.keys(machines.nas!.services)).toEqual(['tsha-witness']);
  });

  it.each([false, true])('nixos-module/tests/failover.nix (witness %s): its test script runs to the end against a fake test driver, reads tsha status as the schema has it, and fails on two copies or none', (witness) => {
    const nodeNames = witness ? ['n1', 'n2'] : ['n1', 'n2', 'n3'];
    const script = evalJson(`(import ./nixos-module/tests/failover.nix { tshaModule = ./nixos-module/default.nix; witness = ${witness}; } { lib = ${LIB}; }).testScript`) as unknown as string;
    const dir = mkdtempSync(join(tmpdir(), 'tsha-vmtest-'));
    try {
      writeFileSync(join(dir, 'script.py'), script);
      const run = (fault: string) => spawnSync('python3', ['test/helpers/fake-nixos-test-driver.py', join(dir, 'script.py'), nodeNames.join(','), String(witness), fault, join(dir, 'served.json')], { cwd: rootPath, encoding: 'utf8' });
      const ok = run('none');
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout).toContain('script passed');
      // every status the script read is one `tsha status --output json` may print
      const validateStatus = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(new URL('docs/status.schema.json', ROOT), 'utf8')));
      const served = JSON.parse(readFileSync(join(dir, 'served.json'), 'utf8')) as unknown[];
      expect(served.length).toBeGreaterThan(2);
      for (const s of served) expect(validateStatus(s), JSON.stringify(validateStatus.errors)).toBe(true);
      // after the crash, the service on two survivors, or on none while tsha status names one: the script fails
      for (const fault of witness ? ['not-running'] : ['two-copies', 'not-running']) {
        const bad = run(fault);
        expect(bad.status, fault).not.toBe(0);
        expect(bad.stderr, fault).toMatch(fault === 'two-copies' ? /AssertionError: \['n2', 'n3'\]/ : /AssertionError: \[\]/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('default.nix checks the generated JSON with tsha config check while building', () => {
    const c = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } });
    expect(c.checkScript).toMatch(/^tsha config check \/nix\/store\/stub-tsha-edge-2n\.json\n/);
  });

  it('default.nix puts ip and arping on the agent\'s PATH when the configuration has virtual IPs', () => {
    const c = machine({ hostName: 'db1', example: 'virtual-ip.json', tsha: { enable: true } });
    expect(c.failedAssertions).toEqual([]);
    expect(c.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd', '/nix/store/stub-iproute2', '/nix/store/stub-iputils', '/nix/store/stub-fence-agents']);
    const without = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } });
    expect(without.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd', '/nix/store/stub-fence-agents']);
  });

  it('default.nix puts LXC\'s tools on the agent\'s PATH when a resource is an LXC container', () => {
    const c = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, resources: { dns: { kind: 'lxc', params: { name: 'dns' } } } } });
    expect(c.failedAssertions).toEqual([]);
    expect(c.services['tsha-agent'].path).toEqual(['/nix/store/stub-systemd', '/nix/store/stub-lxc', '/nix/store/stub-fence-agents']);
  });

  it('default.nix gives the agent nixpkgs\' OCF agents when an ocf resource needs them, or the ocfRoot given, and /run/resource-agents', () => {
    const withOcf = (o: Cfg) => machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, resources: { vip: { kind: 'ocf', params: { agent: 'heartbeat:IPaddr2', ip: '10.0.0.9' } } }, ...o } });
    expect(withOcf({}).services['tsha-agent'].serviceConfig.ExecStart).toMatch(/ --ocf-root \/nix\/store\/stub-ocf-resource-agents\/usr\/lib\/ocf$/);
    expect(withOcf({}).tmpfiles).toEqual(['d /run/resource-agents 1755 root root -']);
    expect(withOcf({ ocfRoot: '/srv/ocf' }).services['tsha-agent'].serviceConfig.ExecStart).toMatch(/ --ocf-root \/srv\/ocf$/);
    const without = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } });
    expect(without.services['tsha-agent'].serviceConfig.ExecStart).not.toContain('--ocf-root');
    expect(without.tmpfiles).toEqual([]);
  });

  it('default.nix with softdog: loads it with soft_margin = timing.watchdogMs in seconds, and asserts watchdog fencing', () => {
    const c = machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, softdog: true, fencing: { watchdog: true }, timing: { watchdogMs: 7000 } } });
    expect(c.failedAssertions).toEqual([]);
    expect(c.boot).toEqual({ kernelModules: ['softdog'], extraModprobeConfig: 'options softdog soft_margin=7' });
    expect(c.config.fencing.watchdogDevice).toBe('/dev/watchdog');
    const off = machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, softdog: true } });
    expect(off.failedAssertions).toEqual([
      'services.tsha.softdog: the watchdog device is fed by watchdog fencing; set services.tsha.fencing.watchdog = true (and fencing.enabled).',
    ]);
    expect(off.boot).toEqual({ kernelModules: ['softdog'], extraModprobeConfig: 'options softdog soft_margin=5' });
  });

  it('default.nix warns when systemd itself holds the watchdog device tsha is given', () => {
    const m = { hostName: 'n1', example: 'three-node.json', tsha: { enable: true, fencing: { watchdog: true, watchdogDevice: '/dev/watchdog0' } } };
    expect(machine(m).warnings).toEqual([]);
    expect(machine({ ...m, module: '{ systemd.watchdog.runtimeTime = "30s"; }' }).warnings).toEqual([
      'services.tsha.fencing.watchdogDevice = /dev/watchdog0 while systemd.watchdog.runtimeTime is set: systemd holds a watchdog device open, and the agent cannot open that same one (EBUSY); give tsha another device (services.tsha.softdog) or leave runtimeTime unset.',
    ]);
  });

  it('default.nix keeps microvm.nix from starting a VM the cluster runs at boot or restarting it on a switch, and asserts it, naming the resource', () => {
    const vm = (module: string) => machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, resources: { mail: { kind: 'microvm', params: { name: 'mail' } } } }, microvm: true, module });
    const message = 'services.tsha.resources.mail: microvm.vms.mail.autostart and .restartIfChanged must be false (and "mail" not in microvm.autostart): tsha starts the VM on one node; autostart would start it at boot on every node that declares it, and restartIfChanged would restart it on a switch.';
    // declared as microvm.nix users do (both default to true there): the module turns both off
    const declared = vm('{ microvm.vms.mail = { }; }');
    expect(declared.failedAssertions).toEqual([]);
    expect(declared.microvmVms.mail).toEqual({ autostart: false, restartIfChanged: false });
    // turned on again by the configuration: refused
    expect(vm('{ microvm.vms.mail.autostart = true; }').failedAssertions).toEqual([message]);
    expect(vm('{ microvm.vms.mail.restartIfChanged = true; }').failedAssertions).toEqual([message]);
    expect(vm('{ microvm.autostart = [ "mail" ]; }').failedAssertions).toEqual([message]); // a VM made with the microvm command
    // other VMs keep microvm.nix's defaults; a VM not declared here is not made
    const other = vm('{ microvm.vms.other = { }; }');
    expect(other.failedAssertions).toEqual([]);
    expect(other.microvmVms).toEqual({ other: { autostart: true, restartIfChanged: true } });
    expect(vm('{ }').microvmVms).toEqual({});
    // microvm.nix not imported on this machine: nothing to assert, nothing set
    expect(machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, resources: { mail: { kind: 'microvm', params: { name: 'mail' } } } } }).failedAssertions).toEqual([]);
  });

  it('default.nix asserts that a NixOS container the cluster runs is not autoStarted, naming the resource', () => {
    const ct = (module: string) => machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true }, module }).failedAssertions;
    expect(ct('{ containers.dns.autoStart = true; }')).toEqual([
      'services.tsha.resources.dns: containers.dns.autoStart must be false: tsha starts the container on one node, and autoStart would start it at boot on every node that declares it.',
    ]);
    expect(ct('{ containers.dns = { }; }')).toEqual([]); // nixpkgs' default: false
    expect(ct('{ containers.other.autoStart = true; }')).toEqual([]);
  });

  it('default.nix leaves the cluster\'s services to the agent: not wanted at boot, neither restarted nor stopped by a switch', () => {
    // as a NixOS service module would declare them: wanted by multi-user.target, restarted when changed
    const services = '{ systemd.services.frr = { wantedBy = [ "multi-user.target" ]; restartIfChanged = true; serviceConfig.ExecStart = "/run/current-system/sw/bin/frr"; }; }';
    const c = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true }, module: services });
    expect(c.failedAssertions).toEqual([]);
    expect(Object.keys(c.services).sort()).toEqual(['frr', 'kea-dhcp4-server', 'tsha-agent']);
    for (const name of ['frr', 'kea-dhcp4-server']) {
      expect(c.services[name], name).toMatchObject({ wantedBy: [], restartIfChanged: false, stopIfChanged: false });
    }
    expect(c.services.frr.serviceConfig).toEqual({ ExecStart: '/run/current-system/sw/bin/frr' });
    // the witness machine runs no resources: their units are left alone
    const w = machine({ hostName: 'nas', example: 'two-node-witness.json', tsha: { witness: { enable: true } }, module: '{ systemd.services.mosquitto.wantedBy = [ "multi-user.target" ]; }' });
    expect(w.services.mosquitto).toMatchObject({ wantedBy: ['multi-user.target'], restartIfChanged: true, stopIfChanged: true });
  });

  it('default.nix owns every kind of unit: templates through their template, sockets and timers with the services they start, targets, paths, mounts', () => {
    const resources = {
      tty: { kind: 'systemd', params: { unit: 'getty@tty9.service' } },
      dns: { kind: 'systemd', params: { unit: 'container@dns.service' } },
      web: { kind: 'systemd', params: { unit: 'web.socket' } },
      backup: { kind: 'systemd', params: { unit: 'backup.timer' } },
      spool: { kind: 'systemd', params: { unit: 'spool.path' } },
      stack: { kind: 'systemd', params: { unit: 'stack.target' } },
      data: { kind: 'systemd', params: { unit: 'srv-data.mount' } },
    };
    // the services the socket, the timer and the path start, as their NixOS modules declare them
    const started = '{ systemd.services = { web = { wantedBy = [ "multi-user.target" ]; }; "web@" = { }; backup = { wantedBy = [ "multi-user.target" ]; }; spool = { }; }; }';
    const c = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, resources }, module: started });
    expect(c.failedAssertions).toEqual([]);
    // a template instance: the declared template only, never an instance of its own that would hide it
    expect(c.services).not.toHaveProperty(['getty@tty9']);
    expect(c.services['getty@'].wantedBy).toEqual(['multi-user.target']);
    // an instance declared on its own (nixos-containers declares container@NAME): owned
    expect(c.services['container@dns']).toMatchObject({ wantedBy: [], restartIfChanged: false, stopIfChanged: false });
    // the socket, the timer and the path unit are not started at boot, nor the services they
    // start (the socket's Accept=yes template too); the switch skips the timer and the path unit
    expect(c.units.sockets.web.wantedBy).toEqual([]);
    expect(c.units.timers.backup).toMatchObject({ wantedBy: [], unitConfig: { 'X-OnlyManualStart': true } });
    expect(c.units.paths.spool).toMatchObject({ wantedBy: [], unitConfig: { 'X-OnlyManualStart': true } });
    expect(c.units.targets.stack.wantedBy).toEqual([]);
    for (const name of ['web', 'web@', 'backup', 'spool']) {
      expect(c.services[name], name).toMatchObject({ wantedBy: [], restartIfChanged: false, stopIfChanged: false });
    }
    // nothing is made where no module declares a unit: no backup@, spool@, stack or mount service
    expect(Object.keys(c.services).sort()).toEqual(['backup', 'container@dns', 'frr', 'getty@', 'kea-dhcp4-server', 'spool', 'tsha-agent', 'web', 'web@']);
    expect(Object.keys(c.units.sockets)).toEqual(['web']);
  });

  it('default.nix asserts that the unit of every systemd resource exists, and that no mount is mounted at boot, naming the resource', () => {
    const missing = machine({ hostName: 'left', example: 'two-node.json', units: false, tsha: { enable: true, resources: {
      tty: { kind: 'systemd', params: { unit: 'getty@tty9.service' } },
      web: { kind: 'systemd', params: { unit: 'web.socket' } },
      backup: { kind: 'systemd', params: { unit: 'backup.timer' } },
      spool: { kind: 'systemd', params: { unit: 'spool.path' } },
      stack: { kind: 'systemd', params: { unit: 'stack.target' } },
      data: { kind: 'systemd', params: { unit: 'srv-data.mount' } },
      home: { kind: 'systemd', params: { unit: 'home.automount' } },
    } } });
    expect(missing.failedAssertions.sort()).toEqual([
      'services.tsha.resources.backup: no module of this system declares the unit backup.timer: declare it in systemd.timers.backup; if a package in systemd.packages ships it, say so with systemd.timers.backup = { }.',
      'services.tsha.resources.data: no module of this system declares the unit srv-data.mount: declare it in systemd.mounts or fileSystems.',
      'services.tsha.resources.dhcp: no module of this system declares the unit kea-dhcp4-server.service: declare it in systemd.services.kea-dhcp4-server; if a package in systemd.packages ships it, say so with systemd.services.kea-dhcp4-server = { }.',
      'services.tsha.resources.home: no module of this system declares the unit home.automount: declare it in systemd.automounts or fileSystems, with x-systemd.automount.',
      'services.tsha.resources.router: no module of this system declares the unit frr.service: declare it in systemd.services.frr; if a package in systemd.packages ships it, say so with systemd.services.frr = { }.',
      'services.tsha.resources.spool: no module of this system declares the unit spool.path: declare it in systemd.paths.spool; if a package in systemd.packages ships it, say so with systemd.paths.spool = { }.',
      'services.tsha.resources.stack: no module of this system declares the unit stack.target: declare it in systemd.targets.stack; if a package in systemd.packages ships it, say so with systemd.targets.stack = { }.',
      'services.tsha.resources.tty: no module of this system declares the unit getty@tty9.service: declare it in systemd.services."getty@" (the template) or systemd.services."getty@tty9"; if a package in systemd.packages ships the template, say so with systemd.services."getty@" = { }.',
      'services.tsha.resources.web: no module of this system declares the unit web.socket: declare it in systemd.sockets.web; if a package in systemd.packages ships it, say so with systemd.sockets.web = { }.',
    ]);
    // nothing was made for them either
    expect(Object.keys(missing.services)).toEqual(['tsha-agent']);
    expect(missing.units).toEqual({ sockets: {}, timers: {}, targets: {}, paths: {} });

    // another unit that pulls a resource's unit in would start it on every node; the cluster's
    // own units may (a group's members, started together on one node)
    const pulled = (module: string) => machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true }, module }).failedAssertions;
    expect(pulled('{ systemd.targets.multi-user.wants = [ "kea-dhcp4-server.service" ]; }')).toEqual([
      'services.tsha.resources.dhcp: systemd.targets.multi-user.wants names kea-dhcp4-server.service: tsha starts it on one node, and it would be started with that unit on every node.',
    ]);
    expect(pulled('{ systemd.services.other = { wants = [ "frr.service" ]; upholds = [ "frr.service" ]; }; }')).toEqual([
      'services.tsha.resources.router: systemd.services.other.wants, systemd.services.other.upholds name frr.service: tsha starts it on one node, and it would be started with those units on every node.',
    ]);
    expect(pulled('{ systemd.services.kea-dhcp4-server.wants = [ "frr.service" ]; systemd.services.other.after = [ "frr.service" ]; }')).toEqual([]);
    // requiredBy and upheldBy start a unit at boot as wantedBy does: forced empty too
    const required = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true }, module: '{ systemd.services.frr = { requiredBy = [ "multi-user.target" ]; upheldBy = [ "multi-user.target" ]; }; }' });
    expect(required.services.frr).toMatchObject({ wantedBy: [], requiredBy: [], upheldBy: [] });

    // mounts: a fileSystems entry needs noauto, a systemd.mounts entry no wantedBy/requiredBy
    const mount = (module: string) => machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, resources: { data: { kind: 'systemd', params: { unit: 'srv-data.mount' } } } }, units: false, module: `{ systemd.services = { frr = { }; kea-dhcp4-server = { }; }; } ${module}` }).failedAssertions;
    expect(mount('{ fileSystems."/srv/data" = { device = "/dev/drbd0"; options = [ "noauto" ]; }; }')).toEqual([]);
    expect(mount('{ fileSystems."/srv/data".device = "/dev/drbd0"; }')).toEqual([
      'services.tsha.resources.data: fileSystems."/srv/data".options must have "noauto": tsha mounts srv-data.mount on one node, and without it every node mounts it at boot.',
    ]);
    expect(mount('{ systemd.mounts = [ { where = "/srv/data"; what = "/dev/drbd0"; } ]; }')).toEqual([]);
    expect(mount('{ systemd.mounts = [ { where = "/srv/data"; what = "/dev/drbd0"; wantedBy = [ "multi-user.target" ]; } ]; }')).toEqual([
      'services.tsha.resources.data: the systemd.mounts entry for /srv/data must have no wantedBy or requiredBy: tsha mounts srv-data.mount on one node, and they would mount it on every node.',
    ]);
    // systemd's escaping of a mount point: /srv/my-data is srv-my\x2ddata.mount
    const escaped = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, resources: { data: { kind: 'systemd', params: { unit: 'srv-my\\x2ddata.mount' } } } }, units: false, module: '{ systemd.services = { frr = { }; kea-dhcp4-server = { }; }; fileSystems."/srv/my-data" = { device = "/dev/drbd0"; options = [ "noauto" ]; }; }' });
    expect(escaped.failedAssertions).toEqual([]);
    // an automount from fileSystems with x-systemd.automount
    const auto = machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true, resources: { home: { kind: 'systemd', params: { unit: 'home.automount' } } } }, units: false, module: '{ systemd.services = { frr = { }; kea-dhcp4-server = { }; }; fileSystems."/home" = { device = "nas:/home"; options = [ "noauto" "x-systemd.automount" ]; }; }' });
    expect(auto.failedAssertions).toEqual([]);
  });

  it('default.nix runs tsha-witness on the witness machine, and its assertions name their subject', () => {
    const w = machine({ hostName: 'nas', example: 'two-node-witness.json', tsha: { witness: { enable: true }, openFirewall: true } });
    expect(w.failedAssertions).toEqual([]);
    expect(Object.keys(w.services)).toEqual(['tsha-witness']);
    expect(w.services['tsha-witness'].serviceConfig).toMatchObject({ Type: 'notify', DynamicUser: true, StateDirectory: 'tsha-witness' });
    expect(w.firewall.allowedTCPPorts).toEqual([7400]);

    const wrongNode = machine({ hostName: 'middle', example: 'two-node.json', tsha: { enable: true } });
    expect(wrongNode.failedAssertions).toEqual(['services.tsha.nodeName "middle" is not one of services.tsha.nodes (left, right).']);
    const both = machine({ hostName: 'alpha', example: 'two-node-witness.json', tsha: { enable: true, witness: { enable: true } } });
    expect(both.failedAssertions).toEqual([
      'services.tsha: this machine is both a node (services.tsha.enable) and the witness (services.tsha.witness.enable); the witness must run on a third machine.',
    ]);
    const nameless = machine({ hostName: 'nas', example: 'two-node.json', tsha: { witness: { enable: true } } });
    expect(nameless.failedAssertions).toEqual(['services.tsha.witness.enable: the witness needs services.tsha.witness.name and services.tsha.witness.address.']);
    const threeAndWitness = machine({ hostName: 'n1', example: 'three-node.json', tsha: { enable: true, witness: { name: 'nas', address: '10.0.0.9:7400' } } });
    expect(threeAndWitness.failedAssertions).toEqual(['services.tsha.witness: a witness breaks ties between exactly two nodes; services.tsha.nodes has 3.']);
  });

  it('default.nix gives this machine\'s Prometheus tsha\'s alert rules, checked by promtool while building', () => {
    const m = machine({ hostName: 'mon', example: 'two-node.json', tsha: { prometheusRules: true } });
    expect(m.failedAssertions).toEqual([]);
    expect(m.prometheusRuleFiles).toHaveLength(1);
    expect(m.prometheusRuleFiles[0].buildCommand).toMatch(/^promtool check rules \/nix\/store\/stub-tsha-alert-rules\.yml\n/);
    expect(m.prometheusRuleFiles[0].rules.groups[0].rules.map((r: Cfg) => r.alert)).toContain('TshaFenceFailed');
    expect(m.services).toEqual({}); // not a node
    expect(machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } }).prometheusRuleFiles).toEqual([]);
  });

  it('default.nix gives this machine\'s Prometheus the scrape job the alert rules read: every node\'s agent on its mesh host', () => {
    const m = machine({ hostName: 'mon', example: 'three-node.json', tsha: { prometheusRules: true, prometheusScrape: { enable: true } } });
    expect(m.failedAssertions).toEqual([]);
    expect(m.prometheusScrapeConfigs).toEqual([{ job_name: 'tsha', static_configs: [{ targets: ['10.90.0.1:9740', '10.90.0.2:9740', '10.90.0.3:9740'], labels: {} }] }]);
    // the job the rules name: TshaAgentDown is up{job="tsha"} == 0
    expect(JSON.stringify(m.prometheusRuleFiles[0].rules)).toContain('up{job=\\"tsha\\"} == 0');
    const v6 = machine({ hostName: 'mon', example: 'two-node.json', tsha: { prometheusScrape: { enable: true, port: 9100 }, nodes: { left: { address: '[fd00::1]:7400' }, right: { address: '[fd00::2]:7400' } } } });
    expect(v6.prometheusScrapeConfigs[0].static_configs[0].targets).toEqual(['[fd00::1]:9100', '[fd00::2]:9100']);
    expect(machine({ hostName: 'mon', example: 'two-node.json', tsha: { prometheusRules: true } }).prometheusScrapeConfigs).toEqual([]);
  });

  it('default.nix provisions the Grafana dashboard into this machine\'s Grafana', () => {
    const m = machine({ hostName: 'mon', example: 'two-node.json', tsha: { grafanaDashboard: true } });
    expect(m.failedAssertions).toEqual([]);
    expect(m.grafana.enable).toBe(true);
    expect(m.grafana.providers).toHaveLength(1);
    expect(m.grafana.providers[0]).toMatchObject({ name: 'tsha', type: 'file' });
    expect(m.grafana.providers[0].options.path.buildCommand).toMatch(/cp \S*grafana-dashboard\.json \$out\/tsha\.json/);
    expect(m.grafana.providers[0].options.path.dashboard).toMatch(/nixos-module\/grafana-dashboard\.json$/);
    expect(machine({ hostName: 'left', example: 'two-node.json', tsha: { enable: true } }).grafana).toEqual({ enable: false, providers: [] });
  });

  it('package.nix builds with buildNpmPackage from package-lock.json (importNpmLock), on Node.js 24, with package.json\'s version, running no install script', () => {
    // nixpkgs' builders stand in as functions that return what they were given
    const args = evalJson(`let lib = ${LIB}; in import ./nixos-module/package.nix {
      inherit lib;
      buildNpmPackage = args: args;
      importNpmLock = { __functor = _: a: { lock = a.npmRoot; }; npmConfigHook = "importNpmLock.npmConfigHook"; };
      nodejs_24 = "nodejs_24";
      src = toString ./.;
    }`);
    expect(args).toMatchObject({
      pname: 'tsha',
      version: JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')).version,
      nodejs: 'nodejs_24',
      npmDeps: { lock: rootPath.replace(/\/$/, '') },
      npmConfigHook: 'importNpmLock.npmConfigHook',
      npmBuildScript: 'build',
      // no install script runs (usocket's node-gyp 7 fails), usocket is pruned with the dev tools,
      // and npm pack does not build a second time: npm run check:package runs these npm steps
      npmRebuildFlags: ['--ignore-scripts'],
      npmPackFlags: ['--ignore-scripts'],
      npmPruneFlags: ['--omit=optional'],
      meta: { mainProgram: 'tsha', license: { spdxId: 'MIT' } },
    });
  });

  it('flake.nix: its outputs evaluate against a stand-in nixpkgs, every example machine is a check (assertions held), the VM tests are checks', () => {
    const o = `(import ./test/nix/flake.nix { lib = ${LIB}; })`;
    const out = evalJson(`let o = ${o}; lib = ${LIB}; checks = o.checks.x86_64-linux; in {
      checks = builtins.attrNames checks;
      examples = lib.mapAttrs (_: c: { inherit (c) buildCommand; tools = map (p: p.name) c.nativeBuildInputs; })
        (lib.filterAttrs (n: _: lib.hasPrefix "example-" n) checks);
      tests = map (n: (checks.\${n}.test { inherit lib; }).name) [ "failover-majority" "failover-witness" ];
      package = o.packages.x86_64-linux.default.name;
      modules = builtins.attrNames o.nixosModules;
    }`);
    expect(out.checks).toEqual([
      'example-three-node-vip-n1', 'example-three-node-vip-n2', 'example-three-node-vip-n3',
      'example-two-node-witness-alpha', 'example-two-node-witness-beta', 'example-two-node-witness-nas',
      'examples', 'failover-majority', 'failover-witness', 'package',
    ]);
    // every example machine: its configuration file checked by the flake's own package
    for (const [name, check] of Object.entries(out.examples as Record<string, Cfg>)) {
      expect(check.buildCommand, name).toMatch(/^tsha config check \/nix\/store\/stub-tsha-[a-z]+\.json\n/);
      expect(check.tools, name).toEqual(['tsha-0.1.0']);
    }
    expect(out.tests).toEqual(['tsha-failover-majority', 'tsha-failover-witness']);
    expect(out.package).toBe('tsha-0.1.0');
    expect(out.modules).toEqual(['default']);
    // every example/nixos file has its machines among the checks
    for (const f of readdirSync(new URL('examples/nixos/', ROOT))) {
      expect(out.checks.some((c: string) => c.startsWith(`example-${f.replace(/\.nix$/, '')}-`)), f).toBe(true);
    }
  });

  it('configures nothing when neither the agent nor the witness is enabled', () => {
    const c = machine({ hostName: 'left', example: 'two-node.json' });
    expect(c).toMatchObject({ failedAssertions: [], services: {}, etc: {}, systemPackages: [], config: null });
  });
});
