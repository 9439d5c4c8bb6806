// Real tsha agents on the real-cluster harness: one `tsha agent` (from dist/, the built CLI) per
// node inside its namespaces, `tsha witness` on the witness, a real systemd unit per node as the
// resource, and the harness's test fence agent (scripts/fence_tsha_test) as the fence device.
// Shared by test/cluster/agent-failover.test.ts, test/bench/failover.ts and scripts/demo.ts.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient } from '../../src/adapters/grpc/control-client.js';
import type { ClusterStatus, StatusRequest } from '../../src/ports/control.js';
import type { Cluster, ClusterNode, NodeProcess, UnitSampler, UnitSetSampler } from './harness.js';
import { activeNodes, now, RUNNING_STATES, settledPlacement, sleep } from './harness.js';
import { SystemdBus } from './systemd-bus.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN_JS = path.join(ROOT, 'dist/src/cli/main.js');
/** node flags the NixOS unit runs the agent and witness with (NODE_OPTIONS in nixos-module/default.nix) */
export const AGENT_NODE_ARGS = ['--max-semi-space-size=1'];
export const MESH_PORT = 7400;

/** Newest mtime of any file under a directory (for "is dist older than src?"). */
function newestMtime(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p));
    else if (e.isFile()) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Builds dist/ with `npm run build` when it is missing or older than src/ or proto/. */
export function ensureBuilt(): void {
  const stale = !fs.existsSync(MAIN_JS) || newestMtime(path.join(ROOT, 'src')) > fs.statSync(MAIN_JS).mtimeMs || newestMtime(path.join(ROOT, 'proto')) > fs.statSync(MAIN_JS).mtimeMs;
  if (!stale) return;
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  // tsc leaves untouched outputs' mtimes alone: mark the build as fresh.
  const t = new Date();
  fs.utimesSync(MAIN_JS, t, t);
}

/**
 * Many systemd resources instead of the single `web` one: each primitive its own unit running
 * `sleep infinity`, some of them members of groups. scaleResourceSet() builds the benchmark's.
 */
export interface ResourceSet {
  readonly primitives: readonly { readonly id: string; readonly unit: string }[];
  /** groups by id: members are primitive ids, started in this order on one node */
  readonly groups: readonly { readonly id: string; readonly members: readonly string[] }[];
}

/**
 * `n` primitives r001… (units `<prefix>r001.service`…), the first groups × groupSize of them in
 * groups g01… of groupSize consecutive members, the rest lone primitives.
 */
export function scaleResourceSet(prefix: string, n: number, opts: { groups?: number; groupSize?: number } = {}): ResourceSet {
  const groups = opts.groups ?? 10;
  const groupSize = opts.groupSize ?? 3;
  if (!Number.isInteger(n) || n < 1) throw new Error(`scaleResourceSet: n must be a positive integer, got ${n}`);
  if (groups * groupSize > n) throw new Error(`scaleResourceSet: ${groups} groups of ${groupSize} need ${groups * groupSize} resources, have n = ${n}`);
  const w = Math.max(3, String(n).length);
  const gw = Math.max(2, String(groups).length);
  const primitives = Array.from({ length: n }, (_, i) => {
    const id = `r${String(i + 1).padStart(w, '0')}`;
    return { id, unit: `${prefix}${id}.service` };
  });
  return {
    primitives,
    groups: Array.from({ length: groups }, (_, g) => ({
      id: `g${String(g + 1).padStart(gw, '0')}`,
      members: primitives.slice(g * groupSize, (g + 1) * groupSize).map((p) => p.id),
    })),
  };
}

