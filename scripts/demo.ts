// `npm run demo`: the README's main-job demo. As root (with the harness's Debian packages), a local
// 3-node tsha cluster in network namespaces joined by wireguard-go, one real `systemd --user` per
// node, a real systemd unit as the resource and scripts/fence_tsha_test as the fence device (it
// stands in for a power switch). It shows `tsha status` (the real CLI against a node's control
// socket), powers the holder off, shows the unit active on a survivor and how long that took
// (measured from outside over D-Bus every 20 ms), shows the status again and cleans up.
// As root with Debian packages missing, it stops with the one command that installs them (the
// real demo is the point); without root, where namespaces cannot be made at all, it says so and
// runs the loopback demo (scripts/demo-loopback.ts) instead.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { clusterPrerequisites, createCluster, firstActiveAfter, overlap, sleep, type Cluster } from '../test/cluster/harness.js';
import { ensureBuilt, MAIN_JS, ROOT, TshaCluster } from '../test/cluster/tsha-cluster.js';

const say = (s: string): void => void process.stdout.write(`\n=== ${s}\n`);

/** The Debian package that brings each prerequisite the harness checks. */
const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2', nsenter: 'util-linux', unshare: 'util-linux', mount: 'mount', 'wireguard-go': 'wireguard-go', wg: 'wireguard-tools',
  nft: 'nftables', ping: 'iputils-ping', systemctl: 'systemd', systemd: 'systemd', 'dbus-user-session': 'dbus-user-session dbus-daemon',
};

const pre = clusterPrerequisites();
if (!pre.ok) {
  if (pre.missing.includes('root')) {
    say('not root: the real demo needs root (network namespaces, wireguard-go, a systemd per node); running the loopback demo instead (agents on 127.0.x.y, exec resources)');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/demo-loopback.ts')], { cwd: ROOT, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  const packages = [...new Set(pre.missing.flatMap((m) => (PACKAGE_OF[m] ?? '').split(' ').filter(Boolean)))];
  const tun = pre.missing.includes('/dev/net/tun') ? '\n/dev/net/tun is missing too: load the tun module (modprobe tun) or give the container the device.' : '';
  process.stderr.write(`demo: missing ${pre.missing.join(', ')}.${packages.length > 0 ? ` Install them with:\n\n    apt-get install -y ${packages.join(' ')}\n` : ''}${tun}\n(or run npm run demo:loopback for the demo without namespaces)\n`);
  process.exit(1);
}

function status(t: TshaCluster, node: string): void {
  say(`tsha status   (the CLI on ${node}: tsha status --socket ${t.socket(node)})`);
  const r = spawnSync(process.execPath, [MAIN_JS, 'status', '--socket', t.socket(node)], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  process.stdout.write(r.stdout ?? '');
  if (r.status !== 0) throw new Error(`tsha status on ${node} exited ${r.status}: ${r.stderr}`);
}

let c: Cluster | undefined;
let code = 0;
try {
  say('building dist/ if needed');
  ensureBuilt();
  say('3 nodes in network namespaces, wireguard-go mesh, one systemd per node');
  c = await createCluster({ nodes: 3 });
  for (const n of c.nodes) process.stdout.write(`  ${n.name}: mesh ${n.meshIp} (netns ${n.netns})\n`);
  const t = new TshaCluster(c, { logLevel: 'warn', unit: 'web.service' }); // unit files live in the node's own systemd dir
  await t.installUnit();
  process.stdout.write(`  resource "${t.resourceId}" = systemd unit ${t.unit} (ExecStart=/bin/sleep infinity) on every node\n`);
  process.stdout.write(`  fence device: scripts/fence_tsha_test (test stand-in for a power switch)\n`);

  say('starting one `tsha agent` per node');
  const t0 = performance.now();
  t.startAll();
  const coord = await t.waitQuorate(30_000);
  say(`quorate with coordinator ${coord} ${Math.round(performance.now() - t0)} ms after launch`);
  await t.waitHolder(20_000);
  const s = c.sampleUnits(t.unit, { everyMs: 20 });
  const holder = await t.stableHolder(s, 500);
  status(t, holder.name);

  say(`power loss of ${holder.name} (SIGKILL to every process of the node: agent, systemd, the unit)`);
  const { t: faultT } = await c.powerLoss(holder);
  await s.waitUntil('the unit active on a survivor', (k) => c!.nodes.some((n) => n !== holder && k.states[n.name] === 'active'), 20_000);
  await sleep(500);
  const tl = await s.stop();
  const first = firstActiveAfter(tl, faultT, { exclude: [holder.name] });
  const ov = overlap(tl);
  if (!first) throw new Error('the unit never became active on a survivor');
  say(`${t.unit} is active on ${first.node} ${Math.round(first.ms)} ms after the power loss of ${holder.name} (sampled from outside every 20 ms; overlap ${Math.round(ov.ms)} ms)`);
  for (const f of c.fenceLog) process.stdout.write(`  fence log: ${f.action} ${f.plug ?? ''} → ${JSON.stringify(f.response)}\n`);
  if (ov.ticks > 0) throw new Error(`two copies ran at once: ${JSON.stringify(ov.intervals)}`);
  status(t, first.node);
} catch (e) {
  process.stderr.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  code = 1;
} finally {
  say('cleaning up');
  await c?.destroy();
}
process.exit(code);
