// A real cluster on one machine: a "switch" network namespace with a bridge, one namespace per node
// (plus a witness), veth underlay, a full wireguard-go mesh, one `systemd --user` per node, and
// fault injection (power loss, link cut, pairwise and one-way cuts, SIGSTOP). See README.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createCgroup, killCgroup, killCgroupSync, removeCgroup } from './cgroup.js';
import { FenceServer } from './fence-server.js';
import { ContainerSampler, killNodeContainers, killNodeContainersSync, lxcAvailable, NODE_LXC_PATH, removeLxcPivot, stopNodeContainers } from './lxc.js';
import type { NodeProcess } from './node.js';
import { ClusterNode, SYSTEMD_BIN } from './node.js';
import { sampleUnits, type UnitSampler } from './sampler.js';
import { UnitSetSampler } from './unit-set-sampler.js';
import { SystemdBus } from './systemd-bus.js';
import { HarnessCommandError, now, run, runOk, runSync, sleep, waitFor } from './sh.js';

export interface ClusterOptions {
  /** Number of resource-running nodes, named n1..nN (default 3). */
  readonly nodes?: number;
  /** Add a witness namespace named `witness` (mesh member without resources; default false). */
  readonly witness?: boolean;
  /** Short id making every name unique: 2..6 of [a-z0-9] with at least one digit. Random by default. */
  readonly runId?: string;
  /** Start a systemd on the witness too (default false: a witness runs no resources). */
  readonly witnessSystemd?: boolean;
  /** Where the run directory goes (default os.tmpdir()). */
  readonly baseDir?: string;
  /** First three octets of underlay and mesh addresses (defaults 10.213.0 and 10.213.1). */
  readonly underlayNet?: string;
  readonly meshNet?: string;
  readonly wgPort?: number;
  /** WireGuard persistent-keepalive in seconds (default 10). */
  readonly wgKeepaliveS?: number;
  /** Wait at bring-up until every pair has a WireGuard session (default true). */
  readonly waitMesh?: boolean;
}

export interface FaultEvent {
  readonly kind: 'power-loss' | 'power-on' | 'cut-link' | 'heal-link' | 'cut-pair' | 'heal-pair' | 'pause' | 'resume';
  /** Harness clock (`now()`) when the fault took effect. */
  readonly t: number;
  readonly node?: string;
  readonly peer?: string;
  readonly pid?: number;
}

export interface PowerLossResult {
  /** When the first SIGKILL went out: the fault time for failover figures. */
  readonly t: number;
  /** When every process of the node was gone. */
  readonly goneAt: number;
}

/** Measured by createCluster and destroy, for the report. */
export interface ClusterTimings {
  bringUpMs: number;
  /** Time from the start of node building until each phase was done (namespaces, systemd ready, mesh handshaked). */
  phasesMs?: { namespaces: number; systemd?: number; mesh?: number };
  teardownMs?: number;
}

/**
 * A machine on the nodes' LAN that is not a cluster member (a Ceph cluster, a client): its own
 * network namespace `<prefix>-x<name>` with a veth port on the bridge and one underlay address,
 * and a cgroup of the same name for its processes (enter it with enterCgroupArgv). No systemd, no
 * WireGuard, no fault injection; destroy() (and cleanupStale after a killed run) removes it.
 */
export interface LanHost {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly cgroup: string;
}

export const RUN_ID_RE = /^(?=[a-z0-9]*[0-9])[a-z0-9]{2,6}$/;
const WG_SOCK_DIR = '/var/run/wireguard';
/** Live runs, one `<prefix>.json` each ({ pid, start, dir }): how cleanupStale tells live from dead, wherever the run dir is. */
export const RUN_REGISTRY = '/run/tsha-harness';
/** Alternative name of every node's underlay interface: the LAN interface, one name cluster-wide. */
export const LAN_IF = 'lan0';

/**
 * Gives a node's mount namespace its own /run, like a machine: a tmpfs prepared off to the side
 * (with /run/systemd/system, which systemd needs to start, and the host's /run/wireguard bound
 * in so `wg` works inside) and then moved over /run. $1 is an empty host directory to prepare it in.
 */
const NODE_RUN_SETUP = [
  'mkdir -p "$1"',
  'mount -n -t tmpfs -o mode=755 tsha-run "$1"',
  'mkdir -p "$1/systemd/system" "$1/lock" "$1/user" "$1/wireguard"',
  `mount -n --bind ${WG_SOCK_DIR} "$1/wireguard"`,
  'mount -n --move "$1" /run',
].join('\n');

/** Empties a node's /run at power-on (it is volatile on a real machine), keeping the wireguard bind. */
const NODE_RUN_RESET = [
  'cd /run',
  'for f in * .[!.]*; do [ -e "$f" ] && [ "$f" != wireguard ] && rm -rf "$f"; done',
  'mkdir -p /run/systemd/system /run/lock /run/user',
].join('\n');

