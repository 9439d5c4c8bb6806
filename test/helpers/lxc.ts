// Real LXC containers for tests (RECIPES.md §3): a busybox rootfs made by `lxc-create -t busybox`
// (about 0.4 s), no network (`lxc.net.0.type = empty`: the container shares nothing), AppArmor
// unconfined. Run as root, LXC puts a container in /lxc.payload.NAME and its monitor in
// /lxc.monitor.NAME at the root of every cgroup hierarchy; a container whose monitor was killed
// (a harness power loss) leaves those behind, and every stop leaves /lxc.pivot. Cleanup removes
// them, by the container names the test made (unique per run), so other runs are never touched.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { allHierarchies } from '../cluster/cgroup.js';
import { removeLxcPivot } from '../cluster/lxc.js';

const execFileP = promisify(execFile);

/** The base configuration every test container gets. */
export const BASE_CONFIG = ['lxc.net.0.type = empty', 'lxc.apparmor.profile = unconfined'];

export interface RunOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** How a helper runs a command: on the host by default, or inside a harness node (its mount namespace decides which /var/lib/lxc). */
export type Runner = (argv: string[]) => Promise<RunOutcome>;

export const hostRunner: Runner = async (argv) => {
  try {
    const r = await execFileP(argv[0] as string, argv.slice(1), { timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? x.message };
  }
};

/** What LXC tests need; `missing` is empty when they can run. */
export function lxcPrerequisites(): { ok: boolean; missing: string[] } {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const b of ['lxc-create', 'lxc-start', 'lxc-info', 'lxc-stop', 'lxc-attach', 'lxc-destroy']) {
    if (!['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, b)))) missing.push(b);
  }
  if (!fs.existsSync('/usr/share/lxc/templates/lxc-busybox')) missing.push('lxc busybox template');
  if (!['/bin/busybox', '/usr/bin/busybox'].some((p) => fs.existsSync(p))) missing.push('busybox-static');
  return { ok: missing.length === 0, missing };
}

/** Skip with a warning outside CI; in CI a missing prerequisite fails the file. */
export function skipWithoutLxc(what: string): boolean {
  const pre = lxcPrerequisites();
  if (pre.ok) return false;
  if (process.env.CI === 'true') throw new Error(`CI must run the ${what}; missing: ${pre.missing.join(', ')}`);
  console.warn(`skipping ${what}, missing: ${pre.missing.join(', ')}`);
  return true;
}

/**
 * Creates container `name` in `lxcPath` (which `run` sees) from the busybox template, with
 * BASE_CONFIG plus `extra` configuration lines (e.g. `lxc.init.cmd = …`).
 */
export async function createContainer(lxcPath: string, name: string, extra: readonly string[] = [], run: Runner = hostRunner): Promise<void> {
  const mk = await run(['mkdir', '-p', lxcPath]);
  if (mk.code !== 0) throw new Error(`mkdir ${lxcPath}: ${mk.stderr}`);
  const conf = path.join(lxcPath, `.${name}.conf`);
  const write = await run(['sh', '-c', 'printf "%s\\n" "$@" > "$0"', conf, ...BASE_CONFIG, ...extra]);
  if (write.code !== 0) throw new Error(`writing ${conf}: ${write.stderr}`);
  const r = await run(['lxc-create', '-P', lxcPath, '-n', name, '-f', conf, '-t', 'busybox']);
  await run(['rm', '-f', conf]);
  if (r.code !== 0) throw new Error(`lxc-create ${name} in ${lxcPath}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** `lxc-info -s -p` of a container: its state and init PID. */
export async function containerInfo(lxcPath: string, name: string, run: Runner = hostRunner): Promise<{ state: string; pid: number | null }> {
  const r = await run(['lxc-info', '-P', lxcPath, '-n', name, '-s', '-p']);
  const state = /^State:\s+(\S+)/m.exec(r.stdout)?.[1] ?? (r.code === 0 ? 'UNKNOWN' : 'UNDEFINED');
  const pid = /^PID:\s+(\d+)/m.exec(r.stdout)?.[1];
  return { state, pid: pid ? Number(pid) : null };
}

/** Kills (lxc-stop -k) and destroys every container in `lxcPath`, then removes the directory. Returns problems. */
export async function destroyContainers(lxcPath: string, run: Runner = hostRunner): Promise<string[]> {
  const problems: string[] = [];
  const names = fs.existsSync(lxcPath) ? fs.readdirSync(lxcPath).filter((n) => fs.existsSync(path.join(lxcPath, n, 'config'))) : [];
  for (const n of names) {
    await run(['lxc-stop', '-P', lxcPath, '-n', n, '-k']);
    const r = await run(['lxc-destroy', '-P', lxcPath, '-n', n]);
    if (r.code !== 0) problems.push(`lxc-destroy ${n}: ${r.stderr.trim()}`);
  }
  return problems;
}

/** Root-level LXC cgroup names of container `name` (payload and monitor, with LXC's "-N" suffixes for a taken name). */
export function lxcCgroupsOf(name: string): string[] {
  const re = new RegExp(`^lxc\\.(payload|monitor)\\.${name.replace(/[.]/g, '\\.')}(-[0-9]+)?$`);
  const found = new Set<string>();
  for (const h of allHierarchies()) for (const e of fs.readdirSync(h)) if (re.test(e)) found.add(e);
  return [...found];
}

/** Live PIDs in a root-level cgroup (the unified hierarchy when there is one, else any). */
export function cgroupProcs(rel: string): number[] {
  const pids = new Set<number>();
  for (const h of allHierarchies()) {
    const dirs: string[] = [];
    const walk = (d: string): void => {
      dirs.push(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    try {
      walk(path.join(h, rel));
    } catch {
      continue;
    }
    for (const d of dirs) {
      try {
        for (const l of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return [...pids];
}

/**
 * Removes the (empty) LXC cgroups of the given container names in every hierarchy, deepest first,
 * and /lxc.pivot where it is empty (LXC makes it again when it needs it). Returns what is left.
 */
export function removeLxcCgroups(names: readonly string[]): string[] {
  const left: string[] = [];
  for (const rel of names.flatMap(lxcCgroupsOf)) {
    for (const h of allHierarchies()) {
      const dirs: string[] = [];
      const walk = (d: string): void => {
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(d, { withFileTypes: true });
        } catch {
          return;
        }
        dirs.push(d);
        for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
      };
      walk(path.join(h, rel));
      for (const d of dirs.reverse()) {
        try {
          fs.rmdirSync(d);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(d);
        }
      }
    }
  }
  removeLxcPivot();
  return left;
}
