// npm run bench:codec-pace -- [--hot N] [--paced N] [--pace-ms MS]: one heartbeat's trip through the
// mesh encoding (toOutbound, the envelope codec's encode, decode, fromEnvelope), the whole trip
// through the agent's codec and through protobufjs's reflection codec of the same contract (what the
// hand-written codec stands against), and each of the four steps alone, timed hot (N in a loop, the
// mean) and at an idle agent's pace (N times one call after a sleep of --pace-ms, default 150, as at
// idle; the six interleaved). The gap
// between the two is what a wake-up's cold caches cost this code on this machine (docs/agent.md,
// "Idle cost"). The last line of output is one JSON object.
import { envelopeCodec as codec } from '../../src/adapters/grpc/mesh-envelope.js';
import { codec as reflectionCodec } from '../../src/adapters/grpc/proto.js';
import { MESH_TYPES, type Envelope } from '../../src/ports/mesh-messages.js';
import { fromEnvelope, toOutbound } from '../../src/runtime/wire.js';
import type { AppendEntries } from '../../src/core/cluster/messages.js';
import { idleHeartbeat } from './idle-messages.js';
import { nearestRank } from './stats.js';
import { option } from './args.js';

const hot = Number(option('hot') ?? 50_000);
const paced = Number(option('paced') ?? 60);
const paceMs = Number(option('pace-ms') ?? 150);

const protobufjs = reflectionCodec<Envelope>(MESH_TYPES.envelope);
const header = (hb: AppendEntries) => ({ clusterId: 'bench', from: 'n1', to: 'n2', sentAtMs: Math.floor(hb.sentAt) });
const encodeAsSent = (hb: AppendEntries): Uint8Array => codec.encodeStamped(header(hb), toOutbound(hb));
const bufferOf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const sampleHeartbeat = idleHeartbeat();
const sampleHeader = header(sampleHeartbeat);
const sampleMessage = toOutbound(sampleHeartbeat);
const sampleBytes = bufferOf(codec.encodeStamped(sampleHeader, sampleMessage));
const sampleDecoded = codec.decode(sampleBytes);

const steps: Record<string, () => unknown> = {
  trip: () => {
    const back = fromEnvelope(codec.decode(bufferOf(encodeAsSent(idleHeartbeat()))));
    if (back.type !== 'AppendEntries') throw new Error(`decoded a ${back.type}`);
  },
  tripProtobufjs: () => {
    const hb = idleHeartbeat();
    const back = fromEnvelope(protobufjs.decode(protobufjs.encode(Object.assign({}, toOutbound(hb), header(hb)) as Envelope)));
    if (back.type !== 'AppendEntries') throw new Error(`decoded a ${back.type}`);
  },
  toOutbound: () => toOutbound(idleHeartbeat()),
  encode: () => codec.encodeStamped(sampleHeader, sampleMessage),
  decode: () => codec.decode(sampleBytes),
  fromEnvelope: () => fromEnvelope(sampleDecoded),
};

for (const f of Object.values(steps)) for (let i = 0; i < 2000; i++) f(); // optimized before either measurement
const hotUs: Record<string, number> = {};
for (const [name, f] of Object.entries(steps)) {
  const t0 = performance.now();
  for (let i = 0; i < hot; i++) f();
  hotUs[name] = Math.round(((performance.now() - t0) * 1000 * 100) / hot) / 100;
}
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
for (let i = 0; i < paced; i++) {
  for (const [name, f] of Object.entries(steps)) {
    await new Promise((r) => setTimeout(r, paceMs));
    const t = performance.now();
    f();
    samples[name]!.push(Math.round((performance.now() - t) * 1000 * 10) / 10);
  }
}
const stats = (xs: number[]): { min: number; median: number; p95: number; max: number } => {
  const { min, median, p95, max } = nearestRank(xs);
  return { min, median, p95, max };
};
const result = Object.keys(steps).map((name) => ({ step: name, hot_us_mean: hotUs[name]!, paced_us: stats(samples[name]!), samples_paced_us: samples[name]! }));
for (const r of result) process.stderr.write(`${r.step.padEnd(12)} hot ${r.hot_us_mean} us; every ${paceMs} ms: median ${r.paced_us.median} us (${r.paced_us.min}-${r.paced_us.max})\n`);
console.log(JSON.stringify({ pace_ms: paceMs, hot_calls: hot, paced_calls: paced, steps: result }));