export interface TshaClusterOptions {
  /** systemd unit used as the resource (default tshweb.service: `sleep infinity`). */
  unit?: string;
  resourceId?: string;
  /**
   * The configuration's resources are these instead of the single `web` one (not together with
   * unit or resourceId). `unit` and `resourceId` then name the first primitive, so the
   * single-resource helpers act on it; `units` lists them all.
   */
  resources?: ResourceSet;
  /**
   * The configuration file starts with every resource stopped (resourceDefaults.targetRole
   * "stopped"); addResources() lifts that and reloads every agent (SIGHUP), as an operator starts
   * resources on a formed cluster. Then they are placed over every node, not over whichever first
   * quorum of nodes formed (default false).
   */
  deferResources?: boolean;
  /**
   * The single resource is this primitive (kind and params) instead of the systemd unit, with the
   * same operations unless it gives its own (e.g. `{ kind: 'lxc', params: { name } }`); the unit
   * helpers apply when `unit` names the systemd unit it runs (a microvm's microvm@NAME.service).
   */
  primitive?: { kind: string; params: Record<string, string>; operations?: Record<string, unknown>; storage?: Record<string, unknown> };
  /** extra arguments for every agent (after `agent`), e.g. --metrics-address */
  agentArgs?: (n: ClusterNode) => string[];
  monitorIntervalMs?: number;
  logLevel?: string;
  timing?: Record<string, number>;
  /** extra arguments for node before the script (e.g. --cpu-prof, --max-old-space-size=…) */
  nodeArgs?: string[];
  /** extra environment for every agent (e.g. glibc malloc tunables), on top of the node's own */
  agentEnv?: Record<string, string>;
  /** configure the fence device fence_tsha_test for every node (default true) */
  fenceDevice?: boolean;
  /** that device also unfences (fencing.devices.<id>.unfence: action on at every join; default false) */
  unfence?: boolean;
  /** the single resource runs as a clone, one copy on every node (clone id `<resourceId>-clone`; default false) */
  clone?: boolean;
  /** fencing.watchdog: recover a lost node after lease + drift + watchdogMs when no device covers it (default false) */
  watchdogFencing?: boolean;
  /** per node: the watchdog device its agent feeds (`--watchdog-device`), e.g. a FakeWatchdog's FIFO */
  watchdogDevice?: (n: ClusterNode) => string | undefined;
}

/** Agents, witness and a systemd resource configured over a harness cluster. */
export class TshaCluster {
  readonly unit: string;
  readonly resourceId: string;
  /** Every resource unit of the configuration (`[unit]` without a resource set). */
  readonly units: readonly string[];
  readonly configFile: string;
  /** The whole configuration (with deferResources, the file holds it with every resource stopped until addResources()). */
  private readonly config: Record<string, unknown>;
  readonly agents = new Map<string, NodeProcess>();
  witnessProc: NodeProcess | undefined;

  constructor(readonly c: Cluster, readonly opts: TshaClusterOptions = {}) {
    const set = opts.resources;
    if (set && (opts.unit !== undefined || opts.resourceId !== undefined)) {
      throw new Error('TshaClusterOptions: resources replaces the single resource; do not give unit or resourceId with it');
    }
    if (set && set.primitives.length === 0) throw new Error('TshaClusterOptions: resources.primitives is empty');
    if (set && opts.primitive) throw new Error('TshaClusterOptions: primitive replaces the single resource; resources replaces it by many');
    this.unit = set ? set.primitives[0]!.unit : (opts.unit ?? `${c.prefix}web.service`);
    this.resourceId = set ? set.primitives[0]!.id : (opts.resourceId ?? 'web');
    this.units = set ? set.primitives.map((p) => p.unit) : [this.unit];
    const names = c.nodes.map((n) => n.name);
    const systemdResource = (unit: string) => ({
      kind: 'systemd',
      params: { unit },
      operations: { monitor: { intervalMs: opts.monitorIntervalMs ?? 1000, timeoutMs: 5000 }, start: { timeoutMs: 10000 }, stop: { timeoutMs: 10000 } },
    });
    const config = {
      cluster: { name: 'itest', id: c.prefix },
      nodes: Object.fromEntries(c.nodes.map((n) => [n.name, { address: `${n.meshIp}:${MESH_PORT}`, publicKey: n.publicKey }])),
      witness: c.witness ? { name: c.witness.name, address: `${c.witness.meshIp}:${MESH_PORT}`, publicKey: c.witness.publicKey } : null,
      fencing: {
        enabled: true,
        watchdog: opts.watchdogFencing ?? false,
        devices: opts.fenceDevice === false ? {} : { power: { agent: 'fence_tsha_test', parameters: { harness_socket: c.fenceSocket }, hosts: names, timeoutMs: 20000, ...(opts.unfence ? { unfence: true } : {}) } },
      },
      resources: set
        ? Object.fromEntries(set.primitives.map((p) => [p.id, systemdResource(p.unit)]))
        : { [this.resourceId]: opts.primitive ? { ...systemdResource(this.unit), ...opts.primitive } : systemdResource(this.unit) },
      ...(set && set.groups.length > 0 ? { groups: Object.fromEntries(set.groups.map((g) => [g.id, { members: [...g.members] }])) } : {}),
      ...(opts.clone ? { clones: { [`${this.resourceId}-clone`]: { child: this.resourceId } } } : {}),
      ...(opts.timing ? { timing: opts.timing } : {}),
    };
    this.config = config;
    this.configFile = path.join(c.dir, 'tsha.json');
    this.writeConfig(!opts.deferResources);
  }

