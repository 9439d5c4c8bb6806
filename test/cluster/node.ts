// One namespaced "machine" of a test cluster: its network namespace, its persistent mount
// namespace, its cgroup tree, its wireguard-go interface, its own `systemd --user`, and the
// processes tests start on it. Power is modelled by the cgroup tree: power loss kills the tree.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cgroupPids, enterCgroupArgv } from './cgroup.js';
import { SystemdBus } from './systemd-bus.js';
import type { RunResult } from './sh.js';
import { run } from './sh.js';

export type NodeRole = 'node' | 'witness';
export type PowerState = 'up' | 'down';

/** A node operation refused because the node is powered off. */
export class NodeDownError extends Error {
  constructor(
    readonly node: string,
    readonly operation: string,
  ) {
    super(`node ${node} is powered off: cannot ${operation}`);
    this.name = 'NodeDownError';
  }
}

export interface NodeProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A long-running process that belongs to a node (killed by its power loss). */
export interface NodeProcess {
  readonly name: string;
  readonly pid: number;
  readonly argv: readonly string[];
  /** stdout and stderr of the process. */
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly exited: Promise<NodeProcessExit>;
  running(): boolean;
  /** How it ended, once it has. */
  exitStatus(): NodeProcessExit | undefined;
  kill(signal?: NodeJS.Signals): void;
  /** The output so far (stdout and stderr interleaved). */
  output(): string;
}

export interface NodeLayout {
  readonly name: string;
  readonly role: NodeRole;
  /** 1-based; the witness comes after the nodes. Picks addresses and interface names. */
  readonly ordinal: number;
  readonly prefix: string;
  readonly runDir: string;
  readonly underlayIp: string;
  readonly meshIp: string;
  readonly meshPrefixLen: number;
  readonly mac: string;
  readonly wgPort: number;
  readonly withSystemd: boolean;
  /** Unix socket of the harness's fence server, given to node processes as TSHA_HARNESS_SOCKET. */
  readonly fenceSocket: string;
}

