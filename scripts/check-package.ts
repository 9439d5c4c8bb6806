// nixos-module/package.nix builds with nixpkgs' buildNpmPackage, which cannot run here (no
// nixpkgs). This check runs the npm steps its hooks run, with the flags package.nix gives them, in
// a copy of the repository's files, offline from npm's cache (`npm ci` fills it), and exits non-zero
// when one fails or the output is not what package.nix says:
//   importNpmLock's npmConfigHook: npm install --ignore-scripts $npmInstallFlags (here npm ci,
//     the same tree from the lock file), then npm rebuild $npmRebuildFlags;
//   npmBuildHook: npm run $npmBuildScript;
//   npmInstallHook: the files `npm pack --dry-run $npmPackFlags` lists, then npm prune --omit=dev --no-save
//     $npmPruneFlags and the pruned node_modules; bin/tsha → node dist/src/cli/main.js.
// Then the command runs from that output. Run it with `npm run check:package` (25 s on an idle
// machine, most of it tsc: too long for npm test).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { findNixpkgsLib } from '../test/helpers/nix.js';

const ROOT = join(import.meta.dirname, '..');

interface PackageArgs {
  version: string;
  npmInstallFlags?: string[];
  npmRebuildFlags?: string[];
  npmBuildScript: string;
  npmPackFlags?: string[];
  npmPruneFlags?: string[];
  npmFlags?: string[];
}

/** package.nix's arguments to buildNpmPackage, nixpkgs' builders standing in as functions that return what they are given. */
function packageArgs(): PackageArgs {
  const lib = findNixpkgsLib().found;
  if (!lib) throw new Error('nixpkgs\' lib not found: set TSHA_SHARED_DIR to the folder holding nixpkgs-lib/');
  const expr = `import ./nixos-module/package.nix {
    lib = import ${JSON.stringify(lib)};
    buildNpmPackage = args: builtins.removeAttrs args [ "npmDeps" "npmConfigHook" "nodejs" "src" ];
    importNpmLock = { __functor = _: _: null; npmConfigHook = null; };
    nodejs_24 = null;
    src = toString ./.;
  }`;
  return JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NIX_CONFIG: 'build-users-group =' },
  })) as PackageArgs;
}

interface Run { status: number | null; output: string }

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

class CheckFailed extends Error {}
function expect(ok: boolean, what: string, detail = ''): void {
  if (!ok) throw new CheckFailed(`${what}\n${detail}`);
  process.stdout.write(`ok   ${what}\n`);
}

async function main(): Promise<void> {
  const p = packageArgs();
  const flags = p.npmFlags ?? [];
  const work = mkdtempSync(join(tmpdir(), 'tsha-package-'));
  const src = join(work, 'source');
  const out = join(work, 'out/lib/node_modules/tsha');
  // npm offline (the hook: npm config set offline true), without the caller's npm_* settings
  const npmEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_'))),
    npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false',
  };
  const npm = (args: string[]) => run('npm', args, src, npmEnv);
  const step = async (args: string[]) => {
    const t0 = performance.now();
    const r = await npm(args);
    if (r.status !== 0) throw new CheckFailed(`npm ${args.join(' ')} exited ${r.status}\n${r.output}`);
    process.stdout.write(`ok   npm ${args.join(' ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    return r.output;
  };
  try {
    // the repository's files as the flake's `self` has them: what git tracks
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const f of files) {
      if (!existsSync(join(ROOT, f))) continue; // deleted in the work tree
      mkdirSync(dirname(join(src, f)), { recursive: true });
      cpSync(join(ROOT, f), join(src, f));
    }

    await step(['ci', '--ignore-scripts', ...(p.npmInstallFlags ?? []), ...flags]);
    // why the flags: a plain npm rebuild runs usocket's install script, node-gyp 7, which fails
    const plain = await npm(['rebuild', ...flags]);
    expect(plain.status !== 0 && /node_modules\/usocket[\s\S]*node-gyp rebuild/.test(plain.output), 'a plain npm rebuild fails in usocket\'s node-gyp rebuild');
    await step(['rebuild', ...(p.npmRebuildFlags ?? []), ...flags]);
    await step(['run', p.npmBuildScript, ...flags]);

    const packed = JSON.parse(await step(['pack', '--json', '--dry-run', '--loglevel=warn', '--no-foreground-scripts', ...(p.npmPackFlags ?? []), ...flags])) as { files: { path: string }[] }[];
    for (const { path } of packed[0]!.files) {
      mkdirSync(dirname(join(out, path)), { recursive: true });
      cpSync(join(src, path), join(out, path));
    }
    await step(['prune', '--omit=dev', '--no-save', ...(p.npmPruneFlags ?? []), ...flags]);
    cpSync(join(src, 'node_modules'), join(out, 'node_modules'), { recursive: true, verbatimSymlinks: true });

    // no dev tools, no native build chain (usocket and the node-gyp 7 it brings), nothing compiled
    for (const gone of ['usocket', 'node-gyp', 'request', 'typescript', 'vitest', 'esbuild']) {
      expect(!existsSync(join(out, 'node_modules', gone)), `the output has no ${gone}`);
    }
    for (const kept of ['dbus-next', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'pino', 'commander', 'prom-client']) {
      expect(existsSync(join(out, 'node_modules', kept)), `the output has ${kept}`);
    }
    const addons = (readdirSync(join(out, 'node_modules'), { recursive: true }) as string[]).filter((f) => f.endsWith('.node'));
    expect(addons.length === 0, `the output has no native addon (${addons.join(', ') || 'none'})`);

    // bin/tsha as the install hook wraps it: node <out>/dist/src/cli/main.js
    const bin = join(out, (JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')) as { bin: { tsha: string } }).bin.tsha);
    const version = await run(process.execPath, [bin, '--version'], work);
    expect(version.status === 0 && version.output.trim() === p.version, `bin/tsha --version from the output prints ${p.version} (${JSON.stringify(version.output.trim())})`);
    // the configuration code and the protocol files load from the output
    const check = await run(process.execPath, [bin, 'config', 'check', join(ROOT, 'examples/three-node.json')], work);
    expect(check.status === 0, 'bin/tsha config check examples/three-node.json from the output', check.output);
    // dbus-next without usocket connects to a unix:path bus with Node's net module
    const dbus = await run(process.execPath, ['-e', `
      const dbus = require(${JSON.stringify(join(out, 'node_modules/dbus-next'))});
      const bus = dbus.sessionBus({ busAddress: ${JSON.stringify(`unix:path=${work}/no-such-bus`)} });
      bus.on('error', (e) => { console.log(e.code); process.exit(0); });
    `], work);
    expect(dbus.output.trim() === 'ENOENT', `dbus-next from the output connects through net (${JSON.stringify(dbus.output.trim())})`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`FAIL ${err instanceof CheckFailed ? err.message : String(err)}\n`);
  process.exit(1);
});
