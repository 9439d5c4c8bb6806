import fs from 'node:fs';
import { createCluster, sleep } from '../cluster/harness.js';
import { ensureBuilt, TshaCluster } from '../cluster/tsha-cluster.js';
ensureBuilt();
const c = await createCluster({ nodes: 3 });
try {
  const t = new TshaCluster(c, { logLevel: 'info', nodeArgs: ['--perf-basic-prof'] });
  await t.installUnit();
  t.startAll();
  await t.waitQuorate(30_000);
  await t.waitHolder(20_000);
  const coord = await t.waitQuorate(5000);
  fs.writeFileSync('/tmp/hold.json', JSON.stringify({ coord, pids: Object.fromEntries(c.nodes.map((n) => [n.name, t.agentPid(n)])) }));
  await sleep(Number(process.argv[2] ?? 120) * 1000);
} finally {
  await c.destroy();
}