export const SYSTEMD_BIN = ['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].find((p) => fs.existsSync(p)) ?? '/lib/systemd/systemd';
const HOST_PATH = process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class ClusterNode {
  readonly name: string;
  readonly role: NodeRole;
  readonly ordinal: number;
  /** Network namespace name (`ip netns`), e.g. tshk3f9-n1. */
  readonly netns: string;
  readonly netnsPath: string;
  /** Bind-mounted mount namespace: survives power loss like a disk does. */
  readonly mountNsFile: string;
  /** Top cgroup of the node (relative to each hierarchy root); systemd in `<cgroup>/sys`, the rest in `<cgroup>/ext`. */
  readonly cgroup: string;
  readonly underlayIp: string;
  readonly meshIp: string;
  readonly meshPrefixLen: number;
  /** Interface names: veth inside the node, its bridge port in the switch namespace, WireGuard. */
  readonly ifUnderlay: string;
  readonly ifSwitchPort: string;
  readonly ifWireguard: string;
  readonly mac: string;
  readonly wgPort: number;
  /** Persistent per-node directory (survives power loss): put agent state here. */
  readonly dir: string;
  /** XDG_RUNTIME_DIR of the node's systemd: volatile, wiped by powerOn like /run on a reboot. */
  readonly runtimeDir: string;
  /** The node's LXC directory (persistent), bound over /var/lib/lxc in its mount namespace when LXC is installed (lxc.ts). */
  readonly lxcDir: string;
  /** Unit files of the node's systemd ($XDG_CONFIG_HOME/systemd/user). */
  readonly unitDir: string;
  readonly logDir: string;
  readonly privateKeyFile: string;
  publicKey = '';
  readonly withSystemd: boolean;
  /** D-Bus address of the node's systemd (its user bus). */
  readonly busAddress: string;
  readonly fenceSocket: string;
  power: PowerState = 'down';
  private readonly procs = new Set<NodeProcess>();
  private spawnSeq = 0;

  constructor(l: NodeLayout) {
    this.name = l.name;
    this.role = l.role;
    this.ordinal = l.ordinal;
    this.netns = `${l.prefix}-${l.name}`;
    this.netnsPath = `/run/netns/${this.netns}`;
    this.cgroup = `${l.prefix}-${l.name}`;
    this.underlayIp = l.underlayIp;
    this.meshIp = l.meshIp;
    this.meshPrefixLen = l.meshPrefixLen;
    this.ifUnderlay = `${l.prefix}-e${l.ordinal}`;
    this.ifSwitchPort = `${l.prefix}-s${l.ordinal}`;
    this.ifWireguard = `${l.prefix}-w${l.ordinal}`;
    this.mac = l.mac;
    this.wgPort = l.wgPort;
    this.dir = path.join(l.runDir, 'nodes', l.name);
    this.mountNsFile = path.join(l.runDir, 'ns', `${l.name}.mnt`);
    this.runtimeDir = path.join(this.dir, 'run');
    this.unitDir = path.join(this.dir, 'config', 'systemd', 'user');
    this.logDir = path.join(this.dir, 'logs');
    this.lxcDir = path.join(this.dir, 'lxc');
    this.privateKeyFile = path.join(this.dir, 'wg.key');
    this.withSystemd = l.withSystemd;
    this.busAddress = `unix:path=${path.join(this.runtimeDir, 'bus')}`;
    this.fenceSocket = l.fenceSocket;
  }

  /** Environment of every process started in the node: its systemd is the session bus. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      PATH: HOST_PATH,
      LANG: 'C.UTF-8',
      HOME: this.dir,
      XDG_RUNTIME_DIR: this.runtimeDir,
      XDG_CONFIG_HOME: path.join(this.dir, 'config'),
      XDG_DATA_HOME: path.join(this.dir, 'data'),
      XDG_STATE_HOME: path.join(this.dir, 'state'),
      XDG_CACHE_HOME: path.join(this.dir, 'cache'),
      DBUS_SESSION_BUS_ADDRESS: this.busAddress,
      TSHA_NODE: this.name,
      TSHA_HARNESS_SOCKET: this.fenceSocket,
      ...extra,
    };
  }

  /** argv that runs `argv` inside the node (its netns and mount ns), as a process of its cgroup `sub`. */
  insideArgv(argv: readonly string[], sub: 'sys' | 'ext' = 'ext', cwd = process.cwd()): string[] {
    return enterCgroupArgv(`${this.cgroup}/${sub}`, [
      'nsenter',
      `--net=${this.netnsPath}`,
      `--mount=${this.mountNsFile}`,
      `--wd=${cwd}`,
      '--',
      ...argv,
    ]);
  }

  /** Runs a command inside the node and waits for it; rejects only when the node is off, never on a non-zero exit. */
  async exec(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    if (this.power === 'down') throw new NodeDownError(this.name, `exec ${argv.join(' ')}`);
    return run(this.insideArgv(argv), { env: this.env(opts.env), input: opts.input, timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /**
   * Starts a long-running process that belongs to the node (e.g. the agent): inside its netns and
   * mount ns, in its cgroup, output appended to `<node.logDir>/<name>.log`. Killed by power loss.
   */
  spawn(argv: readonly string[], opts: { name?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): NodeProcess {
    if (this.power === 'down') throw new NodeDownError(this.name, `spawn ${argv.join(' ')}`);
    return this.spawnRaw(argv, { ...opts, sub: 'ext' });
  }

  /** @internal spawn without the power check (used while powering on). */
  spawnRaw(argv: readonly string[], opts: { name?: string; env?: NodeJS.ProcessEnv; cwd?: string; sub: 'sys' | 'ext'; netOnly?: boolean }): NodeProcess {
    const name = opts.name ?? `${path.basename(argv[0] ?? 'proc')}-${++this.spawnSeq}`;
    fs.mkdirSync(this.logDir, { recursive: true });
    const logFile = path.join(this.logDir, `${name}.log`);
    const fd = fs.openSync(logFile, 'a');
    const full = opts.netOnly
      ? enterCgroupArgv(`${this.cgroup}/${opts.sub}`, ['nsenter', `--net=${this.netnsPath}`, '--', ...argv])
      : this.insideArgv(argv, opts.sub, opts.cwd);
    const child = spawn(full[0] as string, full.slice(1), { env: this.env(opts.env), stdio: ['ignore', fd, fd], cwd: opts.cwd });
    fs.closeSync(fd);
    let alive = true;
    let status: NodeProcessExit | undefined;
    const exited = new Promise<NodeProcessExit>((resolve) => {
      child.on('error', () => {
        alive = false;
        status = { code: 127, signal: null };
        resolve(status);
      });
      child.on('exit', (code, signal) => {
        alive = false;
        status = { code, signal };
        resolve(status);
      });
    });
    const proc: NodeProcess = {
      name,
      pid: child.pid ?? -1,
      argv: [...argv],
      logFile,
      child,
      exited,
      running: () => alive,
      exitStatus: () => status,
      kill: (signal: NodeJS.Signals = 'SIGTERM') => {
        if (alive) child.kill(signal);
      },
      output: () => {
        try {
          return fs.readFileSync(logFile, 'utf8');
        } catch {
          return '';
        }
      },
    };
    this.procs.add(proc);
    void exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Processes the harness started on the node that are still running. */
  tracked(): NodeProcess[] {
    return [...this.procs].filter((p) => p.running());
  }

  /** PIDs of every live process of the node (its whole cgroup tree). */
  pids(): Set<number> {
    return cgroupPids(this.cgroup);
  }

  /**
   * A live process in the node's own mount namespace (its systemd, its agent, ...), or undefined:
   * `/proc/<pid>/root` then shows the node's files (its /run) from outside, without spawning
   * anything. `cached` is returned again while it still qualifies.
   */
  mountNsPid(cached?: number): number | undefined {
    let ns: number;
    try {
      ns = fs.statSync(this.mountNsFile).ino;
    } catch {
      return undefined;
    }
    const inNs = (pid: number): boolean => {
      try {
        return fs.statSync(`/proc/${pid}/ns/mnt`).ino === ns;
      } catch {
        return false;
      }
    };
    if (cached !== undefined && inNs(cached)) return cached;
    return [...this.pids()].find(inNs);
  }

  /** True when no process of the node is alive: the test for "powered off". */
  processesGone(): boolean {
    return this.tracked().length === 0 && this.pids().size === 0;
  }

  /** Writes a unit file for the node's systemd; call daemonReload() after. */
  writeUnit(unit: string, text: string): string {
    fs.mkdirSync(this.unitDir, { recursive: true });
    const file = path.join(this.unitDir, unit);
    fs.writeFileSync(`${file}.tmp`, text);
    fs.renameSync(`${file}.tmp`, file);
    return file;
  }

  removeUnit(unit: string): void {
    fs.rmSync(path.join(this.unitDir, unit), { force: true });
  }

  /** `systemctl --user ARGS` run inside the node (its mount ns has /run/systemd/system, so systemctl sees a booted systemd). */
  async systemctl(...args: string[]): Promise<RunResult> {
    return this.exec(['systemctl', '--user', ...args]);
  }

  async daemonReload(): Promise<void> {
    const r = await this.systemctl('daemon-reload');
    if (r.code !== 0) throw new Error(`daemon-reload on ${this.name} failed: ${r.stderr.trim()}`);
  }

  /** ActiveState of a unit, read once over D-Bus from outside the node. */
  async unitState(unit: string): Promise<string> {
    const bus = new SystemdBus(this.busAddress);
    try {
      return await bus.activeState(unit, 2000);
    } finally {
      bus.close();
    }
  }
}
