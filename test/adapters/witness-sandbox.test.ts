// The witness under the sandbox the NixOS module gives it (nixos-module/default.nix, evaluated by
// nixpkgs' real module system), run by a REAL systemd --user as a Type=notify unit: it must start,
// report READY and keep running under the system call filter, the read-only file system and the
// rest. Left out, because this user manager cannot apply them: DynamicUser, PrivateUsers and
// ProtectHome (the unit runs as the manager's user, root).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNixpkgsLib, hasNixInstantiate, renderServiceSection } from '../helpers/nix.js';
import { startSystemdUser, skipWithoutSystemd, type SystemdUser } from '../helpers/systemd-user.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The witness's serviceConfig as the module sets it, for the two-node-witness example's NAS. */
function witnessServiceConfig(lib: string): Record<string, unknown> {
  const example = execFileSync(process.execPath, ['-e', `process.stdout.write(require('fs').readFileSync('examples/two-node-witness.json','utf8'))`], { cwd: ROOT, encoding: 'utf8' });
  const expr = `(import ./test/nix/eval.nix {
    lib = import ${JSON.stringify(lib)};
    modules = [ ({ lib, pkgs, ... }: { networking.hostName = "nas"; services.tsha = (builtins.fromJSON ${JSON.stringify(example)}) // { package = pkgs.tsha; witness.enable = true; }; }) ];
  }).services.tsha-witness.serviceConfig`;
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NIX_CONFIG: 'build-users-group =' } });
  return JSON.parse(out) as Record<string, unknown>;
}

// DynamicUser and PrivateUsers are not for a user manager; ProtectHome fails to set up under
// this nested one (226/NAMESPACE); the state directory is bound where NixOS has it
const USER_MANAGER_CANNOT = ['DynamicUser', 'PrivateUsers', 'ProtectHome', 'StateDirectory', 'StateDirectoryMode', 'ExecStart', 'ExecReload'];

const lib = findNixpkgsLib().found;
const hasNix = hasNixInstantiate();
const skip = skipWithoutSystemd('witness sandbox test') || !lib || !hasNix;

describe.skipIf(skip)('the witness in its NixOS sandbox, under a real systemd', () => {
  let sd: SystemdUser;
  beforeAll(async () => {
    sd = await startSystemdUser();
  }, 60_000);
  afterAll(async () => {
    await sd?.stop();
  });

  it('starts, reports READY and keeps running', async () => {
    const sc = witnessServiceConfig(lib!);
    expect(sc.SystemCallFilter).toEqual(['@system-service', 'pkey_alloc', 'pkey_free', 'pkey_mprotect', '~@privileged']);
    expect(sc.ProtectSystem).toBe('strict');
    const port = 22000 + Math.floor(Math.random() * 20000);
    const config = join(sd.root, 'cluster.json');
    writeFileSync(config, JSON.stringify({
      cluster: { name: 'sandbox', id: 'sandbox-1' },
      nodes: { a: { address: `127.0.77.1:${port}` }, b: { address: `127.0.77.2:${port + 1}` } },
      witness: { name: 'w', address: `127.0.77.9:${port + 2}` },
      fencing: { enabled: true, devices: { p: { agent: 'fence_tsha_test', hosts: ['a', 'b'] } } },
      resources: {},
    }));
    const state = join(sd.root, 'state');
    mkdirSync(state, { mode: 0o700 });
    // where NixOS puts them: the configuration in /etc/tsha, the state in /var/lib/tsha-witness
    await sd.writeUnit('tsha-witness.service', renderServiceSection(sc, USER_MANAGER_CANNOT, [
      `ExecStart=${process.execPath} --import tsx ${join(ROOT, 'src/cli/main.ts')} witness --config /etc/tsha/config.json --state-dir /var/lib/tsha-witness`,
      `BindReadOnlyPaths=${config}:/etc/tsha/config.json`,
      `BindPaths=${state}:/var/lib/tsha-witness`,
      // the user manager's notify socket lives in its runtime directory under /tmp, which
      // PrivateTmp hides (a system manager's is /run/systemd/notify)
      `BindPaths=${sd.runtimeDir}`,
      `WorkingDirectory=${ROOT}`,
      `StandardError=file:${join(sd.root, 'witness.err')}`,
    ]));
    await sd.reload();
    const start = await sd.systemctl('start', 'tsha-witness.service');
    const journal = async () => (await sd.systemctl('status', '--no-pager', '-n', '30', 'tsha-witness.service')).stdout + (await sd.systemctl('show', '-p', 'ExecMainStatus,ExecMainCode,Result', 'tsha-witness.service')).stdout;
    expect(start.code, `${start.stderr}\n${await journal()}`).toBe(0);
    // Type=notify: start returned once READY=1 came; it must still run a few seconds later
    await new Promise((r) => setTimeout(r, 3000));
    expect(await sd.show('tsha-witness.service', 'ActiveState'), await journal()).toBe('active');
    expect(await sd.show('tsha-witness.service', 'NRestarts')).toBe('0');
    // it ran as the witness: its state file is where NixOS keeps it
    expect(existsSync(join(state, 'durable.json')) || readdirSync(state).length > 0).toBe(true);
  }, 60_000);
});
