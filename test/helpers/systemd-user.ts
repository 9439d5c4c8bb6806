// A real `systemd --user` for tests, started as RECIPES.md §0 and §1a describe.
//
// Safety first (§0): systemd started from the root cgroup moves every process on the machine into
// its own init.scope. So systemd is launched through a tiny shell wrapper that first moves ITSELF
// (never the vitest process) into a fresh sub-cgroup /sys/fs/cgroup/{unified,systemd}/<name>,
// checks /proc/self/cgroup says so, and only then execs unshare → systemd. The TypeScript side
// checks /proc/<pid>/cgroup again before it talks to the manager, and removes the cgroups on stop.
//
// Isolation: a private mount namespace with a tmpfs on /run/systemd (systemd --user refuses to run
// unless /run/systemd/system exists); XDG_RUNTIME_DIR, XDG_CONFIG_HOME and HOME point into a temp
// directory, so the manager's bus ($XDG_RUNTIME_DIR/bus, started by its own dbus.socket) and unit
// directory ($XDG_CONFIG_HOME/systemd/user) are private to one test file.
//
// The wrapper sets PR_SET_PDEATHSIG=KILL (setpriv), so a vitest worker that dies takes its systemd
// with it; stale cgroups left by a dead worker are swept at the next start.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export const CGROUP_PREFIX = 'tsha-sd';
const SYSTEMD_BIN = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'];

export interface SystemdUser {
  /** D-Bus address of the manager's own session bus: `unix:path=…/bus` */
  readonly busAddress: string;
  /** PID of the `systemd --user` process */
  readonly pid: number;
  /** the temp root holding run/, config/, home/ */
  readonly root: string;
  readonly runtimeDir: string;
  /** $XDG_CONFIG_HOME/systemd/user: where unit files are written */
  readonly unitDir: string;
  /** cgroup name (relative to each hierarchy root) systemd and its units live in */
  readonly cgroup: string;
  /** environment for systemctl/busctl/our adapters to reach this manager */
  readonly env: NodeJS.ProcessEnv;
  /** write a unit file (name with suffix, e.g. "web.service"); call reload() afterwards */
  writeUnit(name: string, content: string): Promise<void>;
  removeUnit(name: string): Promise<void>;
  /** `systemctl --user daemon-reload` (the manager's Reload over its private socket) */
  reload(): Promise<void>;
  /** run `systemctl --user ARGS` against this manager; never throws on non-zero exit */
  systemctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** read one property of a unit through `systemctl show -P` */
  show(unit: string, property: string): Promise<string>;
  /** `systemctl --user exit`, SIGKILL after a grace period, kill leftovers, remove cgroups and temp dir */
  stop(): Promise<void>;
}

export interface CgroupLayout {
  /** absolute hierarchy roots to create the sub-cgroup in */
  roots: string[];
  /** expected /proc/<pid>/cgroup line prefixes ("0::", "N:name=systemd:") */
  kinds: ('unified' | 'name=systemd')[];
}

/** Detect the cgroup hierarchies systemd uses: pure v2, or hybrid (unified + name=systemd v1). */
export function detectCgroupLayout(): CgroupLayout {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return { roots: ['/sys/fs/cgroup'], kinds: ['unified'] };
  }
  const roots: string[] = [];
  const kinds: CgroupLayout['kinds'] = [];
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) {
    roots.push('/sys/fs/cgroup/unified');
    kinds.push('unified');
  }
  if (existsSync('/sys/fs/cgroup/systemd/cgroup.procs')) {
    roots.push('/sys/fs/cgroup/systemd');
    kinds.push('name=systemd');
  }
  return { roots, kinds };
}

/** Why `systemd --user` cannot run here, or null when it can. Tests skip (loudly) on a reason. */
export function systemdUserUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (cgroup and mount namespace set-up)';
  if (!SYSTEMD_BIN.some((p) => existsSync(p))) return 'systemd is not installed (apt-get install systemd)';
  if (!existsSync('/usr/lib/systemd/user/dbus.socket')) {
    return 'the user bus unit is missing (apt-get install dbus-user-session)';
  }
  for (const bin of ['unshare', 'setpriv', 'systemctl']) {
    if (!['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((d) => existsSync(join(d, bin)))) return `${bin} is missing`;
  }
  if (detectCgroupLayout().roots.length === 0) return 'no writable cgroup hierarchy found';
  return null;
}

/**
 * Whether tests that need a real systemd should be skipped: only outside CI. In CI (CI=true) they
 * run anyway and fail with the reason, so a machine without systemd cannot turn them green.
 */
export function skipWithoutSystemd(what: string): boolean {
  const why = systemdUserUnavailable();
  if (!why) return false;
  if (process.env.CI) return false;
  console.warn(`SKIPPED (not in CI): ${what}: ${why}`);
  return true;
}

/** The cgroup path of `pid` per hierarchy kind, from /proc/<pid>/cgroup. */
export function readProcCgroups(pid: number | 'self'): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, id, controllers, path] = m;
    if (id === '0' && controllers === '') out.set('unified', path!);
    else if (controllers === 'name=systemd') out.set('name=systemd', path!);
  }
  return out;
}

