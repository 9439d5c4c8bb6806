// Helpers for the gRPC adapter tests: a TCP relay that makes calls arrive from a chosen loopback
// source address, a pino logger that keeps its lines for assertions, throwaway certificates from
// the real openssl, and a raw one-message stream for crafting hostile messages.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { SourceRelay } from '../../../src/runtime/source-relay.js';

/**
 * grpc-js cannot bind a client's source address, and every loopback connection leaves from
 * 127.0.0.1. The runtime's own relay (src/runtime/source-relay.ts) forwards each connection from
 * `sourceIp`, the way a WireGuard tunnel delivers a peer's packets from the peer's tunnel address;
 * the tests use the same code, so what they prove about admission holds for the loopback demo too.
 */
export interface Relay {
  address: string;
  close(): Promise<void>;
}

export function sourceRelay(sourceIp: string, target: string): Promise<Relay> {
  return SourceRelay.open(sourceIp, target);
}

/**
 * A relay like sourceRelay whose connections can be frozen: `freeze()` makes every connection open
 * at that moment carry nothing more, either way, while staying open, as a connection whose packets
 * a cut link dropped (TCP retransmits into the void, with a growing backoff) looks to its ends.
 * Connections made after it are relayed normally, as over a healed link.
 */
export async function freezableRelay(sourceIp: string, target: string): Promise<Relay & { freeze(): void; connections(): number }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const pairs = new Set<[Socket, Socket]>();
  let made = 0;
  const server = createServer((inbound) => {
    const outbound = connect({ host, port, localAddress: sourceIp });
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    made++;
    const end = (): void => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('relay did not bind');
  return {
    address: `127.0.0.1:${addr.port}`,
    connections: () => made,
    freeze: () => {
      for (const [inbound, outbound] of pairs) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
        // no more 'close' handling either: the ends see nothing at all until close()
        inbound.removeAllListeners('close');
        outbound.removeAllListeners('close');
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [i, o] of pairs) {
          i.destroy();
          o.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/** A TCP server that accepts connections and never answers: a stalled (SIGSTOPped) peer. */
export async function blackHole(ip: string): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('black hole did not bind');
  return {
    address: `${ip}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
}

export function captureLogger(level: pino.Level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface TestPki {
  dir: string;
  ca: Buffer;
  /** certificate and key for `name`, signed by the test CA (CN and DNS SAN = name) */
  issue(name: string): { cert: Buffer; key: Buffer };
  /** a second, unrelated CA: its certificates must be refused */
  issueFromRogueCa(name: string): { cert: Buffer; key: Buffer; ca: Buffer };
  cleanup(): void;
}

/** Throwaway PKI made with Debian's openssl (package `openssl`, listed in .ci/run). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tsha-proto-pki-'));
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const newCa = (prefix: string): void => {
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${prefix}.key`, '-out', `${prefix}.crt`, '-subj', `/CN=${prefix}`, '-days', '2');
  };
  const issueWith = (caPrefix: string, name: string): { cert: Buffer; key: Buffer } => {
    const base = `${caPrefix}-${name}`;
    writeFileSync(join(dir, `${base}.ext`), `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`);
    ossl('x509', '-req', '-in', `${base}.csr`, '-CA', `${caPrefix}.crt`, '-CAkey', `${caPrefix}.key`,
      '-CAcreateserial', '-out', `${base}.crt`, '-days', '2', '-extfile', `${base}.ext`);
    return { cert: readFileSync(join(dir, `${base}.crt`)), key: readFileSync(join(dir, `${base}.key`)) };
  };
  newCa('tsha-test-ca');
  let rogue = false;
  return {
    dir,
    ca: readFileSync(join(dir, 'tsha-test-ca.crt')),
    issue: (name) => issueWith('tsha-test-ca', name),
    issueFromRogueCa: (name) => {
      if (!rogue) newCa('tsha-rogue-ca');
      rogue = true;
      return { ...issueWith('tsha-rogue-ca', name), ca: readFileSync(join(dir, 'tsha-rogue-ca.crt')) };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A stream to the Mesh service carrying one message of arbitrary bytes, then ended, as a hostile or
 * broken peer would send it: resolves with the status the receiver ended it with (null: admitted).
 */
export function rawDeliver(
  address: string,
  bytes: Uint8Array,
  creds: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, creds, { 'grpc.use_local_subchannel_pool': 1, ...options });
  return new Promise((resolve) => {
    const call = client.makeClientStreamRequest<Buffer, Buffer>(
      '/tsha.mesh.v1.Mesh/Stream', (b) => b, (b) => b, new grpc.Metadata(), { deadline: Date.now() + 3000 },
      (err) => {
        client.close();
        resolve(err);
      },
    );
    call.write(Buffer.from(bytes));
    call.end();
  });
}

export async function eventually<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 5000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A listening port that drops SYNs, as a cut link does: a python3 listener with backlog 0 whose
 * accept queue is full and which never accepts. `close()` kills it; the port is free again.
 * (Node cannot do this: libuv accepts every connection on its own.)
 */
export async function synBlackHole(ip: string): Promise<{ port: number; close(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const py = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((${JSON.stringify(ip)}, 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect((${JSON.stringify(ip)}, port))
    except BlockingIOError: pass
    fill.append(c)
print(port, flush=True)
sys.stdin.read()
`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    py.once('error', reject);
    py.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (py.exitCode !== null || py.signalCode !== null) return resolve();
        py.once('exit', () => resolve());
        py.kill('SIGKILL');
      }),
  };
}
