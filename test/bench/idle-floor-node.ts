// One process of `npm run bench:idle-floor` (test/bench/idle-floor.ts): an idle cluster's message
// pattern and nothing else, on one transport stack. The coordinator ('c') sends one heartbeat-sized
// message to every peer each heartbeat interval; a member ('m') answers each one at once, to the
// coordinator, over its own connection — as an idle tsha cluster does (a heartbeat out on the
// sender's client stream, its answer back on the answerer's). Stacks, cheapest first:
// - timer: no messages; the coordinator's interval timer only (what one wake-up of Node costs here);
// - tcp: bare TCP sockets (TCP_NODELAY), a 250-byte message;
// - http2: node:http2, one POST stream per peer carrying gRPC-framed 250-byte messages;
// - grpc: @grpc/grpc-js client streams with the mesh transport's exact server and channel options,
//   same bytes;
// - codec: grpc as above, carrying the envelopes MeshTransport would send (the same AppendEntries /
//   AppendEntriesResponse through toOutbound and the envelope codec, decoded on receipt): what the
//   messages' encoding costs, without MeshTransport's send and admission machinery;
// - mesh: tsha's MeshTransport with real core messages (AppendEntries / AppendEntriesResponse, as
//   an idle coordinator and member send them), admission and envelope codec included.
// argv[2]: JSON of ChildSpec. On SIGUSR2 prints `{"rx":N}` (messages received so far) on stdout:
// the bench checks that the messages flowed, without a timer of ours in the measured window.
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { meshChannelOptions, meshServerOptions, MeshTransport } from '../../src/adapters/grpc/mesh-transport.js';
import { envelopeCodec as codec } from '../../src/adapters/grpc/mesh-envelope.js';
import type { OutboundMessage } from '../../src/ports/transport.js';
import { toOutbound } from '../../src/runtime/wire.js';
import { idleAnswer, idleHeartbeat } from './idle-messages.js';

export type Stack = 'timer' | 'tcp' | 'http2' | 'grpc' | 'codec' | 'mesh';
export interface ChildSpec {
  stack: Stack;
  role: 'c' | 'm';
  self: string;
  /** ip:port to listen on */
  listen: string;
  /** the coordinator's peers (members), or for a member: the coordinator only */
  peers: { name: string; address: string }[];
  heartbeatMs: number;
  /** the coordinator first sends every WARMUP_EVERY_MS for this long: V8 optimizes by calls made, not time */
  warmupMs: number;
}

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
const PAYLOAD = Buffer.alloc(250, 0x5a);
const GRPC_FRAMED = Buffer.concat([Buffer.from([0, 0, 0, 0, PAYLOAD.length - 5]), PAYLOAD.subarray(5)]);
const METHOD = '/tsha.bench.IdleFloor/Stream';
let rx = 0;
process.on('SIGUSR2', () => process.stdout.write(`${JSON.stringify({ rx })}\n`));

const hostPort = (a: string): { host: string; port: number } => {
  const i = a.lastIndexOf(':');
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
};
const connectLater = (f: () => void): void => void setTimeout(f, 2000); // every listener is up by then
const WARMUP_EVERY_MS = 5;
const everyHeartbeat = (f: () => void): void => {
  if (spec.role !== 'c') return;
  const warm = setInterval(f, WARMUP_EVERY_MS);
  setTimeout(() => {
    clearInterval(warm);
    setInterval(f, spec.heartbeatMs);
  }, spec.warmupMs);
};

switch (spec.stack) {
  case 'timer':
    everyHeartbeat(() => undefined);
    setInterval(() => undefined, 2 ** 31 - 1); // keeps a member alive without waking it
    break;

  case 'tcp': {
    const outs = new Map<string, net.Socket>();
    net
      .createServer((s) => s.on('data', () => {
        rx++;
        if (spec.role === 'm') outs.get(spec.peers[0]!.name)?.write(PAYLOAD);
      }))
      .listen(hostPort(spec.listen).port, hostPort(spec.listen).host);
    connectLater(() => {
      for (const p of spec.peers) outs.set(p.name, net.connect(hostPort(p.address)).setNoDelay(true));
    });
    everyHeartbeat(() => {
      for (const s of outs.values()) s.write(PAYLOAD);
    });
    break;
  }

  case 'http2': {
    const outs = new Map<string, http2.ClientHttp2Stream>();
    const server = http2.createServer();
    server.on('stream', (s) => s.on('data', () => {
      rx++;
      if (spec.role === 'm') outs.get(spec.peers[0]!.name)?.write(GRPC_FRAMED);
    }));
    server.listen(hostPort(spec.listen).port, hostPort(spec.listen).host);
    connectLater(() => {
      for (const p of spec.peers) {
        const session = http2.connect(`http://${p.address}`);
        outs.set(p.name, session.request({ ':method': 'POST', ':path': METHOD, 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false }));
      }
    });
    everyHeartbeat(() => {
      for (const s of outs.values()) s.write(GRPC_FRAMED);
    });
    break;
  }

  case 'grpc':
  case 'codec': {
    const raw = (b: Buffer): Buffer => b;
    const bytes = (m: OutboundMessage, to: string): Buffer => codec.encodeStamped({ clusterId: 'idle-floor', from: spec.self, to, sentAtMs: Math.floor(performance.now()) }, m);
    const heartbeatTo = (to: string): Buffer => (spec.stack === 'codec' ? bytes(toOutbound(idleHeartbeat()), to) : PAYLOAD.subarray(5));
    const answerTo = (to: string): Buffer => (spec.stack === 'codec' ? bytes(toOutbound(idleAnswer()), to) : PAYLOAD.subarray(5));
    const service = { Stream: { path: METHOD, requestStream: true, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw, originalName: 'Stream' } };
    const outs = new Map<string, grpc.ClientWritableStream<Buffer>>();
    // the options MeshTransport gives its server and channels
    const server = new grpc.Server(meshServerOptions({}));
    server.addService(service, {
      Stream: (call: grpc.ServerReadableStream<Buffer, Buffer>) => call.on('data', (b: Buffer) => {
        if (spec.stack === 'codec' && !codec.decode(b).body.startsWith('appendEntries')) throw new Error('not a typed append envelope');
        rx++;
        if (spec.role === 'm') outs.get(spec.peers[0]!.name)?.write(answerTo(spec.peers[0]!.name));
      }),
    });
    server.bindAsync(spec.listen, grpc.ServerCredentials.createInsecure(), (e) => {
      if (e) throw e;
    });
    connectLater(() => {
      for (const p of spec.peers) {
        const client = new grpc.Client(p.address, grpc.credentials.createInsecure(), meshChannelOptions({}));
        outs.set(p.name, client.makeClientStreamRequest<Buffer, Buffer>(METHOD, raw, raw, new grpc.Metadata(), {}, () => undefined));
      }
    });
    everyHeartbeat(() => {
      for (const [to, s] of outs) s.write(heartbeatTo(to));
    });
    break;
  }

  case 'mesh': {
    const t = new MeshTransport({
      self: spec.self, clusterId: 'idle-floor', listen: spec.listen, deliverTimeoutMs: spec.heartbeatMs,
      peers: spec.peers.map((p) => ({ name: p.name, meshAddress: p.address })), logger: pino({ level: 'silent' }),
    });
    t.onMessage((env) => {
      rx++;
      if (spec.role !== 'm' || env.body !== 'appendEntries') return;
      void t.send(env.from, toOutbound(idleAnswer()));
    });
    await t.start();
    everyHeartbeat(() => {
      for (const p of spec.peers) void t.send(p.name, toOutbound(idleHeartbeat()));
    });
    break;
  }
}
