// Removing what a crashed run left behind: only things named with our prefix (tsh<runId>-…),
// and only for runs whose owner process is gone, so a cluster that another test process is
// using at the same moment is never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killCgroupSync, listTopCgroups, removeCgroup } from './cgroup.js';
import { RUN_ID_RE, procStartTime } from './cluster.js';
import { runSync } from './sh.js';

export interface StaleReport {
  readonly runs: string[];
  readonly removed: string[];
  readonly problems: string[];
}

const NAME_RE = /^(tsh[a-z0-9]+)-(n[0-9]{1,2}|witness|sw)$/;
const WG_SOCK_RE = /^(tsh[a-z0-9]+)-w[0-9]{1,2}\.sock$/;

function isRunPrefix(p: string, prefix: string): boolean {
  return p.startsWith(prefix) && RUN_ID_RE.test(p.slice(3)) && p.startsWith('tsh');
}

/** A run is live while the process that created it (same PID and start time) exists. */
function runIsLive(runDir: string): boolean {
  try {
    // createCluster makes the directory, then writes owner.json: a fresh directory without it is a run being born.
    if (!fs.existsSync(path.join(runDir, 'owner.json')) && Date.now() - fs.statSync(runDir).mtimeMs < 60_000) return true;
    const owner = JSON.parse(fs.readFileSync(path.join(runDir, 'owner.json'), 'utf8')) as { pid: number; start?: string };
    return procStartTime(owner.pid) !== undefined && procStartTime(owner.pid) === owner.start;
  } catch {
    return false;
  }
}

function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp && (mp === dir || mp.startsWith(dir + '/'))) out.push(mp.replace(/\\040/g, ' '));
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * Removes leftovers of dead runs whose names start with `prefix` (default 'tsh'): processes in
 * their cgroups, the cgroups, network namespaces (with their interfaces and nft tables), mount
 * namespace files, wireguard-go sockets, run directories under `baseDir`.
 */
export function cleanupStale(prefix = 'tsh', baseDir = os.tmpdir()): StaleReport {
  if (!prefix.startsWith('tsh')) throw new Error(`cleanupStale: prefix must start with "tsh", got "${prefix}"`);
  const removed: string[] = [];
  const problems: string[] = [];
  const liveRuns = new Set<string>();
  const staleRuns = new Set<string>();
  const note = (run: string): boolean => {
    if (liveRuns.has(run)) return false;
    staleRuns.add(run);
    return true;
  };

  const runDirs = fs.readdirSync(baseDir).filter((d) => isRunPrefix(d, prefix));
  for (const d of runDirs) if (runIsLive(path.join(baseDir, d))) liveRuns.add(d);

  // 1. processes and cgroups first, so nothing holds the namespaces
  for (const cg of listTopCgroups((name) => NAME_RE.test(name))) {
    const run = (NAME_RE.exec(cg) as RegExpExecArray)[1] as string;
    if (!isRunPrefix(run, prefix) || !note(run)) continue;
    killCgroupSync(cg);
    const left = removeCgroup(cg);
    if (left.length) problems.push(...left.map((l) => `cgroup left: ${l}`));
    else removed.push(`cgroup ${cg}`);
  }
  // 2. run directories: mount namespace files and the private ns dir mount
  for (const d of runDirs) {
    if (liveRuns.has(d)) continue;
    note(d);
    const dir = path.join(baseDir, d);
    for (const mp of mountsUnder(dir)) {
      const r = runSync(['umount', mp]);
      if (r.code !== 0) problems.push(`umount ${mp}: ${r.stderr.trim()}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(`dir ${dir}`);
  }
  // 3. network namespaces (deleting one removes its veth ends, bridge, nft table)
  const netns = runSync(['ip', 'netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0] ?? '');
  for (const ns of netns) {
    const m = NAME_RE.exec(ns);
    if (!m || !isRunPrefix(m[1] as string, prefix) || !note(m[1] as string)) continue;
    const r = runSync(['ip', 'netns', 'del', ns]);
    if (r.code !== 0) problems.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    else removed.push(`netns ${ns}`);
  }
  // 4. control sockets of killed wireguard-go processes
  const sockDir = '/var/run/wireguard';
  for (const f of fs.existsSync(sockDir) ? fs.readdirSync(sockDir) : []) {
    const m = WG_SOCK_RE.exec(f);
    if (!m || !isRunPrefix(m[1] as string, prefix) || !note(m[1] as string)) continue;
    fs.rmSync(path.join(sockDir, f), { force: true });
    removed.push(`socket ${f}`);
  }
  return { runs: [...staleRuns].sort(), removed, problems };
}
