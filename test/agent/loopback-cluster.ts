// A real cluster of tsha agents on loopback, for the end-to-end tests and scripts/demo-loopback.ts:
// every agent is a child process (`tsha agent`, through tsx) with its own 127.0.0.x mesh address,
// state directory and control socket; the resource is an exec resource whose process belongs to
// the node that started it; fencing is scripts/fence_tsha_loopback, which "powers a node off" by
// killing its agent and its resources with SIGKILL (the stand-in for a BMC, which loopback cannot
// have) and confirms once they are gone.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ControlClient } from '../../src/adapters/grpc/control-client.js';
import type { ClusterStatus } from '../../src/ports/control.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');
const execFileP = promisify(execFile);

/** The tsha CLI from source, as an operator runs it: exit code and output, never a throw. */
export async function tshaCli(args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, timeout: timeoutMs });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The same, waited for in place (for checks inside a waitFor callback): status null when it was killed. */
export function tshaCliSync(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const FENCE_DIR = join(ROOT, 'scripts');

export interface LoopbackNode {
  name: string;
  ip: string;
  port: number;
  socket: string;
  stateDir: string;
  proc: ChildProcess | null;
  logFile: string;
  /** GET /metrics of this agent */
  metricsAddress: string;
}

export interface LoopbackOptions {
  nodes?: number;
  /** resources: exec "web" (default) */
  resources?: string[];
  monitorIntervalMs?: number;
  logLevel?: string;
  /** timing section of the configuration (defaults of the options table when absent) */
  timing?: Record<string, number>;
  /** add a witness `w` (run with `tsha witness`) */
  witness?: boolean;
}

function pick(): { ipBase: number; port: number } {
  const ipBase = 100 + Math.floor(Math.random() * 140);
  const port = 21000 + Math.floor(Math.random() * 20000);
  return { ipBase, port };
}

export function execResource(dir: string, id: string, monitorIntervalMs: number): unknown {
  const pid = `"${dir}/$TSHA_NODE.${id}.res.pid"`;
  return {
    kind: 'exec',
    params: {
      start: `sleep 3600 >/dev/null 2>&1 & echo $! > ${pid}`,
      stop: `[ -f ${pid} ] && kill $(cat ${pid}) 2>/dev/null; rm -f ${pid}; exit 0`,
      monitor: `[ -f ${pid} ] && kill -0 $(cat ${pid}) 2>/dev/null || exit 7`,
    },
    operations: { monitor: { intervalMs: monitorIntervalMs, timeoutMs: 5000 }, start: { timeoutMs: 5000 }, stop: { timeoutMs: 5000 } },
  };
}

export class LoopbackCluster {
  readonly dir: string;
  readonly configFile: string;
  readonly nodes: LoopbackNode[] = [];
  /** the witness, when configured (not in `nodes`: it hosts nothing) */
  readonly witness: LoopbackNode | null = null;

  constructor(readonly opts: LoopbackOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'tsha-ag-lo-'));
    const n = opts.nodes ?? 3;
    const { ipBase, port } = pick();
    const names = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    for (const [i, name] of names.entries()) {
      this.nodes.push({
        name, ip: `127.0.${ipBase}.${i + 1}`, port: port + i, socket: join(this.dir, `${name}.sock`), stateDir: join(this.dir, `${name}.state`),
        proc: null, logFile: join(this.dir, `${name}.log`), metricsAddress: `${`127.0.${ipBase}.${i + 1}`}:${port + 20 + i}`,
      });
    }
    if (opts.witness) {
      this.witness = {
        name: 'w', ip: `127.0.${ipBase}.9`, port: port + 9, socket: join(this.dir, 'w.sock'), stateDir: join(this.dir, 'w.state'), proc: null, logFile: join(this.dir, 'w.log'),
        metricsAddress: `127.0.${ipBase}.9:${port + 29}`,
      };
    }
    const resources: Record<string, unknown> = {};
    for (const id of opts.resources ?? ['web']) resources[id] = execResource(this.dir, id, opts.monitorIntervalMs ?? 500);
    const config = {
      cluster: { name: 'loopback', id: `lo-${ipBase}-${port}` },
      nodes: Object.fromEntries(this.nodes.map((nd) => [nd.name, { address: `${nd.ip}:${nd.port}` }])),
      ...(this.witness ? { witness: { name: this.witness.name, address: `${this.witness.ip}:${this.witness.port}` } } : {}),
      fencing: {
        enabled: true,
        devices: { power: { agent: 'fence_tsha_loopback', parameters: { dir: this.dir }, hosts: names, timeoutMs: 10000 } },
      },
      resourceDefaults: { stickiness: 100 },
      resources,
      // crashGraceMs 0: on loopback a "power loss" (fence_tsha_loopback, or a test's kill) only kills
      // the agent; the shared kernel then answers its port with RST, which is exactly the evidence
      // of an agent CRASH on a live host. Loopback cannot tell the two apart, so the crash grace
      // would delay every power-loss failover by timing.crashGraceMs. Tests may set it explicitly.
      timing: { crashGraceMs: 0, ...opts.timing },
    };
    this.configFile = join(this.dir, 'cluster.json');
    writeFileSync(this.configFile, JSON.stringify(config, null, 2));
  }

  node(name: string): LoopbackNode {
    const n = this.nodes.find((x) => x.name === name) ?? (this.witness?.name === name ? this.witness : undefined);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Start (or restart) the agent of one node as a child process. */
  start(name: string): ChildProcess {
    const n = this.node(name);
    const isWitness = n === this.witness;
    const args = [
      '--import', 'tsx', MAIN, '--log-level', this.opts.logLevel ?? 'info', isWitness ? 'witness' : 'agent', '--config', this.configFile,
      ...(isWitness ? [] : ['--node', n.name, '--fence-path', FENCE_DIR]), '--state-dir', n.stateDir, '--socket', n.socket, '--self-fence', 'exit',
      '--metrics-address', n.metricsAddress,
    ];
    const fd = openSync(n.logFile, 'a');
    const out = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', fd], env: { ...process.env, NOTIFY_SOCKET: '' } });
    closeSync(fd);
    writeFileSync(join(this.dir, `${n.name}.agent.pid`), String(out.pid));
    n.proc = out;
    return out;
  }

  startAll(): void {
    for (const n of this.nodes) this.start(n.name);
    if (this.witness) this.start(this.witness.name);
  }

  /** kill -9 the agent of a node (its resources keep running: the agent crashed, the machine did not). */
  killAgent(name: string): void {
    const n = this.node(name);
    n.proc?.kill('SIGKILL');
  }

  /** Power loss: the agent and the node's resource processes die at once. */
  powerOff(name: string): void {
    const n = this.node(name);
    n.proc?.kill('SIGKILL');
    for (const id of this.opts.resources ?? ['web']) {
      const pid = this.resourcePid(name, id);
      if (pid !== null) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }

  /** PID of a resource's process on a node, when its pid file exists and the process lives. */
  resourcePid(name: string, id: string): number | null {
    const f = join(this.dir, `${name}.${id}.res.pid`);
    if (!existsSync(f)) return null;
    const pid = Number(readFileSync(f, 'utf8').trim());
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  /** Nodes whose resource process for `id` is alive right now (checked from outside the agents). */
  runningOn(id: string): string[] {
    return this.nodes.filter((n) => this.resourcePid(n.name, id) !== null).map((n) => n.name);
  }

  async status(name: string): Promise<ClusterStatus | null> {
    const c = new ControlClient({ socketPath: this.node(name).socket, timeoutMs: 1000 });
    try {
      return await c.status({});
    } catch {
      return null;
    } finally {
      c.close();
    }
  }

  /** One sample of a metric from a live agent (sum over its label sets), or null when unreachable. */
  async metric(name: string, metric: string): Promise<number | null> {
    try {
      const text = await (await fetch(`http://${this.node(name).metricsAddress}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
        if (m && `${m[1]}${m[2] ?? ''}`.startsWith(metric)) sum += Number(m[3]);
      }
      return sum;
    } catch {
      return null;
    }
  }

  async waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, everyMs = 20): Promise<T> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.logs()}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  logs(lines = 30): string {
    return [...this.nodes, ...(this.witness ? [this.witness] : [])]
      .map((n) => {
        const text = existsSync(n.logFile) ? readFileSync(n.logFile, 'utf8') : '';
        return `--- ${n.name}\n${text.split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  /** Kill every agent and resource process this cluster started, remove the directory. */
  async destroy(): Promise<void> {
    for (const n of [...this.nodes, ...(this.witness ? [this.witness] : [])]) {
      if (n.proc && n.proc.exitCode === null && n.proc.signalCode === null) {
        const exited = new Promise((r) => n.proc!.once('exit', r));
        n.proc.kill('SIGKILL');
        await exited;
      }
      for (const id of this.opts.resources ?? ['web']) {
        const pid = this.resourcePid(n.name, id);
        if (pid !== null) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
