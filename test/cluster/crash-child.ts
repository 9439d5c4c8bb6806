// Helper process for harness.test.ts: builds a small cluster, prints its prefix and run dir, then
// dies the way MODE says, without calling destroy(): 'throw' (uncaught error: the exit hook must
// clean up), 'sigterm' (the signal hook must clean up), 'sigkill' (nothing runs: cleanupStale must).
import { createCluster } from './harness.js';

const mode = process.argv[2] ?? 'throw';
const c = await createCluster({ nodes: 2 });
await c.nodes[0]!.systemctl('start', '--no-block', 'dbus.socket'); // something running under its systemd
console.log(JSON.stringify({ prefix: c.prefix, dir: c.dir }));
if (mode === 'throw') throw new Error('crash-child: simulated test crash');
if (mode === 'sigterm') process.kill(process.pid, 'SIGTERM');
if (mode === 'sigkill') process.kill(process.pid, 'SIGKILL');
await new Promise((r) => setTimeout(r, 10_000));
