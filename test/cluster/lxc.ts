// LXC containers on harness nodes. Each node has its own LXC directory (`<node.dir>/lxc`, on its
// "disk", so it survives power loss) bound over LXC's default lxcpath /var/lib/lxc in the node's
// mount namespace: a resource without configPath finds the node's own containers, as on a real
// machine, and the same container name on every node means a copy per node.
//
// Where a node's containers run: lxc-start daemonizes a monitor (`[lxc monitor] /var/lib/lxc NAME`)
// that stays in the node's network namespace but leaves the node's cgroup for /lxc.monitor.NAME at
// the root of every hierarchy, and the container (its own network namespace) lives in
// /lxc.payload.NAME, as LXC does on any machine. So a power loss, which kills the node's cgroup
// tree, kills its containers separately: the LXC monitors in the node's network namespace are
// stopped (SIGSTOP: they can no longer start or reap anything), their children's payload cgroups
// and the monitors are killed, and the cgroups LXC could not remove (its monitor died) are removed.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { allHierarchies, killCgroup, removeCgroup } from './cgroup.js';
import type { SampledState, Tick, Timeline } from './sampler.js';
import { now, sleep } from './sh.js';

/** LXC's default lxcpath, where each node's own LXC directory is bound. */
export const NODE_LXC_PATH = '/var/lib/lxc';

/** Whether LXC is installed here (its default lxcpath exists to bind over). */
export function lxcAvailable(): boolean {
  return fs.existsSync(NODE_LXC_PATH) && fs.statSync(NODE_LXC_PATH).isDirectory();
}

/** What the container code needs from a node (ClusterNode satisfies it). */
export interface LxcNode {
  readonly name: string;
  readonly netnsPath: string;
  readonly mountNsFile: string;
  readonly power?: 'up' | 'down';
}

function unifiedCgroup(pid: number): string | null {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'));
    return line ? line.slice(3) : null;
  } catch {
    return null;
  }
}

function isLive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function sameFile(a: string, b: fs.Stats): boolean {
  try {
    const s = fs.statSync(a);
    return s.ino === b.ino && s.dev === b.dev;
  } catch {
    return false;
  }
}

/** PIDs of the LXC monitors started from the node: in its network namespace, in an /lxc.monitor.* cgroup. */
export function lxcMonitors(n: LxcNode): number[] {
  let ns: fs.Stats;
  try {
    ns = fs.statSync(n.netnsPath);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (!sameFile(`/proc/${pid}/ns/net`, ns)) continue;
    if (unifiedCgroup(pid)?.startsWith('/lxc.monitor.') && isLive(pid)) out.push(pid);
  }
  return out;
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const text = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

/** The node's LXC monitors, stopped, with the cgroups of their containers and their own. */
export function stopNodeContainers(n: LxcNode): { monitors: number[]; cgroups: string[] } {
  const monitors = lxcMonitors(n);
  for (const pid of monitors) {
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      /* gone */
    }
  }
  const cgroups = new Set<string>();
  for (const m of monitors) {
    const own = unifiedCgroup(m);
    if (own && own !== '/') cgroups.add(own.slice(1));
    for (const c of children(m)) {
      const cg = unifiedCgroup(c);
      if (cg?.startsWith('/lxc.payload.')) cgroups.add(cg.slice(1).split('/')[0]!);
    }
  }
  return { monitors, cgroups: [...cgroups] };
}

/**
 * Kills every container of the node and its monitor, and removes the cgroups LXC left behind.
 * Resolves once none of them is alive; returns what could not be removed.
 */
export async function killNodeContainers(n: LxcNode, found = stopNodeContainers(n), timeoutMs = 5000): Promise<string[]> {
  const deadline = now() + timeoutMs;
  let { monitors, cgroups } = found;
  const all = new Set(cgroups);
  for (;;) {
    for (const pid of monitors) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await Promise.all(cgroups.map((cg) => killCgroup(cg, Math.max(100, deadline - now()))));
    // a monitor that left the node's cgroup while the first look ran is found on the next one
    ({ monitors, cgroups } = stopNodeContainers(n));
    cgroups.forEach((c) => all.add(c));
    if (monitors.length === 0) break;
    if (now() > deadline) throw new Error(`LXC monitors of ${n.name} still alive after ${timeoutMs} ms: ${monitors.join(' ')}`);
  }
  // killed processes are zombies until reaped, and a cgroup with tasks cannot be removed yet
  let left: string[] = [];
  for (;;) {
    left = [...all].flatMap((cg) => removeCgroup(cg, allHierarchies()));
    if (left.length === 0 || now() > deadline) return left;
    await sleep(20);
  }
}

