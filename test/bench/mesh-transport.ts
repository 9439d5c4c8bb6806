// `npm run bench:mesh [-- --messages N --restarts R --json]`: the gRPC mesh transport on loopback.
// - deliver_us: one message at a time, a → b (send → in b's handler), N samples; cpu_us_per_message:
//   the CPU (user + system) this one process spent per message over those N, sender and receiver
//   together (the agent's idle cost is mostly this times its heartbeats);
// - burst: N messages a → b sent at once (up to the in-flight cap), wall time and messages/s;
// - reconnect_ms: b stops, restarts on the same address; a sends a heartbeat every 20 ms; time from
//   b listening again to the first delivered message, R samples.
// - heal_ms: a link that drops SYNs for 3.5 s (python3 listener with a full backlog) then heals
//   (b listens on that port); a heartbeats every 100 ms; time from heal to the first delivery,
//   R samples. Bounded by connectTimeoutMs (1 s) instead of the kernel's SYN retransmission.
// Plain loopback without the tests' source relay (which would add a hop): a listens on 127.0.0.1,
// where grpc-js connections leave from, b on 127.0.0.2, so admission sees each at its own address.
// The machine is shared: run it on an idle machine for figures worth comparing. The last line of
// output is one JSON object.
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { MeshTransport } from '../../src/adapters/grpc/mesh-transport.js';
import { synBlackHole } from '../adapters/grpc/helpers.js';
import type { Envelope } from '../../src/ports/mesh-messages.js';
import { nearestRank } from './stats.js';
import { option } from './args.js';

const N = Number(option('messages') ?? 2000);
const R = Number(option('restarts') ?? 5);
const json = process.argv.includes('--json');
const logger = pino({ level: 'silent' });
const msg = {
  term: 3, body: 'appendEntries' as const,
  appendEntries: { prevLogTerm: 3, prevLogIndex: 10, entries: [], leaderCommit: 10, sentAtMs: 1234.5, lease: { atMs: 1000.25, incarnation: 7 }, peerIncluded: false, witness: null },
};


async function main(): Promise<void> {
  // b receives from a: a's calls leave from 127.0.0.1, so b knows a at 127.0.0.1
  const b = new MeshTransport({ self: 'b', clusterId: 'bench', listen: '127.0.0.2:0', peers: [], deliverTimeoutMs: 1000, logger, maxInFlightPerPeer: 256 });
  let received = 0;
  let wake: (() => void) | null = null;
  b.onMessage((_e: Envelope) => {
    received++;
    wake?.();
  });
  const receivedAtLeast = (n: number): Promise<void> =>
    received >= n ? Promise.resolve() : new Promise((res) => (wake = () => received >= n && (wake = null, res())));
  const { port: bPort } = await b.start();
  const a = new MeshTransport({
    self: 'a', clusterId: 'bench', listen: '127.0.0.1:0', deliverTimeoutMs: 1000, logger, maxInFlightPerPeer: 256,
    peers: [{ name: 'b', meshAddress: `127.0.0.2:${bPort}` }],
  });
  const { port: aPort } = await a.start();
  b.setPeers([{ name: 'a', meshAddress: `127.0.0.1:${aPort}` }]);

  // warm-up
  for (let i = 0; i < 200; i++) await a.send('b', msg);
  await receivedAtLeast(200);
  const deliver: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const want = received + 1;
    const out = await a.send('b', msg);
    if (!out.ok) throw new Error(`send failed: ${out.reason} ${out.detail}`);
    await receivedAtLeast(want);
    deliver.push(Math.round((performance.now() - t0) * 1000));
  }
  const cpu = process.cpuUsage(cpu0);

  const before = received;
  const t0 = performance.now();
  const outs = await Promise.all(Array.from({ length: Math.min(N, 256) }, () => a.send('b', msg)));
  const burstMs = performance.now() - t0;
  const burstOk = outs.filter((o) => o.ok).length;
  await Promise.race([receivedAtLeast(before + burstOk), new Promise((res) => setTimeout(res, 2000))]);
  if (received - before !== burstOk) throw new Error('burst: delivered count mismatch');

  let bNow = b;
  const reconnect: number[] = [];
  for (let r = 0; r < R; r++) {
    await bNow.stop();
    // let a notice (its channel goes to TRANSIENT_FAILURE and backs off) as in a real crash
    for (let i = 0; i < 10; i++) {
      await a.send('b', msg);
      await new Promise((res) => setTimeout(res, 20));
    }
    bNow = new MeshTransport({ self: 'b', clusterId: 'bench', listen: `127.0.0.2:${bPort}`, deliverTimeoutMs: 1000, logger, peers: [{ name: 'a', meshAddress: `127.0.0.1:${aPort}` }] });
    await bNow.start();
    const up = performance.now();
    for (;;) {
      if ((await a.send('b', msg)).ok) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    reconnect.push(Math.round(performance.now() - up));
  }
  await a.stop();
  await bNow.stop();

  const heal: number[] = [];
  for (let r = 0; r < R; r++) {
    const hole = await synBlackHole('127.0.0.2');
    const c = new MeshTransport({ self: 'c', clusterId: 'bench', listen: '127.0.0.1:0', deliverTimeoutMs: 100, logger, peers: [{ name: 'b', meshAddress: `127.0.0.2:${hole.port}` }] });
    const { port: cPort } = await c.start();
    const cutUntil = performance.now() + 3500;
    while (performance.now() < cutUntil) {
      await c.send('b', msg);
      await new Promise((res) => setTimeout(res, 100));
    }
    await hole.close();
    const b3 = new MeshTransport({ self: 'b', clusterId: 'bench', listen: `127.0.0.2:${hole.port}`, deliverTimeoutMs: 100, logger, peers: [{ name: 'c', meshAddress: `127.0.0.1:${cPort}` }] });
    await b3.start();
    const healed = performance.now();
    for (;;) {
      if ((await c.send('b', msg)).ok) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    heal.push(Math.round(performance.now() - healed));
    await c.stop();
    await b3.stop();
  }

  const result = {
    bench: 'mesh-transport',
    node: process.version,
    deliver_us: { ...nearestRank(deliver), samples: deliver.length },
    cpu_us_per_message: Math.round(((cpu.user + cpu.system) / N) * 10) / 10,
    burst: { messages: outs.length, delivered: burstOk, wall_ms: Math.round(burstMs), per_s: Math.round((burstOk / burstMs) * 1000) },
    reconnect_ms: { ...nearestRank(reconnect), samples_ms: reconnect },
    heal_ms: { ...nearestRank(heal), samples_ms: heal },
    deliver_samples_us: deliver,
  };
  if (!json) {
    console.log(`deliver (one at a time, ${N}): median ${result.deliver_us.median} µs, p99 ${result.deliver_us.p99} µs, CPU ${result.cpu_us_per_message} µs per message (both ends)`);
    console.log(`burst of ${outs.length}: ${result.burst.wall_ms} ms, ${result.burst.per_s} msg/s`);
    console.log(`reconnect after peer restart: median ${result.reconnect_ms.median} ms, max ${result.reconnect_ms.max} ms (${reconnect.join(', ')})`);
    console.log(`delivery after a SYN-dropping link heals: median ${result.heal_ms.median} ms, max ${result.heal_ms.max} ms (${heal.join(', ')})`);
  }
  console.log(JSON.stringify(result));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