/** The test fence agent (fence-agents stdin protocol) that powers harness nodes off and on. */
export const FENCE_AGENT = fileURLToPath(new URL('../../scripts/fence_tsha_test', import.meta.url));

/** Requirements of a real cluster; `missing` lists what is absent (empty when it can run). */
export function clusterPrerequisites(): { ok: boolean; missing: string[] } {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  if (!fs.existsSync('/dev/net/tun')) missing.push('/dev/net/tun');
  const bins = ['ip', 'nsenter', 'unshare', 'wireguard-go', 'wg', 'nft', 'ping', 'systemctl', 'mount'];
  for (const b of bins) if (runSync(['sh', '-c', `command -v ${b}`]).code !== 0) missing.push(b);
  if (!['/lib/systemd/systemd', '/usr/lib/systemd/systemd'].some((p) => fs.existsSync(p))) missing.push('systemd');
  if (!['/usr/lib/systemd/user/dbus.socket', '/lib/systemd/user/dbus.socket'].some((p) => fs.existsSync(p))) missing.push('dbus-user-session');
  return { ok: missing.length === 0, missing };
}

const live = new Set<Cluster>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Last resort when the process exits without destroy() (uncaught error, process.exit).
  process.on('exit', () => {
    for (const c of [...live]) c.destroySync();
  });
  // On a signal the event loop still runs: do the full async teardown, which also reaps our
  // children, then die of the same signal (unless someone else handles it).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      process.removeListener(sig, onSignal);
      void Promise.race([Promise.allSettled([...live].map((c) => c.destroy())), sleep(10_000)]).then(() => {
        for (const c of [...live]) c.destroySync();
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    };
    process.on(sig, onSignal);
  }
}

