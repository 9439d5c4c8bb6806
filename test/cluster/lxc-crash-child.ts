// Helper process for lxc.test.ts: builds a one-node cluster, starts a container in the node (its
// monitor and payload outside the node's cgroup), prints the prefix, run dir and the container's init
// PID, then dies the way MODE says without calling destroy(): 'throw' (the exit hook must kill the
// container), 'sigkill' (nothing runs: cleanupStale must remove it).
import { createCluster } from './harness.js';
import { BASE_CONFIG } from '../helpers/lxc.js';

const mode = process.argv[2] ?? 'sigkill';
const c = await createCluster({ nodes: 1 });
const n = c.nodes[0]!;
const name = `${c.prefix}-ct`;
const made = await n.exec(['sh', '-c', `printf '%s\\n' "$@" > /var/lib/lxc/base.conf && lxc-create -n ${name} -f /var/lib/lxc/base.conf -t busybox && lxc-start -n ${name} -d`, 'sh', ...BASE_CONFIG]);
if (made.code !== 0) throw new Error(`lxc-create/lxc-start: ${made.stderr}`);
const pid = Number((await n.exec(['lxc-info', '-n', name, '-p', '-H'])).stdout.trim());
console.log(JSON.stringify({ prefix: c.prefix, dir: c.dir, name, pid }));
if (mode === 'throw') throw new Error('lxc-crash-child: simulated test crash');
if (mode === 'sigkill') process.kill(process.pid, 'SIGKILL');
await new Promise((r) => setTimeout(r, 10_000));
