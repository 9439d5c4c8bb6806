// A real single-node Ceph 16 cluster in RAM for tests (RECIPES.md §6, ../shared/recipes/
// ceph-single-node.sh done step by step): one mon, one mgr, one memstore OSD, pool size 1, an `rbd`
// pool, in about 8 s. Its daemons are children of the test (foreground, `-f`), optionally inside a
// network namespace (`netns`: the harness's Ceph host on the nodes' LAN), and `stop()` ends them by
// PID. With `cephx: true` the cluster requires cephx and a client user `client.tsha` gets a keyring
// file of its own (`clientKeyring`), which the agent and the workload are given as storage.keyring.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { run, sleep } from '../cluster/sh.js';

export const CEPH_PACKAGES = ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'ceph-common', 'python3-rbd', 'python3-rados'];
/** Debian's python3 (python3-rbd is installed for it; a python3 earlier on PATH may not see it). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const RBD_WRITER = path.join(path.dirname(new URL(import.meta.url).pathname), 'rbd-writer.py');

/** What is missing to run a Ceph cluster and the RBD workload here (empty: all there). */
export function cephMissing(): string[] {
  const missing: string[] = [];
  for (const b of ['ceph-mon', 'ceph-mgr', 'ceph-osd', 'ceph', 'rbd', 'ceph-authtool', 'monmaptool']) {
    if (!['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, b)))) missing.push(b);
  }
  if (spawnSync(SYSTEM_PYTHON, ['-c', 'import rados, rbd']).status !== 0) missing.push('python3-rbd python3-rados');
  if (process.getuid?.() !== 0) missing.push('root');
  return missing;
}

export interface CephOptions {
  /** working directory (created; removed by stop()) */
  dir: string;
  /** the mon's address (default 127.0.0.1:13300) */
  monAddr?: string;
  /** run the daemons inside this network namespace (ip netns name) */
  netns?: string;
  /** require cephx, and make client.tsha's keyring (default false: auth none) */
  cephx?: boolean;
  /** wraps each daemon's argv (after the netns): e.g. enterCgroupArgv, to start it in a cgroup of its own */
  wrapDaemon?: (argv: string[]) => string[];
}

export interface CephCluster {
  dir: string;
  conf: string;
  /** client.tsha's keyring file (cephx) */
  clientKeyring?: string;
  /** the Ceph user tests give the agent ("tsha" with cephx, else Ceph's default) */
  user?: string;
  /** runs a Ceph CLI tool as the admin (inside the namespace when one is given) */
  cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** the daemons' PIDs */
  pids(): number[];
  stop(): Promise<void>;
}

export async function startCeph(o: CephOptions): Promise<CephCluster> {
  const D = o.dir;
  const A = o.monAddr ?? '127.0.0.1:13300';
  const ip = A.slice(0, A.lastIndexOf(':'));
  for (const d of ['mon', 'mgr', 'osd0', 'run', 'log']) fs.mkdirSync(path.join(D, d), { recursive: true });
  const fsid = randomUUID();
  const auth = o.cephx ? 'cephx' : 'none';
  const conf = path.join(D, 'ceph.conf');
  fs.writeFileSync(conf, `[global]
fsid = ${fsid}
mon host = v2:${A}
mon initial members = a
public addr = ${ip}
auth cluster required = ${auth}
auth service required = ${auth}
auth client required = ${auth}
auth allow insecure global id reclaim = true
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 268435456
run dir = ${D}/run
log file = ${D}/log/$name.log
pid file = ${D}/run/$name.pid
mon data = ${D}/mon
mgr data = ${D}/mgr
osd data = ${D}/osd0
keyring = ${D}/keyring
ms bind ipv6 = false
[mon]
admin socket = ${D}/run/$name.asok
[mgr]
admin socket = ${D}/run/$name.asok
[osd]
admin socket = ${D}/run/$name.asok
[client]
admin socket =
log file = /dev/null
`);
  const ns = (argv: string[]): string[] => (o.netns ? ['ip', 'netns', 'exec', o.netns, ...argv] : argv);
  const ok = async (argv: string[]): Promise<string> => {
    const r = await run(ns(argv), { env: { ...process.env, CEPH_CONF: conf }, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return r.stdout;
  };
  const keyring = path.join(D, 'keyring');
  await ok(['ceph-authtool', '--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
  await ok(['ceph-authtool', keyring, '--gen-key', '-n', 'client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *']);
  if (o.cephx) {
    // the mon imports every key of this keyring at mkfs: the mgr's and the OSD's too
    await ok(['ceph-authtool', keyring, '--gen-key', '-n', 'mgr.x', '--cap', 'mon', 'allow profile mgr', '--cap', 'osd', 'allow *']);
    await ok(['ceph-authtool', keyring, '--gen-key', '-n', 'osd.0', '--cap', 'mon', 'allow profile osd', '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow profile osd']);
  }
  await ok(['monmaptool', '--create', '--addv', 'a', `[v2:${A}]`, '--fsid', fsid, path.join(D, 'monmap')]);
  await ok(['ceph-mon', '-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(D, 'monmap'), '--keyring', keyring]);
  const daemons: ChildProcess[] = [];
  const daemon = (name: string, argv: string[]): void => {
    const out = fs.openSync(path.join(D, 'log', `${name}.out`), 'a');
    const [file, ...args] = (o.wrapDaemon ?? ((a: string[]) => a))(ns(argv));
    daemons.push(spawn(file!, args, { stdio: ['ignore', out, out] }));
    fs.closeSync(out);
  };
  const stop = async (): Promise<void> => {
    for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
    await Promise.all(daemons.map((d) => (d.exitCode === null && d.signalCode === null ? new Promise((r) => d.once('exit', r)) : undefined)));
    fs.rmSync(D, { recursive: true, force: true });
  };
  try {
    daemon('mon', ['ceph-mon', '-c', conf, '-i', 'a', '-f']);
    // the mon answers once it has formed its quorum of one
    for (let i = 0; ; i++) {
      const r = await run(ns(['ceph', '-c', conf, '--connect-timeout', '2', 'mon', 'stat']), { timeoutMs: 5000 });
      if (r.code === 0) break;
      if (i > 100) throw new Error(`ceph-mon did not come up: ${r.stderr}`);
      await sleep(100);
    }
    daemon('mgr', ['ceph-mgr', '-c', conf, '-i', 'x', '-f']);
    const uuid = randomUUID();
    const id = (await ok(['ceph', '-c', conf, 'osd', 'new', uuid])).trim();
    await ok(['ceph-osd', '-c', conf, '-i', id, '--mkfs', '--osd-uuid', uuid]);
    daemon('osd', ['ceph-osd', '-c', conf, '-i', id, '-f']);
    await ok(['ceph', '-c', conf, 'osd', 'pool', 'create', 'rbd', '8', '8']);
    await ok(['ceph', '-c', conf, 'osd', 'pool', 'application', 'enable', 'rbd', 'rbd']);
    await ok(['rbd', '-c', conf, 'pool', 'init', 'rbd']);
    let clientKeyring: string | undefined;
    if (o.cephx) {
      clientKeyring = path.join(D, 'client.tsha.keyring');
      // what the agent and the workload need: RBD I/O and locks, and the blocklist
      await ok(['ceph', '-c', conf, 'auth', 'get-or-create', 'client.tsha', 'mon', 'profile rbd, allow command "osd blocklist", allow command "osd blocklist ls"', 'osd', 'profile rbd pool=rbd', '-o', clientKeyring]);
    }
    return {
      dir: D,
      conf,
      ...(clientKeyring ? { clientKeyring, user: 'tsha' } : {}),
      cli: (argv) => run(ns(argv), { env: { ...process.env, CEPH_CONF: conf }, timeoutMs: 30_000 }),
      pids: () => daemons.map((d) => d.pid!).filter((p) => p > 0),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
