// The LXC command-line tools (lxc-info, lxc-start, lxc-stop, lxc-attach, lxc-unfreeze) as plain
// function calls: one argv each, no shell, in its own process group, bounded by a timeout that
// kills the group. The tools are clients of the container's monitor process (`[lxc monitor]`, which
// lxc-start daemonizes into its own session), so killing a tool that overran its time never touches
// the container.

import { runInGroup } from '../process-group.js';
import { readFileSync } from 'node:fs';

export interface ToolOutcome {
  /** exit code, or null when killed (timeout) or not spawned */
  code: number | null;
  timedOut: boolean;
  /** the binary could not be run at all (ENOENT: LXC not installed) */
  spawnError: string | null;
  stdout: string;
  stderr: string;
}

/** How long to wait for stdout/stderr to close after the tool exited (a daemon it started may hold them). */
const DRAIN_MS = 200;
const KEEP_CHARS = 4000;

/** Runs one LXC tool in its own process group (killed on timeout); never rejects. */
export async function runTool(argv: readonly string[], timeoutMs: number): Promise<ToolOutcome> {
  const o = await runInGroup(argv[0] as string, argv.slice(1), { timeoutMs, keepStdout: KEEP_CHARS, keepStderr: KEEP_CHARS, drainMs: DRAIN_MS });
  return { code: o.code, timedOut: o.timedOut, spawnError: o.spawnError, stdout: o.stdout, stderr: o.stderr };
}

/** The last few non-empty lines of a tool's stderr (or stdout), one line for a reason. */
export function tail(o: Pick<ToolOutcome, 'stdout' | 'stderr'>, lines = 3): string {
  const text = o.stderr.trim() || o.stdout.trim();
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}

/** The states LXC reports (lxc-info -s): lxc/src/lxc/state.h. */
export type LxcState = 'STOPPED' | 'STARTING' | 'RUNNING' | 'STOPPING' | 'ABORTING' | 'FREEZING' | 'FROZEN' | 'THAWED';
const STATES = new Set<string>(['STOPPED', 'STARTING', 'RUNNING', 'STOPPING', 'ABORTING', 'FREEZING', 'FROZEN', 'THAWED']);

/** What one `lxc-info -s -p` said. */
export type Info =
  | { kind: 'state'; state: LxcState; pid: number | null }
  /** no configuration file: the container is not defined in this lxcpath */
  | { kind: 'notDefined'; reason: string }
  /** the configuration exists but LXC cannot load it */
  | { kind: 'badConfig'; reason: string }
  /** the tool overran its time */
  | { kind: 'timeout'; reason: string }
  /** LXC's tools are not installed */
  | { kind: 'noTools'; reason: string }
  | { kind: 'failed'; reason: string };

/** Reads `lxc-info -s -p` output ("State:   RUNNING", "PID:   1234"; the PID line only while it runs). */
export function parseInfo(o: ToolOutcome): Info {
  if (o.spawnError) return { kind: 'noTools', reason: `LXC tools not found (${o.spawnError})` };
  if (o.timedOut) return { kind: 'timeout', reason: 'lxc-info did not answer in time' };
  const stderr = o.stderr.trim();
  if (o.code !== 0) {
    if (/doesn't exist/.test(stderr)) return { kind: 'notDefined', reason: tail(o, 1) };
    if (/Failed to load config/.test(stderr)) return { kind: 'badConfig', reason: tail(o) };
    return { kind: 'failed', reason: `lxc-info exit ${o.code}: ${tail(o)}` };
  }
  const state = /^State:\s+(\S+)/m.exec(o.stdout)?.[1];
  if (!state || !STATES.has(state)) return { kind: 'failed', reason: `lxc-info: no state in its output ${JSON.stringify(o.stdout.trim().slice(0, 200))}` };
  const pid = /^PID:\s+(\d+)/m.exec(o.stdout)?.[1];
  return { kind: 'state', state: state as LxcState, pid: pid ? Number(pid) : null };
}

/**
 * Whether the container's monitor process listens on its command socket, read from
 * /proc/net/unix (the agent's network namespace, where lxc-start left the monitor). Asked only
 * when LXC itself cannot say (no configuration file, or one it cannot load): a container whose
 * configuration went away while it ran must not be taken for stopped. LXC names the abstract socket
 * "@<lxcpath>/<name>/command", or a hash when that is longer than a socket path
 * (lxc_make_abstract_socket_name); in that case nothing is known and the answer is null.
 */
export function monitorListening(lxcPath: string, name: string): boolean | null {
  const sock = `${lxcPath}/${name}/command`;
  if (sock.length >= 107) return null;
  try {
    return readFileSync('/proc/net/unix', 'utf8')
      .split('\n')
      .some((l) => l.endsWith(` @${sock}`));
  } catch {
    return null;
  }
}

/**
 * Whether `pid` runs inside `ancestor`'s cgroup (in any hierarchy both name), from /proc/PID/cgroup.
 * A cgroup "/" is no one's: a process in the root cgroup contains nothing. Unreadable: false.
 */
export function cgroupWithin(pid: number, ancestor: number): string | null {
  const read = (p: number): Map<string, string> => {
    const m = new Map<string, string>();
    for (const line of readFileSync(`/proc/${p}/cgroup`, 'utf8').split('\n')) {
      const i = line.indexOf(':');
      const j = line.indexOf(':', i + 1);
      if (i < 0 || j < 0) continue;
      m.set(line.slice(0, j), line.slice(j + 1));
    }
    return m;
  };
  try {
    const outer = read(ancestor);
    const inner = read(pid);
    for (const [h, path] of outer) {
      if (path === '/') continue;
      const p = inner.get(h);
      if (p !== undefined && (p === path || p.startsWith(`${path}/`))) return `${h}:${p}`;
    }
  } catch {
    /* the process is gone: nothing to say */
  }
  return null;
}

/** PPid of a process, or null when it is gone. */
export function parentPid(pid: number): number | null {
  try {
    const m = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
