// npm run bench:harness -- [--runs N] : how long the real-cluster harness takes to build and tear
// down a 3-node + witness cluster (every integration test and the failover bench pays this).
// Last line of output: one JSON object with medians and raw samples (ms).
import { createCluster, clusterPrerequisites } from '../cluster/harness.js';
import { median } from './stats.js';


const args = process.argv.slice(2);
const runsIdx = args.indexOf('--runs');
const runs = runsIdx >= 0 ? Number(args[runsIdx + 1]) : 5;
const pre = clusterPrerequisites();
if (!pre.ok) {
  console.error(`bench:harness needs root and ${pre.missing.join(', ')}`);
  process.exit(2);
}
const up: number[] = [];
const down: number[] = [];
for (let i = 0; i < runs; i++) {
  const c = await createCluster({ nodes: 3, witness: true });
  up.push(Math.round(c.timings.bringUpMs));
  await c.destroy();
  down.push(Math.round(c.timings.teardownMs ?? NaN));
  const ph = c.timings.phasesMs;
  console.error(`run ${i + 1}: bring-up ${up[i]} ms (namespaces ${ph?.namespaces.toFixed(0)}, systemd ${ph?.systemd?.toFixed(0)}, mesh ${ph?.mesh?.toFixed(0)}), teardown ${down[i]} ms`);
}
console.log(
  JSON.stringify({
    bench: 'harness-bringup',
    cluster: '3 nodes + witness, wireguard-go mesh (handshakes done), systemd --user per node',
    runs,
    bring_up_median_ms: median(up),
    bring_up_max_ms: Math.max(...up),
    teardown_median_ms: median(down),
    teardown_max_ms: Math.max(...down),
    bring_up_samples_ms: up,
    teardown_samples_ms: down,
  }),
);
