// The workloads of the per-kind failover benchmark (npm run bench:failover -- --kinds a,b): for each
// resource kind, the one resource `w` the 3-node cluster runs, what every node needs before the
// agents start, and how the benchmark reads from outside the agents whether `w` runs on a node.

import fs from 'node:fs';
import path from 'node:path';
import type { Cluster, ClusterNode } from '../cluster/harness.js';
import { LAN_IF, run, SystemdBus } from '../cluster/harness.js';
import type { WorkloadReader } from '../cluster/workload-sampler.js';
import { BASE_CONFIG } from '../helpers/lxc.js';
import { MICROVM_READY, microvmImage } from '../helpers/microvm-image.js';

export type Json = Record<string, unknown>;

export interface PreparedWorkload {
  /** the resource's configuration (id `w`) */
  resource: Json;
  /** whether w runs on a node, read from outside its agent */
  read: WorkloadReader;
  /** what read() looks at, for the JSON */
  sampled: string;
  /** releases what prepare made outside the cluster (the cluster's own teardown removes the rest) */
  close(): Promise<void>;
  /** sampling interval (default 25 ms; a reader that spawns a process per node takes longer) */
  everyMs?: number;
  /** how long the workload may take to run on a node after placement or failover (default 60 s) */
  waitMs?: number;
}

export interface BenchKind {
  readonly kind: string;
  /** runs before the agents start: installs what every node needs */
  prepare(c: Cluster): Promise<PreparedWorkload>;
}

const ops = { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 20_000 }, stop: { timeoutMs: 20_000 } };

const systemdKind: BenchKind = {
  kind: 'systemd',
  async prepare(c) {
    const unit = `${c.prefix}w.service`;
    for (const n of c.nodes) n.writeUnit(unit, '[Unit]\nDescription=tsha bench workload\n[Service]\nExecStart=/bin/sleep infinity\n');
    await Promise.all(c.nodes.map((n) => n.daemonReload()));
    const buses = new Map<string, SystemdBus>(c.nodes.map((n) => [n.name, new SystemdBus(n.busAddress)]));
    return {
      resource: { kind: 'systemd', params: { unit }, operations: ops },
      read: async (n) => (await buses.get(n.name)!.activeState(unit, 250)) === 'active',
      sampled: `the unit's ActiveState over each node's D-Bus`,
      close: async () => {
        for (const b of buses.values()) b.close();
      },
    };
  },
};

/** The address the ip kind moves: on the nodes' shared LAN (the harness's underlay 10.213.0.0/24). */
const VIP = '10.213.0.100';

async function holdsAddress(n: ClusterNode, address: string): Promise<boolean> {
  const r = await run(['ip', '-n', n.netns, '-j', 'address', 'show', 'dev', LAN_IF]);
  if (r.code !== 0) throw new Error(r.stderr);
  const [link] = JSON.parse(r.stdout) as { flags: string[]; addr_info: { local: string }[] }[];
  // a node without power has its link down: it answers nothing for the address it still lists
  return link!.flags.includes('UP') && link!.addr_info.some((a) => a.local === address);
}

const ipKind: BenchKind = {
  kind: 'ip',
  prepare() {
    return Promise.resolve({
      resource: { kind: 'ip', params: { address: `${VIP}/24`, interface: LAN_IF }, operations: ops },
      read: (n) => holdsAddress(n, VIP),
      sampled: `the address on the node's ${LAN_IF} with the link up (ip -j address show)`,
      close: () => Promise.resolve(),
    });
  },
};

/** A busybox container of the same name in every node's own /var/lib/lxc, read with lxc-info inside the node. */
const lxcKind: BenchKind = {
  kind: 'lxc',
  async prepare(c) {
    const name = `${c.prefix}-w`;
    await Promise.all(
      c.nodes.map(async (n) => {
        const r = await n.exec(['sh', '-c', `printf '%s\\n' "$@" > /var/lib/lxc/base.conf && lxc-create -n ${name} -f /var/lib/lxc/base.conf -t busybox`, 'sh', ...BASE_CONFIG]);
        if (r.code !== 0) throw new Error(`lxc-create on ${n.name}: ${r.stderr}`);
      }),
    );
    return {
      resource: { kind: 'lxc', params: { name }, operations: ops },
      read: async (n) => {
        if (n.power !== 'up') throw new Error('no power');
        const r = await n.exec(['lxc-info', '-n', name, '-s', '-H']);
        if (r.code !== 0) throw new Error(r.stderr);
        return r.stdout.trim() === 'RUNNING';
      },
      sampled: 'lxc-info -s in each node (its own /var/lib/lxc)',
      close: () => Promise.resolve(),
      everyMs: 50,
    };
  },
};

