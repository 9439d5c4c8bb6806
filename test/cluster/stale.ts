// Removing what a crashed run left behind: only things named with our prefix (tsh<runId>-…),
// and only for runs whose registered owner process is gone (RUN_REGISTRY), so a cluster that another test process is
// using at the same moment is never touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { allHierarchies, killCgroup, listTopCgroups, removeCgroup } from './cgroup.js';
import { killNodeContainers } from './lxc.js';
import { RUN_ID_RE, RUN_REGISTRY, procStartTime } from './cluster.js';
import { now, runSync, sleep } from './sh.js';

export interface StaleReport {
  readonly runs: string[];
  readonly removed: string[];
  readonly problems: string[];
}

const NAME_RE = /^(tsh[a-z0-9]+)-(n[0-9]{1,2}|witness|sw|x[a-z0-9]{1,8})$/;
const WG_SOCK_RE = /^(tsh[a-z0-9]+)-w[0-9]{1,2}\.sock$/;
/** LXC's cgroups of a container named after its run (`<prefix>-…`, as test/cluster/lxc.test.ts names them). */
const LXC_CGROUP_RE = /^lxc\.(?:payload|monitor)\.(tsh[a-z0-9]+)-/;

function isRunPrefix(p: string, prefix: string): boolean {
  return p.startsWith(prefix) && RUN_ID_RE.test(p.slice(3)) && p.startsWith('tsh');
}

interface Registration {
  readonly pid: number;
  readonly start?: string;
  readonly dir?: string;
}

/** Registered runs by prefix, and whether the process that created each (same PID and start time) still exists. */
function registeredRuns(): Map<string, Registration & { live: boolean }> {
  const runs = new Map<string, Registration & { live: boolean }>();
  for (const f of fs.existsSync(RUN_REGISTRY) ? fs.readdirSync(RUN_REGISTRY) : []) {
    if (!f.endsWith('.json')) continue;
    try {
      const r = JSON.parse(fs.readFileSync(path.join(RUN_REGISTRY, f), 'utf8')) as Registration;
      const start = procStartTime(r.pid);
      runs.set(f.slice(0, -5), { ...r, live: start !== undefined && start === r.start });
    } catch {
      runs.set(f.slice(0, -5), { pid: -1, live: false }); // unreadable: a run that died while writing it
    }
  }
  return runs;
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
 * namespace files, wireguard-go sockets, run directories (registered ones wherever they are, and
 * unregistered `tsh<runId>` directories under `baseDir`), and the dead runs' registrations.
 */
export async function cleanupStale(prefix = 'tsh', baseDir = os.tmpdir()): Promise<StaleReport> {
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

  // A run is live only while registered by a living process; the registry is written before any
  // resource of the run exists and removed after the last one is gone.
  const registry = registeredRuns();
  for (const [run, r] of registry) if (r.live) liveRuns.add(run);
  const runDirs = new Set<string>();
  for (const d of fs.readdirSync(baseDir)) if (isRunPrefix(d, prefix)) runDirs.add(path.join(baseDir, d));
  for (const [run, r] of registry) if (!r.live && isRunPrefix(run, prefix) && r.dir && path.basename(r.dir) === run) runDirs.add(r.dir);

  // 0. LXC containers started from a dead run's nodes: outside the node cgroups, found by their
  //    monitors in the node's network namespace (lxc.ts); then LXC cgroups named after dead runs
  for (const ns of runSync(['ip', 'netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0] ?? '')) {
    const m = NAME_RE.exec(ns);
    if (!m || m[2] === 'sw' || !isRunPrefix(m[1] as string, prefix) || !note(m[1] as string)) continue;
    const left = await killNodeContainers({ name: ns, netnsPath: `/run/netns/${ns}`, mountNsFile: '' }).catch((e: Error) => [e.message]);
    problems.push(...left.map((l) => `LXC: ${l}`));
  }
  for (const cg of listTopCgroups((name) => LXC_CGROUP_RE.test(name), allHierarchies())) {
    const run = (LXC_CGROUP_RE.exec(cg) as RegExpExecArray)[1] as string;
    if (!isRunPrefix(run, prefix) || !note(run)) continue;
    await killCgroup(cg).catch((e: Error) => problems.push(e.message));
    let left = removeCgroup(cg, allHierarchies());
    for (const deadline = now() + 5000; left.length && now() < deadline; left = removeCgroup(cg, allHierarchies())) await sleep(20);
    if (left.length) problems.push(...left.map((l) => `cgroup left: ${l}`));
    else removed.push(`cgroup ${cg}`);
  }
  // 1. processes and cgroups first, so nothing holds the namespaces
  for (const cg of listTopCgroups((name) => NAME_RE.test(name))) {
    const run = (NAME_RE.exec(cg) as RegExpExecArray)[1] as string;
    if (!isRunPrefix(run, prefix) || !note(run)) continue;
    await killCgroup(cg).catch((e: Error) => problems.push(e.message));
    // killed orphans are zombies until init reaps them, and a cgroup with tasks cannot be removed yet
    let left = removeCgroup(cg);
    for (const deadline = now() + 5000; left.length && now() < deadline; left = removeCgroup(cg)) await sleep(20);
    if (left.length) problems.push(...left.map((l) => `cgroup left: ${l}`));
    else removed.push(`cgroup ${cg}`);
  }
  // 2. run directories: mount namespace files and the private ns dir mount
  for (const dir of runDirs) {
    const run = path.basename(dir);
    if (!note(run)) continue;
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
  // 5. registrations of the dead runs, last: while one exists the run can still be found again
  for (const run of staleRuns) {
    const f = path.join(RUN_REGISTRY, `${run}.json`);
    if (fs.existsSync(f) && !problems.length) {
      fs.rmSync(f, { force: true });
      removed.push(`registration ${run}`);
    }
  }
  return { runs: [...staleRuns].sort(), removed, problems };
}
