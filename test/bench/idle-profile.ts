// npx tsx test/bench/idle-profile.ts [SECS]: where an idle agent's CPU goes. A 3-node cluster on the
// harness with `node --cpu-prof`, idle for SECS (default 20), then SIGTERM; prints the top functions
// by self time per node from the V8 CPU profiles (a diagnostic for bench:failover's idle_cpu_pct).
import fs from 'node:fs';
import path from 'node:path';
import { createCluster, sleep } from '../cluster/harness.js';
import { ensureBuilt, TshaCluster } from '../cluster/tsha-cluster.js';

interface ProfNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: ProfNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const secs = Number(process.argv[2] ?? 20);
ensureBuilt();
const c = await createCluster({ nodes: 3 });
const profDir = path.join(c.dir, 'prof');
fs.mkdirSync(profDir);
try {
  const t = new TshaCluster(c, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], logLevel: 'info' });
  await t.installUnit();
  t.startAll();
  await t.waitQuorate(30_000);
  await t.waitHolder(20_000);
  await sleep(2000);
  await sleep(secs * 1000);
  for (const p of t.agents.values()) p.kill('SIGTERM');
  await Promise.all([...t.agents.values()].map((p) => p.exited));
  for (const f of fs.readdirSync(profDir)) {
    const prof = JSON.parse(fs.readFileSync(path.join(profDir, f), 'utf8')) as Profile;
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let total = 0;
    // only the last `secs` seconds (the idle window; profiles are written at exit)
    const from = prof.endTime - secs * 1e6;
    let ts = prof.startTime;
    for (let i = 0; i < prof.samples.length; i++) {
      ts += prof.timeDeltas[i] ?? 0;
      if (ts < from) continue;
      const n = byId.get(prof.samples[i]!)!;
      const dt = prof.timeDeltas[i + 1] ?? 0;
      const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*node_modules\//, 'nm/').replace(/^.*\/dist\//, '')}:${n.callFrame.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    }
    const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
    console.log(`\n== ${f}: profiled ${(total / 1e6).toFixed(1)} s, busy ${((total - idle) / 1e6).toFixed(2)} s (${(((total - idle) / total) * 100).toFixed(2)} %)`);
    const bucket = (k: string): string => {
      const u = k.split(' ')[1] ?? '';
      if (u.startsWith('nm/@grpc') || u.startsWith('node:internal/http2') || u.startsWith('src/adapters/grpc')) return 'grpc/http2 mesh + control';
      if (u.startsWith('nm/protobufjs') || u.includes('mesh-messages')) return 'protobuf/json codec';
      if (u.startsWith('src/core')) return 'core (step)';
      if (u.startsWith('src/runtime')) return 'runtime';
      if (u.startsWith('nm/')) return `other deps (${u.split('/')[1]})`;
      if (k.startsWith('(garbage collector)')) return 'gc';
      if (k.startsWith('(program)')) return '(program: native, not JS)';
      if (u.startsWith('node:')) return 'node internals (timers, events, streams, net)';
      return 'other';
    };
    const buckets = new Map<string, number>();
    for (const [k, v] of self) if (!k.startsWith('(idle)')) buckets.set(bucket(k), (buckets.get(bucket(k)) ?? 0) + v);
    for (const [k, v] of [...buckets].sort((a, b) => b[1] - a[1])) console.log(`  [${((v / total) * 100).toFixed(2).padStart(5)} % of a core] ${k}`);
    for (const [k, v] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 18)) console.log(`  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  }
} finally {
  await c.destroy();
}
