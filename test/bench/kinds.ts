// The workloads of the per-kind failover benchmark (npm run bench:failover -- --kinds a,b): for each
// resource kind, the one resource `w` the 3-node cluster runs, what every node needs before the
// agents start, and how the benchmark reads from outside the agents whether `w` runs on a node.

import type { Cluster, ClusterNode } from '../cluster/harness.js';
import { LAN_IF, run, SystemdBus } from '../cluster/harness.js';
import type { WorkloadReader } from '../cluster/workload-sampler.js';

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

export const BENCH_KINDS: readonly BenchKind[] = [systemdKind, ipKind];

export function benchKind(name: string): BenchKind {
  const k = BENCH_KINDS.find((b) => b.kind === name);
  if (!k) throw new Error(`--kinds: no benchmark workload for kind "${name}" (have ${BENCH_KINDS.map((b) => b.kind).join(', ')})`);
  return k;
}
