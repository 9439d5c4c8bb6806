// cgroup handling for namespaced nodes (RECIPES.md §0). Every process of a node lives in the cgroup
// tree `<root>/<name>` of each hierarchy systemd uses, so "every process of the node" is a cgroup
// walk and power loss is a kill of that tree. Works on hybrid (unified + name=systemd) and pure v2.
import fs from 'node:fs';
import path from 'node:path';
import { sleep, now } from './sh.js';

const CG = '/sys/fs/cgroup';

/** Hierarchies a `systemd --user` tracks processes in: where each node's tree is made. */
export function cgroupRoots(): string[] {
  if (fs.existsSync(`${CG}/cgroup.controllers`)) return [CG]; // pure cgroup v2
  return [`${CG}/unified`, `${CG}/systemd`].filter((d) => fs.existsSync(`${d}/cgroup.procs`));
}

/** A regex (ERE) for the line /proc/PID/cgroup shows for a process in `rel` of the given hierarchy root. */
export function procCgroupPattern(root: string, rel: string): string {
  if (root === CG || root.endsWith('/unified')) return `^0::/${rel}$`;
  return `^[0-9]+:${path.basename(root) === 'systemd' ? 'name=systemd' : path.basename(root)}:/${rel}$`;
}

/** Every mounted hierarchy, with the v1 controllers' (LXC makes its cgroups in all of them). */
export function allHierarchies(): string[] {
  if (fs.existsSync(`${CG}/cgroup.controllers`)) return [CG];
  return fs
    .readdirSync(CG, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(CG, e.name, 'cgroup.procs')))
    .map((e) => path.join(CG, e.name));
}

export function createCgroup(rel: string): void {
  for (const root of cgroupRoots()) fs.mkdirSync(path.join(root, rel), { recursive: true });
}

function walkDirs(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  out.push(dir);
  for (const e of entries) if (e.isDirectory()) walkDirs(path.join(dir, e.name), out);
}

function isZombieOrGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Live (non-zombie) PIDs anywhere in the tree `rel`, across all hierarchies. */
export function cgroupPids(rel: string): Set<number> {
  const pids = new Set<number>();
  for (const root of cgroupRoots()) {
    const dirs: string[] = [];
    walkDirs(path.join(root, rel), dirs);
    for (const d of dirs) {
      let text = '';
      try {
        text = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n')) if (line) pids.add(Number(line));
    }
  }
  for (const p of pids) if (isZombieOrGone(p)) pids.delete(p);
  return pids;
}

function signalTree(rel: string): void {
  for (const root of cgroupRoots()) {
    const killFile = path.join(root, rel, 'cgroup.kill');
    if (fs.existsSync(killFile)) {
      try {
        fs.writeFileSync(killFile, '1'); // atomic for the whole subtree: no fork race
      } catch {
        /* fall through to per-PID kill */
      }
    }
  }
  for (const pid of cgroupPids(rel)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** kill -9 every process in the tree and wait until none is left alive. */
export async function killCgroup(rel: string, timeoutMs = 5000): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    signalTree(rel);
    if (cgroupPids(rel).size === 0) return;
    if (now() > deadline) throw new Error(`cgroup ${rel} still has processes ${[...cgroupPids(rel)].join(' ')} after ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Synchronous variant for the exit hook: signals and spins briefly. */
export function killCgroupSync(rel: string): void {
  const deadline = now() + 3000;
  do {
    signalTree(rel);
    if (cgroupPids(rel).size === 0) return;
    const until = now() + 5;
    while (now() < until) {
      /* spin: no timers in an exit hook */
    }
  } while (now() < deadline);
}

/** Removes the tree depth first in every hierarchy given (default: the ones nodes use; empty cgroups only). Returns leftovers. */
export function removeCgroup(rel: string, roots: readonly string[] = cgroupRoots()): string[] {
  const left: string[] = [];
  for (const root of roots) {
    const dirs: string[] = [];
    walkDirs(path.join(root, rel), dirs);
    for (const d of dirs.reverse()) {
      try {
        fs.rmdirSync(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(d);
      }
    }
  }
  return left;
}

/** Top-level cgroup names across hierarchies (default: the ones nodes use) that satisfy `match`. */
export function listTopCgroups(match: (name: string) => boolean, roots: readonly string[] = cgroupRoots()): string[] {
  const names = new Set<string>();
  for (const root of roots) {
    for (const e of fs.readdirSync(root, { withFileTypes: true })) if (e.isDirectory() && match(e.name)) names.add(e.name);
  }
  return [...names];
}

/**
 * A `sh -c` prologue that moves the shell into `rel/sub` in every hierarchy, checks /proc/self/cgroup
 * says so (RECIPES.md §0: check before starting any systemd), then execs the rest of argv.
 */
export function enterCgroupArgv(rel: string, argv: readonly string[]): string[] {
  const roots = cgroupRoots();
  const files = roots.map((r) => path.join(r, rel, 'cgroup.procs'));
  const lines = roots.map((r) => procCgroupPattern(r, rel));
  const script = [
    'set -e',
    'n=$1; shift',
    'i=0; while [ $i -lt $n ]; do echo $$ > "$1"; shift; i=$((i+1)); done',
    'i=0; while [ $i -lt $n ]; do grep -qE "$1" /proc/self/cgroup || { echo "not in cgroup $1" >&2; exit 98; }; shift; i=$((i+1)); done',
    'exec "$@"',
  ].join('\n');
  return ['sh', '-c', script, 'tsh-enter', String(roots.length), ...files, ...lines, ...argv];
}
