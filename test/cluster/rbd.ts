// A Ceph RBD workload on the real-cluster harness: a single-node Ceph (test/helpers/ceph.ts) on a
// host of its own on the nodes' LAN (Cluster.attachHost: an external Ceph cluster the nodes reach
// over the underlay, 10.213.0.250), cephx on, and on every node a systemd unit running the
// self-checking writer (test/helpers/rbd-writer.py) on one image. Each node's writers append to an
// ack log on the node's disk (`<node.dir>/rbd.acks`, survives power loss). check() reads every ack
// log, then the image as Ceph holds it, and counts acked_lost and writes_after_takeover
// (test/helpers/rbd-check.ts). Used by test/cluster/rbd.test.ts and the failover benchmark.

import fs from 'node:fs';
import path from 'node:path';
import type { CephCluster } from '../helpers/ceph.js';
import { RBD_WRITER, startCeph, SYSTEM_PYTHON } from '../helpers/ceph.js';
import { checkRecords, parseAckLog, type RbdCheck, type WriterLog } from '../helpers/rbd-check.js';
import { enterCgroupArgv } from './cgroup.js';
import type { Cluster, ClusterNode, LanHost } from './harness.js';

export const CEPH_HOST_OCTET = 250;

export interface RbdWorkload {
  host: LanHost;
  ceph: CephCluster;
  image: string;
  /** the writer's unit on every node */
  unit: string;
  /** the resource's storage option (as in the configuration) */
  storage: Record<string, unknown>;
  /** a node's ack log */
  ackFile(n: ClusterNode): string;
  /** the writers a node's ack log records, in order */
  writers(n: ClusterNode): WriterLog[];
  /** ack logs first, then the image: every acknowledgement read was made before the image was read */
  check(extraAckFiles?: string[]): Promise<RbdCheck>;
  /** `ceph osd blocklist ls` as the admin */
  blocklist(): Promise<string[]>;
  /** runs a Ceph tool as client.tsha with its keyring */
  cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export async function startRbdWorkload(c: Cluster, opts: { image?: string; everyMs?: number; sizeMb?: number } = {}): Promise<RbdWorkload> {
  const host = await c.attachHost('ceph', CEPH_HOST_OCTET);
  const ceph = await startCeph({
    dir: path.join(c.dir, 'ceph'),
    monAddr: `${host.ip}:3300`,
    netns: host.netns,
    cephx: true,
    wrapDaemon: (argv) => enterCgroupArgv(host.cgroup, argv),
  });
  const image = opts.image ?? 'w';
  const as = (argv: string[]): string[] => [argv[0]!, '--id', ceph.user!, '--keyring', ceph.clientKeyring!, ...argv.slice(1)];
  const cli = (argv: string[]) => ceph.cli(as(argv));
  const made = await cli(['rbd', 'create', `rbd/${image}`, '--size', `${opts.sizeMb ?? 4}M`, '--image-feature', 'layering,exclusive-lock']);
  if (made.code !== 0) throw new Error(`rbd create: ${made.stderr}`);
  const storage = { type: 'rbd', pool: 'rbd', image, cephConf: ceph.conf, user: ceph.user, keyring: ceph.clientKeyring, blocklistExpirySeconds: 600 };
  const unit = `${c.prefix}w.service`;
  const ackFile = (n: ClusterNode): string => path.join(n.dir, 'rbd.acks');
  for (const n of c.nodes) {
    // $$$$: systemd makes it $$, the shell's PID, which exec hands to python: one writer id per start
    const cmd = [
      SYSTEM_PYTHON, RBD_WRITER, '--pool', 'rbd', '--image', image, '--id', `${n.name}-$$$$`, '--acks', ackFile(n),
      '--conf', ceph.conf, '--user', ceph.user!, '--keyring', ceph.clientKeyring!, '--every-ms', String(opts.everyMs ?? 5),
    ].join(' ');
    n.writeUnit(unit, `[Unit]\nDescription=tsha RBD writer (self-checking workload)\n[Service]\nExecStart=/bin/sh -c 'exec ${cmd}'\nTimeoutStopSec=15\n`);
  }
  await Promise.all(c.nodes.map((n) => n.daemonReload()));
  const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  return {
    host, ceph, image, unit, storage, ackFile, cli,
    writers: (n) => parseAckLog(read(ackFile(n))),
    async check(extra = []) {
      const files = [...c.nodes.map(ackFile), ...extra];
      const texts = files.map(read); // before the image: each ack read happened before the export
      const out = path.join(c.dir, `${image}.export`);
      fs.rmSync(out, { force: true });
      const r = await cli(['rbd', 'export', `rbd/${image}`, out]);
      if (r.code !== 0) throw new Error(`rbd export: ${r.stderr}`);
      return checkRecords(fs.readFileSync(out), texts);
    },
    async blocklist() {
      const r = await ceph.cli(['ceph', 'osd', 'blocklist', 'ls', '--format', 'json']);
      const start = r.stdout.indexOf('[');
      return start < 0 ? [] : (JSON.parse(r.stdout.slice(start, r.stdout.indexOf(']', start) + 1)) as { addr: string }[]).map((e) => e.addr);
    },
  };
}

/** The acknowledged records of a node's writers so far. */
export function ackCount(w: RbdWorkload, n: ClusterNode): number {
  return w.writers(n).reduce((s, x) => s + x.acked.length, 0);
}