  private writeConfig(started: boolean): void {
    const config = started ? this.config : { ...this.config, resourceDefaults: { targetRole: 'stopped' } };
    fs.writeFileSync(`${this.configFile}.tmp`, JSON.stringify(config, null, 2));
    fs.renameSync(`${this.configFile}.tmp`, this.configFile);
  }

  /**
   * With deferResources: rewrites the configuration file with the resources started, sends SIGHUP
   * to every running agent and waits until each one logged the reload (placement follows).
   */
  async addResources(timeoutMs = 20_000): Promise<void> {
    this.writeConfig(true);
    const up = this.c.nodes.filter((n) => n.power === 'up' && this.agents.get(n.name)?.running());
    const reloads = (n: ClusterNode): number => this.agents.get(n.name)!.output().split('"configuration reloaded"').length - 1;
    const before = new Map(up.map((n) => [n.name, reloads(n)]));
    for (const n of up) {
      const pid = this.agentPid(n);
      if (pid === undefined) throw new Error(`addResources: no agent process found for ${n.name}`);
      process.kill(pid, 'SIGHUP');
    }
    await this.waitFor('every agent to reload its configuration', async () => up.every((n) => reloads(n) > before.get(n.name)!), timeoutMs, 100);
  }

  /** Writes the unit file of every resource (`units`) on every node and reloads their systemd. */
  async installUnit(execStart = '/bin/sleep infinity'): Promise<void> {
    for (const n of this.c.nodes) for (const u of this.units) n.writeUnit(u, `[Unit]\nDescription=tsha test resource\n[Service]\nExecStart=${execStart}\n`);
    await Promise.all(this.c.nodes.map((n) => n.daemonReload()));
  }

  /**
   * Where every resource unit is active right now, read from outside with one D-Bus call per
   * powered node (see SystemdBus.activeStates): unit → nodes, each of `units` a key.
   */
  async placement(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(this.units.map((u) => [u, []]));
    await Promise.all(
      this.c.nodes.filter((n) => n.power === 'up').map(async (n) => {
        const bus = new SystemdBus(n.busAddress);
        try {
          const states = await bus.activeStates(this.units, 2000);
          for (const [u, st] of states) if (st === 'active') out.get(u)?.push(n.name);
        } catch {
          /* a silent manager: its units count as nowhere this time */
        } finally {
          bus.close();
        }
      }),
    );
    return out;
  }

  /** Until every resource unit is active on exactly one node; returns node → its units. */
  async waitAllPlaced(timeoutMs: number): Promise<Map<string, string[]>> {
    return this.waitFor(`all ${this.units.length} units active, each on exactly one node`, async () => {
      const p = await this.placement();
      if (![...p.values()].every((ns) => ns.length === 1)) return null;
      const byNode = new Map<string, string[]>(this.c.nodes.map((n) => [n.name, []]));
      for (const [u, ns] of p) byNode.get(ns[0]!)!.push(u);
      return byNode;
    }, timeoutMs, 200);
  }

  socket(n: ClusterNode | string): string {
    const node = typeof n === 'string' ? this.c.node(n) : n;
    return path.join(node.dir, 'agent.sock');
  }

