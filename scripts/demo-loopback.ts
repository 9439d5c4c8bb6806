// `npm run demo:loopback`: a local 3-node tsha cluster without root — three `tsha agent` processes
// on 127.0.x.{1,2,3}, a real gRPC mesh, an exec resource, fencing by scripts/fence_tsha_loopback
// (kills a node's agent and resources like a power loss; the stand-in for a BMC). It shows
// `tsha status`, powers the holder off, shows the resource on a survivor and how long it took,
// and cleans up.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { LoopbackCluster } from '../test/agent/loopback-cluster.js';

const ROOT = resolve(import.meta.dirname, '..');
// LoopbackCluster sets timing.crashGraceMs to 0: on loopback the "power loss" leaves the shared
// kernel answering the dead agent's port with RST, which would read as an agent crash on a live host.
const c = new LoopbackCluster({ nodes: 3, resources: ['web'], monitorIntervalMs: 500, logLevel: 'warn' });
const say = (s: string): void => {
  process.stdout.write(`\n=== ${s}\n`);
};
const status = (node: string): void => {
  say(`tsha status (on ${node})`);
  try {
    process.stdout.write(execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'status', '--socket', c.node(node).socket], { cwd: ROOT, encoding: 'utf8' }));
  } catch (e) {
    process.stdout.write(String((e as { stderr?: string }).stderr ?? e));
  }
};

let code = 0;
const cleanup = async (): Promise<void> => {
  await c.destroy();
};
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
try {
  say(`starting 3 agents in ${c.dir} (${c.nodes.map((n) => `${n.name}=${n.ip}:${n.port}`).join(', ')})`);
  const t0 = performance.now();
  c.startAll();
  const holder = await c.waitFor('the resource to run on one node', () => {
    const on = c.runningOn('web');
    return on.length === 1 ? on[0] : null;
  }, 60_000);
  say(`cluster formed and web started on ${holder} ${Math.round(performance.now() - t0)} ms after launch (includes process start-up)`);
  await c.waitFor('status', async () => ((await c.status(holder!))?.coordinator ? true : null), 10_000);
  status(holder!);

  say(`power loss of ${holder}: kill -9 of its agent and its resource`);
  const t1 = performance.now();
  c.powerOff(holder!);
  const survivor = await c.waitFor('web on a survivor', () => {
    const on = c.runningOn('web');
    return on.length === 1 && on[0] !== holder ? on[0] : null;
  }, 60_000, 20);
  const ms = Math.round(performance.now() - t1);
  say(`web is active on ${survivor} ${ms} ms after the power loss of ${holder} (detection + fence + start)`);
  await new Promise((r) => setTimeout(r, 300));
  status(survivor!);
} catch (e) {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  code = 1;
} finally {
  say('cleaning up');
  await cleanup();
}
process.exit(code);