/**
 * Removes /lxc.pivot, which every LXC monitor makes to leave its own cgroup before removing it,
 * where it is empty (one in use by a monitor cleaning up right now stays; LXC makes it again).
 */
export function removeLxcPivot(): void {
  for (const root of allHierarchies()) {
    try {
      fs.rmdirSync(path.join(root, 'lxc.pivot'));
    } catch {
      /* absent or in use */
    }
  }
}

/** The synchronous variant for the exit hook: signals only. */
export function killNodeContainersSync(n: LxcNode): void {
  const { monitors, cgroups } = stopNodeContainers(n);
  for (const pid of monitors) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const cg of cgroups) {
    for (const root of allHierarchies()) {
      try {
        fs.writeFileSync(path.join(root, cg, 'cgroup.kill'), '1');
      } catch {
        /* not cgroup v2, or gone */
      }
    }
  }
}

const LXC_STATES: Record<string, SampledState> = {
  RUNNING: 'active',
  STARTING: 'activating',
  STOPPING: 'deactivating',
  ABORTING: 'deactivating',
  // frozen processes still exist: for the one-copy check they run
  FROZEN: 'active',
  FREEZING: 'active',
  THAWED: 'active',
  STOPPED: 'inactive',
};

/** One shell per node, inside its network and mount namespaces, that answers each request line with `lxc-info -s -H`. */
class NodeInfoHelper {
  private readonly child: ChildProcessWithoutNullStreams;
  private buf = '';
  private waiters: ((line: string) => void)[] = [];

  constructor(n: LxcNode, container: string) {
    const script = 'while read -r _; do s=$(lxc-info -n "$1" -s -H 2>/dev/null) || s=ERROR; echo "$s"; done';
    this.child = spawn('nsenter', [`--net=${n.netnsPath}`, `--mount=${n.mountNsFile}`, '--', 'sh', '-c', script, 'tsh-lxc-info', container], { stdio: 'pipe' });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i).trim();
        this.buf = this.buf.slice(i + 1);
        this.waiters.shift()?.(line);
      }
    });
    this.child.on('error', () => undefined);
  }

  ask(timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters[i] = () => undefined; // a late answer belongs to this request
        resolve('TIMEOUT');
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(done);
      this.child.stdin.write('\n');
    });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill('SIGKILL');
  }
}

/**
 * Samples one container's LXC state on every node from outside (`lxc-info -s` in the node's own
 * lxcpath, every node in the same tick), into the same timeline the unit sampler makes, so
 * overlap() and firstActiveAfter() apply: RUNNING (and frozen) → 'active', STARTING → 'activating',
 * STOPPING → 'deactivating', STOPPED → 'inactive'; a powered-off node whose LXC monitors are gone →
 * 'down'; no answer → 'unknown' (counted as running by overlap()).
 */
export class ContainerSampler {
  private readonly ticks: Tick[] = [];
  private readonly helpers = new Map<string, NodeInfoHelper>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly nodes: readonly LxcNode[],
    readonly container: string,
    readonly everyMs = 50,
    readonly replyTimeoutMs = 1000,
  ) {
    for (const n of nodes) this.helpers.set(n.name, new NodeInfoHelper(n, container));
    this.loop = this.run();
  }

  private async sampleNode(n: LxcNode): Promise<SampledState> {
    if (n.power === 'down' && lxcMonitors(n).length === 0) return 'down';
    const line = await this.helpers.get(n.name)!.ask(this.replyTimeoutMs);
    return LXC_STATES[line] ?? 'unknown';
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      const states = await Promise.all(this.nodes.map((n) => this.sampleNode(n)));
      this.ticks.push({ t, dt: now() - t, states: Object.fromEntries(this.nodes.map((n, i) => [n.name, states[i] as SampledState])) });
      const wait = t + this.everyMs - now();
      if (wait > 0) await sleep(wait);
    }
  }

  timeline(): Timeline {
    return { unit: this.container, nodes: this.nodes.map((n) => n.name), everyMs: this.everyMs, ticks: [...this.ticks] };
  }

  /** The first tick (since the sampler started, or after this call with fromNow) for which `pred` holds. */
  async waitUntil(what: string, pred: (tick: Tick) => boolean, timeoutMs: number, fromNow = false): Promise<Tick> {
    const deadline = now() + timeoutMs;
    let seen = fromNow ? this.ticks.length : 0;
    for (;;) {
      for (; seen < this.ticks.length; seen++) if (pred(this.ticks[seen]!)) return this.ticks[seen]!;
      if (now() > deadline) throw new Error(`container sampler: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(this.everyMs / 2);
    }
  }

  async stop(): Promise<Timeline> {
    this.stopped = true;
    await this.loop;
    for (const h of this.helpers.values()) h.close();
    return this.timeline();
  }
}