  /** Spawns (or re-spawns) the agent of one node. */
  startAgent(n: ClusterNode | string): NodeProcess {
    const node = typeof n === 'string' ? this.c.node(n) : n;
    const wd = this.opts.watchdogDevice?.(node);
    const p = node.spawn(
      [
        process.execPath, ...AGENT_NODE_ARGS, ...(this.opts.nodeArgs ?? []), MAIN_JS, '--log-level', this.opts.logLevel ?? 'info', 'agent', '--config', this.configFile, '--node', node.name,
        '--state-dir', path.join(node.dir, 'state'), '--socket', this.socket(node), '--systemd-bus', node.busAddress,
        '--fence-path', path.join(ROOT, 'scripts'),
        ...(wd ? ['--watchdog-device', wd] : []),
        ...(this.opts.agentArgs?.(node) ?? []),
      ],
      { name: 'agent', env: { ...this.opts.agentEnv, NOTIFY_SOCKET: '' } },
    );
    this.agents.set(node.name, p);
    return p;
  }

  startWitness(): NodeProcess | undefined {
    const w = this.c.witness;
    if (!w) return undefined;
    this.witnessProc = w.spawn(
      [process.execPath, ...AGENT_NODE_ARGS, MAIN_JS, '--log-level', this.opts.logLevel ?? 'info', 'witness', '--config', this.configFile, '--state-dir', path.join(w.dir, 'state'), '--no-socket'],
      { name: 'witness', env: { NOTIFY_SOCKET: '' } },
    );
    return this.witnessProc;
  }

  startAll(): void {
    this.startWitness();
    for (const n of this.c.nodes) this.startAgent(n);
  }

  /** The agent's status over its control socket, or null when it does not answer. */
  async status(n: ClusterNode | string, timeoutMs = 1000, req: Partial<StatusRequest> = {}): Promise<ClusterStatus | null> {
    const cl = new ControlClient({ socketPath: this.socket(n), timeoutMs });
    try {
      return await cl.status(req);
    } catch {
      return null;
    } finally {
      cl.close();
    }
  }

  /** Resolves once every live node's agent reports a quorate partition with the same coordinator. */
  async waitQuorate(timeoutMs: number, nodes: ClusterNode[] = this.c.nodes.filter((n) => n.power === 'up')): Promise<string> {
    return this.waitFor('a quorate cluster with one coordinator', async () => {
      const all = await Promise.all(nodes.map((n) => this.status(n, 500)));
      const coords = new Set(all.map((s) => s?.coordinator ?? ''));
      return coords.size === 1 && !coords.has('') && all.every((s) => s?.quorum?.quorate) ? [...coords][0] : null;
    }, timeoutMs, 10);
  }

  /** Nodes whose systemd says the unit is active right now. */
  async activeOn(): Promise<string[]> {
    const out: string[] = [];
    for (const n of this.c.nodes) {
      if (n.power !== 'up') continue;
      const st = await n.unitState(this.unit).catch(() => 'unknown');
      if (st === 'active') out.push(n.name);
    }
    return out;
  }

  async waitHolder(timeoutMs: number): Promise<ClusterNode> {
    const name = await this.waitFor(`${this.unit} active on exactly one node`, async () => {
      const on = await this.activeOn();
      return on.length === 1 ? on[0] : null;
    }, timeoutMs, 50);
    return this.c.node(name!);
  }