let counter = 0;

/**
 * The wrapper. $1 = cgroup name, remaining args = hierarchy roots. It moves itself, verifies, and
 * execs systemd inside a private mount namespace. Exit 97 = cgroup move failed (nothing started).
 */
const WRAPPER = String.raw`
set -eu
cg="$1"; shift
for root in "$@"; do
  mkdir -p "$root/$cg"
  echo $$ > "$root/$cg/cgroup.procs"
done
# Refuse to start systemd unless every hierarchy now shows our own sub-cgroup.
n=0
while IFS= read -r line; do
  case "$line" in
    0::/"$cg"|*:name=systemd:/"$cg") n=$((n+1)) ;;
  esac
done < /proc/self/cgroup
if [ "$n" -ne "$#" ]; then echo "tsha-sd wrapper: cgroup move not effective: $(cat /proc/self/cgroup | tr '\n' ' ')" >&2; exit 97; fi
sd=/lib/systemd/systemd; [ -x "$sd" ] || sd=/usr/lib/systemd/systemd
exec setpriv --pdeathsig KILL unshare --mount --propagation private sh -c '
  mkdir -p /run/systemd && mount -t tmpfs -o mode=755 tmpfs /run/systemd && mkdir -p /run/systemd/system && exec "$0" --user --log-target=console' "$sd"
`;