/** Adds the tail of a process's log to the error when waiting on it fails (bring-up diagnostics). */
async function withLog<T>(p: NodeProcess, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (e) {
    let tail = '';
    try {
      tail = fs.readFileSync(p.logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      /* no log */
    }
    const st = p.exitStatus();
    throw new Error(`${(e as Error).message}; ${p.name} ${st ? `exited (code ${st.code}, signal ${st.signal})` : 'running'}, log tail:\n${tail}`);
  }
}

function randomRunId(): string {
  const digits = '0123456789';
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = digits[Math.floor(Math.random() * 10)] as string;
  for (let i = 0; i < 4; i++) id += chars[Math.floor(Math.random() * chars.length)];
  return id;
}

export function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export class Cluster {
  readonly prefix: string;
  readonly switchNs: string;
  readonly bridge: string;
  readonly nftTable: string;
  readonly nodes: ClusterNode[] = [];
  readonly witness: ClusterNode | undefined;
  readonly fenceSocket: string;
  readonly events: FaultEvent[] = [];
  readonly timings: ClusterTimings = { bringUpMs: 0 };
  private fence: FenceServer | undefined;
  private readonly cuts = new Set<string>(); // "a>b": frames from a to b dropped
  private readonly paused = new Set<number>();
  private readonly samplers = new Set<{ stop(): Promise<unknown> }>();
  private readonly made = { runDir: false, nsDirMount: false, switchNs: false, netns: new Set<string>(), mountNs: new Set<string>(), cgroups: new Set<string>() };
  /** Extra hosts on the LAN (attachHost): their cgroups are killed with the nodes'. */
  readonly hosts: LanHost[] = [];
  private destroyed = false;

  private constructor(
    readonly runId: string,
    readonly dir: string,
    private readonly opts: Required<Omit<ClusterOptions, 'runId' | 'baseDir'>>,
  ) {
    this.prefix = `tsh${runId}`;
    this.switchNs = `${this.prefix}-sw`;
    this.bridge = `${this.prefix}-br`;
    this.nftTable = this.prefix;
    this.fenceSocket = path.join(dir, 'fence.sock');
    const count = opts.nodes + (opts.witness ? 1 : 0);
    for (let i = 1; i <= count; i++) {
      const isWitness = opts.witness && i === count;
      const node = new ClusterNode({
        name: isWitness ? 'witness' : `n${i}`,
        role: isWitness ? 'witness' : 'node',
        ordinal: i,
        prefix: this.prefix,
        runDir: dir,
        underlayIp: `${opts.underlayNet}.${i}`,
        meshIp: `${opts.meshNet}.${i}`,
        meshPrefixLen: 24,
        mac: `02:74:73:68:00:${i.toString(16).padStart(2, '0')}`,
        wgPort: opts.wgPort,
        withSystemd: isWitness ? opts.witnessSystemd : true,
        fenceSocket: this.fenceSocket,
      });
      if (isWitness) this.witness = node;
      else this.nodes.push(node);
    }
  }

  /** Every namespace member: the nodes, then the witness. */
  get all(): ClusterNode[] {
    return this.witness ? [...this.nodes, this.witness] : [...this.nodes];
  }

  node(name: string): ClusterNode {
    const n = this.all.find((x) => x.name === name);
    if (!n) throw new Error(`no node named ${name} (have ${this.all.map((x) => x.name).join(', ')})`);
    return n;
  }

  private resolve(n: ClusterNode | string): ClusterNode {
    return typeof n === 'string' ? this.node(n) : n;
  }

  static async create(options: ClusterOptions = {}): Promise<Cluster> {
    const pre = clusterPrerequisites();
    if (!pre.ok) throw new Error(`cannot build a real cluster here, missing: ${pre.missing.join(', ')}`);
    const runId = options.runId ?? randomRunId();
    if (!RUN_ID_RE.test(runId)) throw new Error(`runId "${runId}": want 2 to 6 of [a-z0-9] with at least one digit`);
    const nodes = options.nodes ?? 3;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 20) throw new Error(`nodes: want 1..20, got ${nodes}`);
    const dir = path.join(options.baseDir ?? os.tmpdir(), `tsh${runId}`);
    // Registered before anything exists, so cleanupStale never mistakes a run being built for a dead one.
    fs.mkdirSync(RUN_REGISTRY, { recursive: true });
    const reg = path.join(RUN_REGISTRY, `tsh${runId}.json`);
    fs.writeFileSync(reg, JSON.stringify({ pid: process.pid, start: procStartTime(process.pid), dir }), { flag: 'wx' }); // EEXIST: run id taken
    try {
      fs.mkdirSync(dir, { mode: 0o755 }); // EEXIST: the run id is taken
    } catch (e) {
      fs.rmSync(reg, { force: true });
      throw e;
    }
    const c = new Cluster(runId, dir, {
      nodes,
      witness: options.witness ?? false,
      witnessSystemd: options.witnessSystemd ?? false,
      underlayNet: options.underlayNet ?? '10.213.0',
      meshNet: options.meshNet ?? '10.213.1',
      wgPort: options.wgPort ?? 51820,
      wgKeepaliveS: options.wgKeepaliveS ?? 10,
      waitMesh: options.waitMesh ?? true,
    });
    c.made.runDir = true;
    installExitHooks();
    live.add(c);
    const t0 = now();
    try {
      await c.bringUp();
    } catch (e) {
      await c.destroy().catch(() => undefined);
      throw e;
    }
    c.timings.bringUpMs = now() - t0;
    return c;
  }

  private async bringUp(): Promise<void> {
    const nsDir = path.join(this.dir, 'ns');
    fs.mkdirSync(nsDir);
    // Persistent mount namespaces are bind mounts of nsfs files; their directory must be a private mount.
    await runOk(['mount', '--bind', nsDir, nsDir]);
    this.made.nsDirMount = true;
    await runOk(['mount', '--make-private', nsDir]);
    fs.mkdirSync(WG_SOCK_DIR, { recursive: true }); // bound into every node's private /run

    await runOk(['ip', 'netns', 'add', this.switchNs]);
    this.made.switchNs = true;
    await runOk(['ip', '-n', this.switchNs, '-batch', '-'], {
      input: `link set lo up\nlink add ${this.bridge} type bridge\nlink set ${this.bridge} up\n`,
    });
    await this.applyCuts();

    const all = this.all;
    const t0 = now();
    await Promise.all(all.map((n) => this.buildNode(n)));
    this.timings.phasesMs = { namespaces: now() - t0 };
    // systemd needs no network: it boots while the mesh forms (allSettled: no unhandled rejection meanwhile).
    for (const n of all) this.resetRuntimeDir(n);
    const systemd = Promise.allSettled(all.map((n) => this.startSystemd(n))).then((rs) => {
      if (this.timings.phasesMs) this.timings.phasesMs.systemd = now() - t0;
      return rs;
    });
    // Every interface is configured before any goes up: the first handshakes then find their peers.
    await Promise.all(all.map((n) => this.startWireguard(n)));
    await Promise.all(all.map((n) => this.wireguardUp(n)));
    await Promise.all(all.map((n) => this.wireguardInitiate(n, all.filter((o) => o.ordinal > n.ordinal))));
    const mesh = this.opts.waitMesh ? await Promise.allSettled([this.waitMeshUp()]) : [];
    this.timings.phasesMs.mesh = now() - t0;
    for (const r of [...(await systemd), ...mesh]) if (r.status === 'rejected') throw r.reason;
    for (const n of all) n.power = 'up';
    this.fence = await FenceServer.listen(
      this.fenceSocket,
      {
        plugs: () => this.all.map((n) => n.name),
        power: (p) => (this.node(p).power === 'up' ? 'on' : 'off'),
        off: async (p) => void (await this.powerLoss(p)),
        on: async (p) => {
          if (this.node(p).power === 'down') await this.powerOn(p);
        },
      },
      now,
    );
  }

  private async waitMeshUp(): Promise<void> {
    const all = this.all;
    await Promise.all(
      all.map((n) =>
        waitFor(
          `WireGuard handshakes of ${n.name}`,
          async () => ((await this.handshakes(n)).length === all.length - 1 ? true : undefined),
          10_000,
          10,
        ),
      ),
    );
  }

  private async buildNode(n: ClusterNode): Promise<void> {
    for (const d of [n.dir, n.logDir, n.unitDir]) fs.mkdirSync(d, { recursive: true });
    await runOk(['ip', 'netns', 'add', n.netns]);
    this.made.netns.add(n.netns);
    await runOk(['ip', 'link', 'add', n.ifUnderlay, 'netns', n.netns, 'address', n.mac, 'type', 'veth', 'peer', 'name', n.ifSwitchPort, 'netns', this.switchNs]);
    // One LAN interface name on every node, as on machines named alike (virtual IP resources
    // name their interface once for the whole cluster).
    await runOk(['ip', '-n', n.netns, 'link', 'property', 'add', 'dev', n.ifUnderlay, 'altname', LAN_IF]);
    await runOk(['ip', '-n', n.netns, 'link', 'set', 'lo', 'up']);
    await this.bootNetwork(n);
    await runOk(['ip', '-n', this.switchNs, 'link', 'set', n.ifSwitchPort, 'master', this.bridge, 'up']);

    const priv = (await runOk(['wg', 'genkey'])).trim();
    fs.writeFileSync(n.privateKeyFile, priv + '\n', { mode: 0o600 });
    n.publicKey = (await runOk(['wg', 'pubkey'], { input: priv + '\n' })).trim();

    fs.writeFileSync(n.mountNsFile, '');
    await runOk([
      'nsenter', `--net=${n.netnsPath}`, 'unshare', `--mount=${n.mountNsFile}`, '--propagation', 'private',
      'sh', '-ec', NODE_RUN_SETUP, 'tsh-run', path.join(n.dir, '.run-mnt'),
    ]);
    this.made.mountNs.add(n.mountNsFile);
    if (lxcAvailable()) {
      // the node's own /var/lib/lxc, on its disk (see lxc.ts)
      fs.mkdirSync(n.lxcDir, { recursive: true, mode: 0o755 });
      await runOk(['nsenter', `--mount=${n.mountNsFile}`, 'mount', '-n', '--bind', n.lxcDir, NODE_LXC_PATH]);
    }
    createCgroup(`${n.cgroup}/sys`);
    createCgroup(`${n.cgroup}/ext`);
    this.made.cgroups.add(n.cgroup);
  }

  /**
   * The underlay as the node boots it: only its own address (anything added at run time, such as a
   * virtual IP, is gone, as after a reboot), static neighbours (no ARP between nodes, so a one-way
   * cut drops exactly one direction of traffic), link up.
   */
  private async bootNetwork(n: ClusterNode): Promise<void> {
    const neigh = this.all.filter((o) => o !== n).map((o) => `neigh replace ${o.underlayIp} lladdr ${o.mac} dev ${n.ifUnderlay} nud permanent`);
    await runOk(['ip', '-n', n.netns, '-batch', '-'], {
      input: [`addr flush dev ${n.ifUnderlay}`, `addr add ${n.underlayIp}/24 dev ${n.ifUnderlay}`, `link set ${n.ifUnderlay} up`, ...neigh].join('\n') + '\n',
    });
  }

  /** Power on: the underlay as booted, wireguard-go with the node's keys and addresses, then its systemd (no unit auto-starts). */
  private async startNode(n: ClusterNode): Promise<void> {
    this.resetRuntimeDir(n);
    await this.bootNetwork(n);
    await runOk(['nsenter', `--mount=${n.mountNsFile}`, 'sh', '-c', NODE_RUN_RESET]);
    await this.startWireguard(n);
    await this.wireguardUp(n);
    await this.wireguardInitiate(n, this.all.filter((o) => o !== n));
    await this.startSystemd(n);
    n.power = 'up';
  }

  /** The node's volatile runtime dir (its systemd's XDG_RUNTIME_DIR) starts empty at each power-on. */
  private resetRuntimeDir(n: ClusterNode): void {
    fs.rmSync(n.runtimeDir, { recursive: true, force: true });
    fs.mkdirSync(n.runtimeDir, { recursive: true, mode: 0o700 });
  }

  private async startWireguard(n: ClusterNode): Promise<void> {
    const sock = path.join(WG_SOCK_DIR, `${n.ifWireguard}.sock`);
    fs.rmSync(sock, { force: true });
    const wg = n.spawnRaw(['wireguard-go', n.ifWireguard], {
      name: 'wireguard-go',
      sub: 'ext',
      netOnly: true,
      env: { WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
    });
    await withLog(wg, waitFor(`${n.ifWireguard} control socket`, () => (wg.running() && fs.existsSync(sock) ? true : undefined), 10_000, 10));
    const peers = this.all
      .filter((o) => o !== n)
      .flatMap((o) => ['peer', o.publicKey, 'endpoint', `${o.underlayIp}:${o.wgPort}`, 'allowed-ips', `${o.meshIp}/32`]);
    // wireguard-go creates its control socket file before it listens on it; a `wg set` in between
    // gets ECONNREFUSED, falls back to netlink and fails ("Protocol not supported"): retry briefly.
    const wgSet = ['nsenter', `--net=${n.netnsPath}`, 'wg', 'set', n.ifWireguard, 'private-key', n.privateKeyFile, 'listen-port', String(n.wgPort), ...peers];
    for (let attempt = 1; ; attempt++) {
      const r = await run(wgSet);
      if (r.code === 0) break;
      if (attempt >= 20 || !wg.running()) throw new HarnessCommandError(wgSet, r);
      await sleep(50);
    }
    await runOk(['ip', '-n', n.netns, 'addr', 'add', `${n.meshIp}/${n.meshPrefixLen}`, 'dev', n.ifWireguard]);
  }

  private async wireguardUp(n: ClusterNode): Promise<void> {
    await runOk(['ip', '-n', n.netns, 'link', 'set', n.ifWireguard, 'up']);
  }

  /**
   * Turning persistent-keepalive on for a peer of an UP interface makes wireguard-go start a
   * handshake with it at once. Exactly one side of each pair must do that: two initiations that
   * cross leave both sides as unconfirmed responders until the 5 s retry. So at bring-up the
   * lower ordinal initiates; a node powered on initiates to everyone (its peers hold a dead
   * session and initiate nothing, and would otherwise wait ~15 s to notice).
   */
  private async wireguardInitiate(n: ClusterNode, to: readonly ClusterNode[]): Promise<void> {
    if (to.length === 0) return;
    const args = to.flatMap((o) => ['peer', o.publicKey, 'persistent-keepalive', String(this.opts.wgKeepaliveS)]);
    await runOk(['nsenter', `--net=${n.netnsPath}`, 'wg', 'set', n.ifWireguard, ...args]);
  }

  private async startSystemd(n: ClusterNode): Promise<void> {
    if (!n.withSystemd) return;
    const sd = n.spawnRaw([SYSTEMD_BIN, '--user'], { name: 'systemd', sub: 'sys', env: { SYSTEMD_LOG_TARGET: 'console' } });
    const bus = new SystemdBus(n.busAddress);
    try {
      await withLog(
        sd,
        waitFor(
          `systemd of ${n.name} to run`,
          async () => {
            if (!sd.running()) throw new Error(`systemd of ${n.name} exited`);
            if (!fs.existsSync(path.join(n.runtimeDir, 'bus'))) return undefined;
            const st = await bus.systemState(500).catch(() => undefined);
            return st === 'running' || st === 'degraded' ? st : undefined;
          },
          15_000,
          10,
        ),
      );
    } finally {
      bus.close();
    }
  }

  /** Peers of `n` that have completed a WireGuard handshake with it. */
  async handshakes(n: ClusterNode | string): Promise<string[]> {
    const node = this.resolve(n);
    const out = await runOk(['nsenter', `--net=${node.netnsPath}`, 'wg', 'show', node.ifWireguard, 'latest-handshakes']);
    const done = new Set(out.split('\n').filter((l) => /\t[1-9]/.test(l)).map((l) => l.split('\t')[0]));
    return this.all.filter((o) => done.has(o.publicKey)).map((o) => o.name);
  }

  /** Waits until every pair of powered-on members has a WireGuard session (no cuts assumed). */
  async waitMesh(timeoutMs = 10_000): Promise<void> {
    const up = this.all.filter((n) => n.power === 'up');
    await Promise.all(
      up.map((n) =>
        waitFor(
          `WireGuard handshakes of ${n.name}`,
          async () => {
            const hs = await this.handshakes(n);
            return up.every((o) => o === n || hs.includes(o.name)) ? true : undefined;
          },
          timeoutMs,
          10,
        ),
      ),
    );
  }

  /** Attaches a host to the LAN at underlay address `<underlayNet>.<octet>` (see LanHost). */
  async attachHost(name: string, octet: number): Promise<LanHost> {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`attachHost: name "${name}": want 1 to 8 of [a-z0-9]`);
    if (this.all.some((n) => n.ordinal === octet) || this.hosts.some((h) => h.ip.endsWith(`.${octet}`))) throw new Error(`attachHost: .${octet} is taken`);
    const h: LanHost = { name, netns: `${this.prefix}-x${name}`, ip: `${this.opts.underlayNet}.${octet}`, cgroup: `${this.prefix}-x${name}` };
    const ifHost = `${this.prefix}-x${name}`.slice(0, 15);
    const port = `${this.prefix}-p${name}`.slice(0, 15);
    await runOk(['ip', 'netns', 'add', h.netns]);
    this.made.netns.add(h.netns);
    createCgroup(h.cgroup);
    this.made.cgroups.add(h.cgroup);
    this.hosts.push(h);
    await runOk(['ip', 'link', 'add', ifHost, 'netns', h.netns, 'type', 'veth', 'peer', 'name', port, 'netns', this.switchNs]);
    await runOk(['ip', '-n', h.netns, '-batch', '-'], { input: `link set lo up\naddr add ${h.ip}/24 dev ${ifHost}\nlink set ${ifHost} up\n` });
    await runOk(['ip', '-n', this.switchNs, 'link', 'set', port, 'master', this.bridge, 'up']);
    return h;
  }

  // ---- faults -------------------------------------------------------------------------------

  /**
   * kill -9 every process of the node (agent, systemd, its units, wireguard-go) and its LXC
   * containers, which live outside its cgroup (lxc.ts), and take its underlay link down: a machine
   * without power answers nothing, not even ARP or ping for an address its kernel still holds.
   * Resolves once all are gone.
   */
  async powerLoss(node: ClusterNode | string): Promise<PowerLossResult> {
    const n = this.resolve(node);
    const containers = stopNodeContainers(n); // first, so no monitor notices the node dying and acts
    const t = now();
    n.power = 'down';
    const nicDown = runOk(['ip', '-n', n.netns, 'link', 'set', n.ifUnderlay, 'down']);
    for (const p of n.tracked()) p.kill('SIGKILL');
    const [, left] = await Promise.all([killCgroup(n.cgroup), killNodeContainers(n, containers)]);
    await nicDown;
    if (left.length) throw new Error(`powerLoss(${n.name}): LXC cgroups left: ${left.join(' ')}`);
    await Promise.all(n.tracked().map((p) => p.exited));
    for (const pid of [...this.paused]) if (!fs.existsSync(`/proc/${pid}`)) this.paused.delete(pid);
    const goneAt = now();
    this.events.push({ kind: 'power-loss', t, node: n.name });
    return { t, goneAt };
  }

  /** Power a node back on: same keys and addresses; its systemd starts with no unit running. */
  async powerOn(node: ClusterNode | string): Promise<number> {
    const n = this.resolve(node);
    if (n.power === 'up') throw new Error(`powerOn(${n.name}): node is already up`);
    if (!n.processesGone()) await killCgroup(n.cgroup);
    await this.startNode(n);
    const t = now();
    this.events.push({ kind: 'power-on', t, node: n.name });
    return t;
  }

  /** The witness loses power (its agent and wireguard-go die). */
  witnessLoss(): Promise<PowerLossResult> {
    if (!this.witness) throw new Error('witnessLoss: cluster has no witness');
    return this.powerLoss(this.witness);
  }

  witnessRestore(): Promise<number> {
    if (!this.witness) throw new Error('witnessRestore: cluster has no witness');
    return this.powerOn(this.witness);
  }

  /** The node's bridge port goes down: it reaches nobody and nobody reaches it. */
  async cutLink(node: ClusterNode | string): Promise<number> {
    const n = this.resolve(node);
    await runOk(['ip', '-n', this.switchNs, 'link', 'set', n.ifSwitchPort, 'down']);
    const t = now();
    this.events.push({ kind: 'cut-link', t, node: n.name });
    return t;
  }

  async healLink(node: ClusterNode | string): Promise<number> {
    const n = this.resolve(node);
    await runOk(['ip', '-n', this.switchNs, 'link', 'set', n.ifSwitchPort, 'up']);
    const t = now();
    this.events.push({ kind: 'heal-link', t, node: n.name });
    return t;
  }

  /**
   * Drop frames between a and b at the switch (both still reach everyone else). With oneWay, only
   * frames from a to b are dropped: b's packets still reach a.
   */
  async cutPair(a: ClusterNode | string, b: ClusterNode | string, opts: { oneWay?: boolean } = {}): Promise<number> {
    const na = this.resolve(a);
    const nb = this.resolve(b);
    this.cuts.add(`${na.name}>${nb.name}`);
    if (!opts.oneWay) this.cuts.add(`${nb.name}>${na.name}`);
    await this.applyCuts();
    const t = now();
    this.events.push({ kind: 'cut-pair', t, node: na.name, peer: nb.name });
    return t;
  }

  /** Heal both directions between a and b (or only a→b with oneWay). */
  async healPair(a: ClusterNode | string, b: ClusterNode | string, opts: { oneWay?: boolean } = {}): Promise<number> {
    const na = this.resolve(a);
    const nb = this.resolve(b);
    this.cuts.delete(`${na.name}>${nb.name}`);
    if (!opts.oneWay) this.cuts.delete(`${nb.name}>${na.name}`);
    await this.applyCuts();
    const t = now();
    this.events.push({ kind: 'heal-pair', t, node: na.name, peer: nb.name });
    return t;
  }

  /** Heal every link and pair cut. */
  async healAll(): Promise<void> {
    this.cuts.clear();
    await this.applyCuts();
    for (const n of this.all) await runOk(['ip', '-n', this.switchNs, 'link', 'set', n.ifSwitchPort, 'up']);
  }

  /** Current directed cuts, as "a>b". */
  pairCuts(): string[] {
    return [...this.cuts].sort();
  }

  // One nft transaction rewrites the whole chain, so the rule set always equals `cuts`.
  private async applyCuts(): Promise<void> {
    const rules = [...this.cuts].map((c) => {
      const [a, b] = c.split('>') as [string, string];
      return `add rule bridge ${this.nftTable} cuts iifname "${this.node(a).ifSwitchPort}" oifname "${this.node(b).ifSwitchPort}" drop`;
    });
    const script = [
      `table bridge ${this.nftTable} {`,
      `  chain cuts { type filter hook forward priority 0; policy accept; }`,
      `}`,
      `flush chain bridge ${this.nftTable} cuts`,
      ...rules,
    ].join('\n');
    await runOk(['nsenter', `--net=/run/netns/${this.switchNs}`, 'nft', '-f', '-'], { input: script + '\n' });
  }

  /** SIGSTOP a process for `ms`, then SIGCONT; resolves after it is continued. */
  async pause(target: number | NodeProcess, ms: number): Promise<void> {
    const pid = typeof target === 'number' ? target : target.pid;
    process.kill(pid, 'SIGSTOP');
    this.paused.add(pid);
    this.events.push({ kind: 'pause', t: now(), pid });
    await sleep(ms);
    if (this.paused.delete(pid)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* died meanwhile (e.g. power loss) */
      }
      this.events.push({ kind: 'resume', t: now(), pid });
    }
  }

  /** Starts an external sampler of `unit` on the given nodes (default: all nodes with systemd). */
  sampleUnits(unit: string, opts: { nodes?: readonly (ClusterNode | string)[]; everyMs?: number; replyTimeoutMs?: number } = {}): UnitSampler {
    const nodes = (opts.nodes ?? this.all.filter((n) => n.withSystemd)).map((n) => this.resolve(n));
    const s = sampleUnits(nodes, unit, opts.everyMs ?? 20, opts.replyTimeoutMs ?? 1000);
    this.samplers.add(s);
    return s;
  }

  /**
   * Starts an external sampler of a whole set of units (one D-Bus call per node per tick, see
   * unit-set-sampler.ts) on the given nodes (default: all nodes with systemd), every `everyMs` (default 50).
   */
  sampleUnitSet(units: readonly string[], opts: { nodes?: readonly (ClusterNode | string)[]; everyMs?: number; replyTimeoutMs?: number } = {}): UnitSetSampler {
    const nodes = (opts.nodes ?? this.all.filter((n) => n.withSystemd)).map((n) => this.resolve(n));
    const s = new UnitSetSampler(nodes, units, opts.everyMs ?? 50, opts.replyTimeoutMs ?? 1000);
    this.samplers.add(s);
    return s;
  }

  /**
   * Starts an external sampler of one LXC container on the given nodes (default: all nodes), each
   * read with `lxc-info -s` in the node's own lxcpath, every `everyMs` (default 50). See lxc.ts.
   */
  sampleContainers(container: string, opts: { nodes?: readonly (ClusterNode | string)[]; everyMs?: number; replyTimeoutMs?: number } = {}): ContainerSampler {
    const nodes = (opts.nodes ?? this.nodes).map((n) => this.resolve(n));
    const s = new ContainerSampler(nodes, container, opts.everyMs ?? 50, opts.replyTimeoutMs ?? 1000);
    this.samplers.add(s);
    return s;
  }

  /** Log of requests the test fence agent made. */
  get fenceLog(): FenceServer['log'] {
    return this.fence?.log ?? [];
  }

  // ---- teardown -----------------------------------------------------------------------------

  /** Removes everything the cluster made; safe to call twice; throws if something could not be removed. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const t0 = now();
    const problems: string[] = [];
    await Promise.all([...this.samplers].map((s) => s.stop().catch(() => undefined)));
    await this.fence?.close().catch(() => undefined);
    this.resumePaused();
    await Promise.all(
      this.all.map(async (n) => {
        n.power = 'down';
        for (const p of n.tracked()) p.kill('SIGKILL');
        if (this.made.netns.has(n.netns)) {
          await killNodeContainers(n).then((left) => problems.push(...left.map((l) => `LXC cgroup left: ${l}`)), (e: Error) => problems.push(e.message));
        }
        if (this.made.cgroups.has(n.cgroup)) await killCgroup(n.cgroup).catch((e: Error) => problems.push(e.message));
        await Promise.race([Promise.all(n.tracked().map((p) => p.exited)), sleep(3000)]);
      }),
    );
    for (const h of this.hosts) {
      await killCgroup(h.cgroup).catch((e: Error) => problems.push(e.message));
      // a host's processes may be this process's children (zombies until reaped): give them a moment
      for (const deadline = now() + 3000; removeCgroup(h.cgroup).length > 0 && now() < deadline; ) await sleep(20);
    }
    for (const cg of this.made.cgroups) problems.push(...removeCgroup(cg).map((d) => `cgroup left: ${d}`));
    if (lxcAvailable()) removeLxcPivot();
    for (const f of this.made.mountNs) {
      const r = await run(['umount', f]);
      if (r.code !== 0) problems.push(`umount ${f}: ${r.stderr.trim()}`);
    }
    if (this.made.nsDirMount) {
      const r = await run(['umount', path.join(this.dir, 'ns')]);
      if (r.code !== 0) problems.push(`umount ns dir: ${r.stderr.trim()}`);
    }
    for (const ns of [...this.made.netns, ...(this.made.switchNs ? [this.switchNs] : [])]) {
      const r = await run(['ip', 'netns', 'del', ns]);
      if (r.code !== 0) problems.push(`ip netns del ${ns}: ${r.stderr.trim()}`);
    }
    for (const n of this.all) fs.rmSync(path.join(WG_SOCK_DIR, `${n.ifWireguard}.sock`), { force: true });
    this.keepLogs();
    if (this.made.runDir) fs.rmSync(this.dir, { recursive: true, force: true });
    fs.rmSync(path.join(RUN_REGISTRY, `${this.prefix}.json`), { force: true });
    live.delete(this);
    this.timings.teardownMs = now() - t0;
    if (problems.length) throw new Error(`cluster ${this.prefix} teardown left things behind:\n${problems.join('\n')}`);
  }

  /**
   * Synchronous best-effort teardown for the process exit hook. Our own killed children stay
   * zombies (they keep their cgroup busy) until this process is gone, so cgroups that cannot be
   * removed yet are left to a detached helper that retries for a few seconds after we exit.
   */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.resumePaused();
    for (const n of this.all) {
      for (const p of n.tracked()) p.kill('SIGKILL');
      if (this.made.netns.has(n.netns)) killNodeContainersSync(n);
      if (this.made.cgroups.has(n.cgroup)) killCgroupSync(n.cgroup);
    }
    for (const h of this.hosts) killCgroupSync(h.cgroup);
    const busy: string[] = [];
    for (const cg of this.made.cgroups) busy.push(...removeCgroup(cg));
    for (const f of this.made.mountNs) runSync(['umount', f]);
    if (this.made.nsDirMount) runSync(['umount', path.join(this.dir, 'ns')]);
    for (const ns of [...this.made.netns, ...(this.made.switchNs ? [this.switchNs] : [])]) runSync(['ip', 'netns', 'del', ns]);
    for (const n of this.all) fs.rmSync(path.join(WG_SOCK_DIR, `${n.ifWireguard}.sock`), { force: true });
    if (this.made.runDir) fs.rmSync(this.dir, { recursive: true, force: true });
    if (busy.length) {
      // deepest first; each dir is retried until it goes or 10 s pass
      const script = 'for i in $(seq 100); do left=0; for d in "$@"; do [ -d "$d" ] && { rmdir "$d" 2>/dev/null || left=1; }; done; [ $left = 0 ] && exit 0; sleep 0.1; done';
      spawn('sh', ['-c', script, 'tsh-rmdir', ...busy], { detached: true, stdio: 'ignore' }).unref();
    }
    fs.rmSync(path.join(RUN_REGISTRY, `${this.prefix}.json`), { force: true });
    live.delete(this);
  }

  /** With TSHA_HARNESS_KEEP_LOGS=DIR, node logs are copied to DIR/<prefix>/<node>/ before the run dir goes. */
  private keepLogs(): void {
    const keep = process.env.TSHA_HARNESS_KEEP_LOGS;
    if (!keep || !this.made.runDir) return;
    for (const n of this.all) {
      if (fs.existsSync(n.logDir)) fs.cpSync(n.logDir, path.join(keep, this.prefix, n.name), { recursive: true });
    }
  }

  private resumePaused(): void {
    for (const pid of this.paused) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    this.paused.clear();
  }
}

/** Builds a cluster; on failure everything made so far is removed before the error is thrown. */
export function createCluster(options: ClusterOptions = {}): Promise<Cluster> {
  return Cluster.create(options);
}