  async waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
    const end = now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.logs()}`);
      await sleep(everyMs);
    }
  }

  /** PID of the agent (node) process itself: the spawned wrapper execs into it, else look it up. */
  agentPid(n: ClusterNode | string): number | undefined {
    const name = typeof n === 'string' ? n : n.name;
    const p = name === this.c.witness?.name ? this.witnessProc : this.agents.get(name);
    if (!p) return undefined;
    const want = (pid: number): boolean => {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return cmd[0] === process.execPath && cmd.includes(MAIN_JS) && cmd.includes(this.configFile);
      } catch {
        return false;
      }
    };
    if (want(p.pid)) return p.pid;
    // Walk down from the wrapper through single-child chains.
    let pid = p.pid;
    for (let i = 0; i < 5; i++) {
      let kids: string[] = [];
      try {
        kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      } catch {
        return undefined;
      }
      const k = kids.map(Number).find((x) => x > 0);
      if (k === undefined) return undefined;
      if (want(k)) return k;
      pid = k;
    }
    return undefined;
  }

  /** Until node n's agent is in a quorate partition again and reports the resource started there. */
  async waitBackWithResource(n: ClusterNode, timeoutMs: number): Promise<void> {
    await this.waitFor(`${n.name} back in the quorate partition with the resource started`, async () => {
      const st = await this.status(n);
      return st?.quorum?.quorate && st.resources.find((r) => r.id === this.resourceId)?.nodes.includes(n.name) ? st : null;
    }, timeoutMs, 100);
  }

  /**
   * Waits for the resource to be placed, starts sampling its unit on every node (20 ms, from
   * outside), and returns the sampler with the node the unit runs on steadily.
   */
  async sampledHolder(timeoutMs: number): Promise<{ s: UnitSampler; holder: ClusterNode }> {
    await this.waitHolder(timeoutMs);
    const s = this.c.sampleUnits(this.unit);
    return { s, holder: await this.stableHolder(s) };
  }

  /**
   * The holder once the placement has settled: every sampled tick of the last `stableMs` shows the
   * unit running on the same single node and nowhere else (so a fault is not injected in the middle
   * of a move, whose stopping copy would be counted as overlap).
   */
  async stableHolder(s: UnitSampler, stableMs = 1000, timeoutMs = 20_000): Promise<ClusterNode> {
    const name = await this.waitFor(`${this.unit} steadily on one node for ${stableMs} ms`, async () => {
      const ticks = s.timeline().ticks;
      const last = ticks.at(-1);
      if (!last) return null;
      const win = ticks.filter((k) => k.t >= last.t - stableMs);
      if (win.length < 2 || last.t - win[0]!.t < stableMs * 0.9) return null;
      const holders = new Set<string>();
      for (const k of win) {
        const running = Object.entries(k.states).filter(([, st]) => RUNNING_STATES.has(st) || st === 'unknown');
        if (running.length !== 1 || running[0]![1] !== 'active') return null;
        holders.add(running[0]![0]);
      }
      return holders.size === 1 ? [...holders][0] : null;
    }, timeoutMs, 50);
    return this.c.node(name!);
  }

  /**
   * The placement of every resource unit once it has settled: every sampled tick of the last
   * `stableMs` shows each unit active on one node, nothing starting or stopping, and the same
   * placement throughout. Returns node → its units (every cluster node a key).
   */
  async stablePlacement(s: UnitSetSampler, stableMs = 1000, timeoutMs = 30_000): Promise<Map<string, string[]>> {
    const set = { units: s.units };
    const placed = await this.waitFor(`all ${s.units.length} units steadily placed for ${stableMs} ms`, async () => {
      const ticks = s.timeline().ticks;
      const last = ticks.at(-1);
      if (!last) return null;
      const win = ticks.filter((k) => k.t >= last.t - stableMs);
      if (win.length < 2 || last.t - win[0]!.t < stableMs * 0.9) return null;
      let sig: string | undefined;
      for (const k of win) {
        if (!settledPlacement(set, k)) return null;
        const here = JSON.stringify([...activeNodes(set, k)]);
        if (sig !== undefined && here !== sig) return null;
        sig = here;
      }
      return activeNodes(set, last);
    }, timeoutMs, 50);
    const byNode = new Map<string, string[]>(this.c.nodes.map((n) => [n.name, []]));
    for (const [u, ns] of placed) byNode.get(ns[0]!)!.push(u);
    return byNode;
  }

  /** `tsha resource move` to a node, wait until the unit runs only there, then `tsha resource clear`. */
  async moveTo(target: ClusterNode): Promise<void> {
    const cli = (a: string[]): void => {
      execFileSync(process.execPath, [MAIN_JS, 'resource', ...a, '--socket', this.socket(target)], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    };
    cli(['move', this.resourceId, target.name]);
    await this.waitFor(`${this.unit} on ${target.name}`, async () => {
      const on = await this.activeOn();
      return on.length === 1 && on[0] === target.name;
    }, 20_000);
    cli(['clear', this.resourceId]);
  }

  /** MainPID of the unit on a node, from its systemd. */
  async mainPid(n: ClusterNode): Promise<number> {
    const r = await n.systemctl('show', '-p', 'MainPID', '--value', this.unit);
    return Number(r.stdout.trim());
  }

  logs(lines = 25): string {
    const parts: string[] = [];
    for (const [name, p] of [...this.agents.entries(), ...(this.witnessProc ? [['witness', this.witnessProc] as const] : [])]) {
      const out = p.output().split('\n').slice(-lines).join('\n');
      parts.push(`--- ${name} agent log (tail)\n${out}`);
    }
    return parts.join('\n');
  }
}