/** The node's own /run (its mount namespace), read from outside through /proc/<pid>/root. */
function runFileExists(n: ClusterNode, file: string, pids: Map<string, number>): boolean {
  const pid = n.mountNsPid(pids.get(n.name));
  if (pid === undefined) throw new Error(`no process in ${n.name}'s mount namespace`);
  pids.set(n.name, pid);
  return fs.existsSync(`/proc/${pid}/root${file}`);
}

/** ocf:pacemaker:Dummy with its state file in the node's own /run (a tmpfs per node, emptied at power-on). */
const ocfKind: BenchKind = {
  kind: 'ocf',
  prepare() {
    const pids = new Map<string, number>();
    const state = '/run/tsha-bench-w.state';
    return Promise.resolve({
      resource: { kind: 'ocf', params: { agent: 'pacemaker:Dummy', state }, operations: ops },
      read: (n) => Promise.resolve(runFileExists(n, state, pids)),
      sampled: `ocf:pacemaker:Dummy's state file ${state} in the node's /run, through /proc/<pid>/root`,
      close: () => Promise.resolve(),
    });
  },
};

/**
 * A real QEMU guest under TCG (no KVM here) as microvm@w.service on each node's systemd, the
 * shape of microvm.nix's unit; running = the unit active and the guest's ready line on its serial
 * console (a file per node, removed before each boot). QEMU runs at nice 5 (its autogroup), as in
 * test/cluster/microvm.test.ts: a TCG boot burns a whole core, which a KVM guest would not.
 */
const microvmKind: BenchKind = {
  kind: 'microvm',
  async prepare(c) {
    const img = await microvmImage();
    const serialDir = path.join(c.dir, 'serial');
    fs.mkdirSync(serialDir, { recursive: true });
    const serial = (node: string): string => path.join(serialDir, `${node}-w.serial`);
    for (const n of c.nodes) {
      const file = `${serialDir}/${n.name}-%i.serial`;
      n.writeUnit('microvm@.service', `[Unit]\nDescription=MicroVM '%i' (QEMU, TCG)\n[Service]\nExecStartPre=/bin/rm -f ${file}\nExecStart=/bin/sh -c 'echo 5 > /proc/self/autogroup && exec ${img.runSh} ${file}'\n`);
    }
    await Promise.all(c.nodes.map((n) => n.daemonReload()));
    const buses = new Map<string, SystemdBus>(c.nodes.map((n) => [n.name, new SystemdBus(n.busAddress)]));
    const ready = (node: string): boolean => {
      try {
        return fs.readFileSync(serial(node), 'utf8').includes(MICROVM_READY);
      } catch {
        return false;
      }
    };
    return {
      resource: {
        kind: 'microvm',
        params: { name: 'w', readyCommand: `grep -qs ${MICROVM_READY} ${serialDir}/$TSHA_NODE-$MICROVM_NAME.serial` },
        operations: { ...ops, start: { timeoutMs: 120_000 } },
      },
      read: async (n) => (await buses.get(n.name)!.activeState('microvm@w.service', 250)) === 'active' && ready(n.name),
      sampled: 'microvm@w.service active over D-Bus and the guest ready line on its serial console',
      close: async () => {
        for (const b of buses.values()) b.close();
      },
      waitMs: 150_000,
    };
  },
};

export const BENCH_KINDS: readonly BenchKind[] = [systemdKind, ipKind, lxcKind, ocfKind, microvmKind];

export function benchKind(name: string): BenchKind {
  const k = BENCH_KINDS.find((b) => b.kind === name);
  if (!k) throw new Error(`--kinds: no benchmark workload for kind "${name}" (have ${BENCH_KINDS.map((b) => b.kind).join(', ')})`);
  return k;
}
