// npm run bench:codec-pace -- [--hot N] [--paced N] [--pace-ms MS]: one heartbeat's trip through the
// mesh encoding (toOutbound, the envelope codec's encode, decode, fromEnvelope), timed hot (N in a
// loop, the mean) and at an idle agent's pace (N single trips, one every --pace-ms, default 150:
// each after a sleep, as at idle). The gap between the two is what a wake-up's cold caches cost this
// code on this machine (docs/agent.md, "Idle cost"). The last line of output is one JSON object.
import { envelopeCodec } from '../../src/adapters/grpc/proto.js';
import { MESH_TYPES, type Envelope } from '../../src/ports/mesh-messages.js';
import { fromEnvelope, toOutbound } from '../../src/runtime/wire.js';
import type { AppendEntries } from '../../src/core/cluster/messages.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const hot = arg('hot', 100_000);
const paced = arg('paced', 60);
const paceMs = arg('pace-ms', 150);

const codec = envelopeCodec<Envelope>(MESH_TYPES.envelope);
let seq = 0;
function trip(): void {
  const now = Math.floor(performance.now());
  const hb: AppendEntries = {
    type: 'AppendEntries', term: 3, prevLogIndex: 41, prevLogTerm: 3, entries: [], leaderCommit: 41,
    sentAt: now, lease: { at: now - 150 + (seq++ % 7), incarnation: 1 }, peerIncluded: false,
  };
  const u = codec.encode({ ...toOutbound(hb), clusterId: 'bench', from: 'n1', to: 'n2', sentAtMs: now } as Envelope);
  const back = fromEnvelope(codec.decode(Buffer.from(u.buffer, u.byteOffset, u.byteLength)));
  if (back.type !== 'AppendEntries') throw new Error(`decoded a ${back.type}`);
}

for (let i = 0; i < 1000; i++) trip(); // warm-up: optimized before either measurement
const t0 = performance.now();
for (let i = 0; i < hot; i++) trip();
const hotUs = ((performance.now() - t0) * 1000) / hot;
const samples: number[] = [];
for (let i = 0; i < paced; i++) {
  await new Promise((r) => setTimeout(r, paceMs));
  const t = performance.now();
  trip();
  samples.push(Math.round((performance.now() - t) * 1000 * 10) / 10);
}
const sorted = [...samples].sort((a, b) => a - b);
const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const round1 = (x: number): number => Math.round(x * 10) / 10;
process.stderr.write(`hot: ${round1(hotUs)} us per trip (${hot}); every ${paceMs} ms: median ${q(0.5)} us, min ${sorted[0]} us, max ${sorted[sorted.length - 1]} us (${paced})\n`);
console.log(JSON.stringify({ hot_us_mean: round1(hotUs), hot_trips: hot, pace_ms: paceMs, paced_us: { min: sorted[0], median: q(0.5), p95: q(0.95), max: sorted[sorted.length - 1] }, samples_paced_us: samples }));