/** Remove temp roots (tsha-sd-<pid>-XXXXXX) and cgroups (tsha-sd-<pid>-<n>) of dead test processes. */
async function sweepStale(layout: CgroupLayout): Promise<void> {
  await sweepStaleCgroups(layout);
  let names: string[] = [];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${CGROUP_PREFIX}-(\\d+)-[A-Za-z0-9]{6}$`).exec(name);
    if (m && !isLive(m[1]!)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

async function sweepStaleCgroups(layout: CgroupLayout): Promise<void> {
  for (const root of layout.roots) {
    let names: string[];
    try {
      names = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = new RegExp(`^${CGROUP_PREFIX}-(\\d+)-\\d+$`).exec(name);
      if (!m) continue;
      if (isLive(m[1]!)) continue;
      // the killed processes take a moment to leave the cgroup: retry the rmdir for a while
      for (let i = 0; i < 40; i++) {
        killCgroupTree(join(root, name));
        if (removeCgroupTree(join(root, name))) break;
        await sleep(50);
      }
    }
  }
}

/** A process that exists and is not a zombie (PID 1 here may be slow to reap orphans). */
export function isLive(pid: number | string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function cgroupDirs(dir: string): string[] {
  // depth-first, children before parents
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    try {
      if (statSync(p).isDirectory()) out.push(...cgroupDirs(p));
    } catch {
      /* vanished */
    }
  }
  out.push(dir);
  return out;
}

/** Every PID in the cgroup tree `name` (in all hierarchies of this layout). */
export function cgroupPids(name: string, layout: CgroupLayout = detectCgroupLayout()): number[] {
  const pids = new Set<number>();
  for (const r of layout.roots) {
    for (const d of cgroupDirs(join(r, name))) {
      try {
        for (const p of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (Number(p)) pids.add(Number(p));
      } catch {
        /* gone */
      }
    }
  }
  return [...pids];
}

/** SIGKILL every process still in the cgroup tree (only ever our own systemd and its units). */
function killCgroupTree(dir: string): number {
  let killed = 0;
  for (const d of cgroupDirs(dir)) {
    let procs = '';
    try {
      procs = readFileSync(join(d, 'cgroup.procs'), 'utf8');
    } catch {
      continue;
    }
    for (const p of procs.split('\n')) {
      const pid = Number(p);
      if (!pid || pid === process.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        /* already gone */
      }
    }
  }
  return killed;
}

function removeCgroupTree(dir: string): boolean {
  let ok = true;
  for (const d of cgroupDirs(dir)) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
    }
  }
  return ok;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export interface StartOptions {
  /** how long to wait for org.freedesktop.systemd1 on the bus (default 30 s: CI shares 2 cores) */
  readyTimeoutMs?: number;
}

export async function startSystemdUser(opts: StartOptions = {}): Promise<SystemdUser> {
  const why = systemdUserUnavailable();
  if (why) throw new Error(`systemd --user cannot run here: ${why}`);
  const layout = detectCgroupLayout();
  await sweepStale(layout);

  const cgroup = `${CGROUP_PREFIX}-${process.pid}-${counter++}`;
  const root = mkdtempSync(join(tmpdir(), `${CGROUP_PREFIX}-${process.pid}-`));
  const runtimeDir = join(root, 'run');
  const configHome = join(root, 'config');
  const unitDir = join(configHome, 'systemd', 'user');
  const home = join(root, 'home');
  await mkdir(runtimeDir, { mode: 0o700 });
  await mkdir(unitDir, { recursive: true });
  await mkdir(home);

  const busAddress = `unix:path=${join(runtimeDir, 'bus')}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    USER: 'root',
    LANG: 'C.UTF-8',
    XDG_RUNTIME_DIR: runtimeDir,
    XDG_CONFIG_HOME: configHome,
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_CACHE_HOME: join(home, '.cache'),
    DBUS_SESSION_BUS_ADDRESS: busAddress,
  };

  let log = '';
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'tsha-sd-wrapper', cgroup, ...layout.roots], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onData = (b: Buffer): void => {
    log += b.toString();
    if (log.length > 64_000) log = log.slice(-32_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const pid = child.pid;

  const cleanup = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const r of layout.roots) killCgroupTree(join(r, cgroup));
    for (const r of layout.roots) removeCgroupTree(join(r, cgroup));
    rmSync(root, { recursive: true, force: true });
  };

  const fail = async (msg: string): Promise<never> => {
    cleanup();
    await exited(child);
    cleanup();
    throw new Error(`${msg}\n--- systemd --user output ---\n${log.slice(-4000)}`);
  };

  if (pid === undefined) return fail('could not spawn the systemd wrapper');

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  let cgroupChecked = false;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return fail(`systemd --user exited early (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    // Once the wrapper has exec'd systemd, the process must sit inside our cgroup on every hierarchy.
    if (!cgroupChecked) {
      let comm = '';
      try {
        comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        /* not yet */
      }
      if (comm === 'systemd') {
        const cgs = readProcCgroups(pid);
        for (const kind of layout.kinds) {
          const p = cgs.get(kind);
          if (!p || !(p === `/${cgroup}` || p.startsWith(`/${cgroup}/`))) {
            return fail(`safety check: systemd pid ${pid} is in ${kind} cgroup ${p ?? '(none)'}, not under /${cgroup}`);
          }
        }
        cgroupChecked = true;
      }
    }
    if (cgroupChecked) {
      try {
        await execFileP('busctl', [`--address=${busAddress}`, 'status', 'org.freedesktop.systemd1'], {
          env,
          timeout: 5000,
        });
        break;
      } catch {
        /* bus or name not up yet */
      }
    }
    if (Date.now() > deadline) return fail('timed out waiting for org.freedesktop.systemd1 on the user bus');
    await sleep(50);
  }

  const systemctl = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await execFileP('systemctl', ['--user', '--no-pager', ...args], { env, timeout: 30_000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  };

  let stopped = false;
  return {
    busAddress,
    pid,
    root,
    runtimeDir,
    unitDir,
    cgroup,
    env,
    async writeUnit(name, content) {
      await writeFile(join(unitDir, name), content);
    },
    async removeUnit(name) {
      await rm(join(unitDir, name), { force: true });
    },
    async reload() {
      const r = await systemctl('daemon-reload');
      if (r.code !== 0) throw new Error(`daemon-reload failed: ${r.stderr}`);
    },
    systemctl,
    async show(unit, property) {
      const r = await systemctl('show', '-P', property, unit);
      return r.stdout.trim();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        await systemctl('exit');
        const graceful = await Promise.race([exited(child).then(() => true), sleep(10_000).then(() => false)]);
        if (!graceful) child.kill('SIGKILL');
        await exited(child);
      }
      // Units normally die with the manager; anything left (after a SIGKILL) is ours to end.
      for (let i = 0; i < 20; i++) {
        let left = 0;
        for (const r of layout.roots) left += killCgroupTree(join(r, cgroup));
        if (left === 0) break;
        await sleep(50);
      }
      let removed = false;
      for (let i = 0; i < 40 && !removed; i++) {
        removed = layout.roots.map((r) => removeCgroupTree(join(r, cgroup))).every(Boolean);
        if (!removed) await sleep(50);
      }
      rmSync(root, { recursive: true, force: true });
      if (!removed) throw new Error(`could not remove cgroup ${cgroup}`);
    },
  };
}
