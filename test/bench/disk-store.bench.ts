// How long the durable writes take on this disk: saveHardState (temp file, fsync, rename, fsync dir:
// what a vote costs before it may be sent) and a one-entry append (write + fdatasync).
// Run: node --import tsx test/bench/disk-store.bench.ts [--runs N] [--dir DIR]
// The last line is one JSON object with medians, p95 and the raw samples in milliseconds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { nearestRank } from './stats.js';
import { option } from './args.js';

const runs = Number(option('runs') || '200');
const base = option('dir') || tmpdir();
const dir = mkdtempSync(join(base, 'tsha-sd-bench-'));

const stats = (xs: number[]) => {
  const r = nearestRank(xs);
  return { median_ms: r.median, p95_ms: r.p95, min_ms: r.min, max_ms: r.max, samples_ms: xs.map((x) => Math.round(x * 1000) / 1000) };
};

const store = new DiskStore(dir);
await store.load();
const hs: number[] = [];
const app: number[] = [];
for (let i = 1; i <= runs; i++) {
  let t = performance.now();
  await store.saveHardState({ term: i, votedFor: 'n1', commitIndex: 0 });
  hs.push(performance.now() - t);
  t = performance.now();
  await store.append([{ index: i, term: i, cmd: { op: 'place', resource: 'web', node: 'n2' } }]);
  app.push(performance.now() - t);
}
await store.close();
rmSync(dir, { recursive: true, force: true });
const h = stats(hs);
const a = stats(app);
console.log(`saveHardState: median ${h.median_ms.toFixed(3)} ms, p95 ${h.p95_ms.toFixed(3)} ms; append: median ${a.median_ms.toFixed(3)} ms, p95 ${a.p95_ms.toFixed(3)} ms (${runs} runs, ${base})`);
console.log(JSON.stringify({ runs, dir: base, cases: [{ name: 'save-hard-state', ...h }, { name: 'append-one-entry', ...a }] }));
