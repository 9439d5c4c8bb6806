// The gRPC mesh transport over real loopback sockets with real grpc-js: delivery between nodes on
// one stream per peer, stale messages dropped, reconnect after a peer restart, deadlines and backpressure against a stalled peer, admission
// (wrong cluster, spoofed sender, non-member source, malformed bytes), and mutual TLS with
// certificates made by the real openssl. Calls come from each node's own 127.0.0.x address through
// a byte relay (helpers.ts: grpc-js cannot bind a source address), as over WireGuard.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { hostOf, MeshTransport, peerIp, type MeshTlsOptions } from '../../../src/adapters/grpc/mesh-transport.js';
import { envelopeCodec } from '../../../src/adapters/grpc/mesh-envelope.js';
import { codec } from '../../../src/adapters/grpc/proto.js';
import type { AppendEntries, Envelope } from '../../../src/ports/mesh-messages.js';
import { MESH_TYPES } from '../../../src/ports/mesh-messages.js';
import type { InboundDropReason } from '../../../src/ports/transport.js';
import { blackHole, captureLogger, eventually, freezableRelay, makeTestPki, rawDeliver, sourceRelay, synBlackHole, type Relay, type TestPki } from './helpers.js';

const CLUSTER = 'tsha-proto-test';

/** a numbered heartbeat, as a coordinator sends it: `seq` in leaderCommit */
const heartbeat = (seq: number): AppendEntries => ({
  prevLogTerm: 1, prevLogIndex: seq, entries: [], leaderCommit: seq, sentAtMs: seq + 0.5, lease: { atMs: seq, incarnation: 7 }, peerIncluded: false, witness: null,
});

interface TestNode {
  name: string;
  ip: string;
  port: number;
  transport: MeshTransport;
  inbox: Envelope[];
  log: ReturnType<typeof captureLogger>;
  /** relays this node dials its peers through, by peer name (source = this node's IP) */
  relays: Map<string, Relay>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function newTransport(name: string, ip: string, port: number, tls?: MeshTlsOptions, log = captureLogger()): { transport: MeshTransport; log: ReturnType<typeof captureLogger> } {
  return {
    transport: new MeshTransport({
      self: name, clusterId: CLUSTER, listen: `${ip}:${port}`, peers: [], deliverTimeoutMs: 2000,
      reconnectBackoffMs: { initial: 100, max: 1000 }, tls, logger: log.logger,
    }),
    log,
  };
}

/** N nodes on 127.0.0.<base+i>, started, relayed, and told about each other. */
async function startMesh(names: string[], opts: { base?: number; tls?: (name: string) => MeshTlsOptions } = {}): Promise<TestNode[]> {
  const base = opts.base ?? 11;
  const nodes: TestNode[] = [];
  for (const [i, name] of names.entries()) {
    const ip = `127.0.0.${base + i}`;
    const { transport, log } = newTransport(name, ip, 0, opts.tls?.(name));
    const inbox: Envelope[] = [];
    transport.onMessage((e) => inbox.push(e));
    const { port } = await transport.start();
    cleanups.push(() => transport.stop());
    nodes.push({ name, ip, port, transport, inbox, log, relays: new Map() });
  }
  for (const n of nodes) {
    for (const p of nodes) {
      if (p === n) continue;
      const relay = await sourceRelay(n.ip, `${p.ip}:${p.port}`);
      cleanups.push(() => relay.close());
      n.relays.set(p.name, relay);
    }
    wirePeers(n, nodes);
  }
  return nodes;
}

function wirePeers(n: TestNode, nodes: TestNode[]): void {
  n.transport.setPeers(
    nodes.filter((p) => p !== n).map((p) => ({ name: p.name, meshAddress: `${p.ip}:${p.port}`, dialAddress: n.relays.get(p.name)!.address })),
  );
}

async function relayFrom(ip: string, to: TestNode): Promise<Relay> {
  const relay = await sourceRelay(ip, `${to.ip}:${to.port}`);
  cleanups.push(() => relay.close());
  return relay;
}

function envelope(over: Partial<Envelope> = {}): Envelope {
  return { clusterId: CLUSTER, from: 'b', to: 'a', term: 3, sentAtMs: 1, body: 'appendEntries', appendEntries: heartbeat(1), ...over } as Envelope;
}

function droppedLogged(node: TestNode, reason: InboundDropReason): boolean {
  return node.log.lines.some((l) => l.msg === 'mesh message dropped' && l.reason === reason);
}

describe('address parsing', () => {
  it('reads the IP of mesh addresses and of grpc-js peers, v4, v6 and v4-mapped', () => {
    expect(hostOf('10.77.0.1:7400')).toBe('10.77.0.1');
    expect(hostOf('[fd00::1]:7400')).toBe('fd00::1');
    expect(hostOf('node-a:7400')).toBeNull();
    expect(peerIp('127.0.0.12:54321')).toBe('127.0.0.12');
    expect(peerIp('::ffff:127.0.0.12:54321')).toBe('127.0.0.12');
    expect(peerIp('[fd00::2]:1')).toBe('fd00::2');
    expect(peerIp('fd00::2:54321')).toBe('fd00::2');
    expect(peerIp('unknown')).toBeNull();
  });

  it('refuses peers whose identity is ambiguous or not an IP', () => {
    const { logger } = captureLogger();
    const mk = (peers: { name: string; meshAddress: string }[]) => () =>
      new MeshTransport({ self: 'a', clusterId: CLUSTER, listen: '127.0.0.11:0', peers, deliverTimeoutMs: 100, logger });
    expect(mk([{ name: 'b', meshAddress: 'b.example:7400' }])).toThrow(/peers\[0\]\.meshAddress: .*not "ip:port"/);
    expect(mk([{ name: 'b', meshAddress: '10.0.0.2:1' }, { name: 'c', meshAddress: '10.0.0.2:2' }])).toThrow(/IP 10\.0\.0\.2 is also b's/);
    expect(mk([{ name: 'a', meshAddress: '10.0.0.2:1' }])).toThrow(/is this node/);
  });
});

describe('delivery', () => {
  it('three nodes exchange envelopes, stamped with the sender identity', async () => {
    const nodes = await startMesh(['a', 'b', 'c']);
    for (const from of nodes) {
      for (const to of nodes) {
        if (from === to) continue;
        const out = await from.transport.send(to.name, { term: 4, body: 'appendEntries', appendEntries: heartbeat(7) });
        expect(out, `${from.name} → ${to.name}`).toEqual({ ok: true });
      }
    }
    // ok means flushed into the connection; the peer's handler runs a moment later
    await eventually(() => nodes.every((n) => n.inbox.length === 2), 'every envelope delivered', 2000, 10);
    for (const n of nodes) {
      expect(n.inbox.map((e) => e.from).sort()).toEqual(nodes.filter((p) => p !== n).map((p) => p.name).sort());
      for (const e of n.inbox) {
        expect(e).toMatchObject({ clusterId: CLUSTER, to: n.name, term: 4, body: 'appendEntries', appendEntries: heartbeat(7) });
      }
      expect(n.transport.stats().received).toBe(2);
      expect(n.transport.stats().sent).toBe(2);
      expect(Object.values(n.transport.stats().dropped).every((v) => v === 0)).toBe(true);
    }
  });

  it('carries every message to a peer on one long-lived stream, in order', async () => {
    const [a, b] = await startMesh(['a', 'b']);
    for (let i = 1; i <= 50; i++) expect(await a!.transport.send('b', { term: 1, body: 'appendEntries', appendEntries: heartbeat(i) })).toEqual({ ok: true });
    await eventually(() => b!.inbox.length === 50, '50 messages in b', 2000, 10);
    expect(b!.inbox.map((e) => (e.body === 'appendEntries' ? e.appendEntries.leaderCommit : -1))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(a!.transport.stats().peers.b!.streams).toBe(1);
  });

  it('drops a message that arrives later than the deadline compared with the freshest one of its stream (a stalled reader)', async () => {
    const [, b] = await startMesh(['a', 'b']);
    // a sender whose clock we steer: a message stamped 3 s before the previous one arrives "3 s late"
    let clock = 100_000;
    const { logger } = captureLogger();
    const a = new MeshTransport({
      // b never answers and the steered clock jumps seconds: no fresh connection for that silence
      self: 'a', clusterId: CLUSTER, listen: '127.0.0.11:0', deliverTimeoutMs: 2000, silentPeerMs: 60_000, logger, monotonicMs: () => clock,
      peers: [{ name: 'b', meshAddress: `${b!.ip}:${b!.port}`, dialAddress: (await relayFrom('127.0.0.11', b!)).address }],
    });
    await a.start();
    cleanups.push(() => a.stop());
    const hb = (seq: number) => ({ term: 1, body: 'appendEntries', appendEntries: heartbeat(seq) }) as const;
    expect(await a.send('b', hb(1))).toEqual({ ok: true });
    clock += 100;
    expect(await a.send('b', hb(2))).toEqual({ ok: true });
    clock -= 3100; // stamped 3 s before the first one
    expect(await a.send('b', hb(3))).toEqual({ ok: true });
    clock += 3000 + 1900; // 1.9 s late: within the 2 s deadline
    expect(await a.send('b', hb(4))).toEqual({ ok: true });
    await eventually(() => b!.transport.stats().dropped.stale === 1 && b!.inbox.length === 3, 'one stale drop, three delivered', 2000, 10);
    expect(b!.inbox.map((e) => (e.body === 'appendEntries' ? e.appendEntries.leaderCommit : -1))).toEqual([1, 2, 4]);
    expect(droppedLogged(b!, 'stale')).toBe(true);
    expect(a.stats().peers.b!.streams).toBe(1); // not the sender's fault: the stream stays
  });

  it('a peer restart: sends fail while it is down, delivery resumes within the reconnect backoff', async () => {
    const [a, b] = await startMesh(['a', 'b']);
    expect((await a!.transport.send('b', { term: 1, body: 'appendEntries', appendEntries: heartbeat(1) })).ok).toBe(true);
    await b!.transport.stop();
    const down = await a!.transport.send('b', { term: 1, body: 'appendEntries', appendEntries: heartbeat(2) });
    expect(down.ok).toBe(false);
    if (!down.ok) expect(['unavailable', 'deadline']).toContain(down.reason);

    // restart b on the same address, as a restarted agent would
    const { transport: b2 } = newTransport('b', b!.ip, b!.port);
    const inbox: Envelope[] = [];
    b2.onMessage((e) => inbox.push(e));
    b2.setPeers([{ name: 'a', meshAddress: `${a!.ip}:${a!.port}`, dialAddress: b!.relays.get('a')!.address }]);
    await b2.start();
    cleanups.push(() => b2.stop());
    const restartedAt = Date.now();
    let seq = 3;
    // heartbeats every 50 ms, as the runtime would send them; the bound (5 s) is a liveness bound
    // well above the 1 s backoff cap, not a performance figure
    await eventually(async () => (await a!.transport.send('b', { term: 1, body: 'appendEntries', appendEntries: heartbeat(seq++) })).ok, 'delivery to restarted b', 5000, 50);
    await eventually(() => inbox.length === 1, 'the message in b2', 2000, 10);
    expect(inbox[0]!.from).toBe('a');
    a!.log.logger.info({ resumedAfterMs: Date.now() - restartedAt }, 'delivery resumed');
    // and b2 can answer
    expect((await b2.send('a', { term: 1, body: 'voteResponse', voteResponse: { granted: true, } })).ok).toBe(true);
  });

  it('a stalled peer: messages expire at the deadline, the in-flight cap drops the excess, other peers are not blocked', async () => {
    const [a, b] = await startMesh(['a', 'b']);
    const hole = await blackHole('127.0.0.19');
    cleanups.push(() => hole.close());
    const { logger } = captureLogger();
    const t = new MeshTransport({
      self: 'a', clusterId: CLUSTER, listen: '127.0.0.11:0', deliverTimeoutMs: 1000, maxInFlightPerPeer: 2, logger,
      peers: [{ name: 'stuck', meshAddress: hole.address }, { name: 'b', meshAddress: `${b!.ip}:${b!.port}`, dialAddress: a!.relays.get('b')!.address }],
    });
    await t.start();
    cleanups.push(() => t.stop());
    const msg = { term: 1, body: 'appendEntries', appendEntries: heartbeat(1) } as const;
    const first = t.send('stuck', msg);
    const second = t.send('stuck', msg);
    // the third finds two in flight: dropped at once, not queued
    expect(await t.send('stuck', msg)).toMatchObject({ ok: false, reason: 'backpressure' });
    // meanwhile b gets its message although 'stuck' holds two calls open
    expect(await t.send('b', msg)).toEqual({ ok: true });
    expect(await first).toMatchObject({ ok: false, reason: 'deadline' });
    expect(await second).toMatchObject({ ok: false, reason: 'deadline' });
    const s = t.stats();
    expect(s.sendFailed).toMatchObject({ backpressure: 1, deadline: 2 });
    expect(s.peers.stuck!.inFlight).toBe(0);
    expect(b!.inbox).toHaveLength(1);
    // an unknown peer is counted, not thrown
    expect(await t.send('nobody', msg)).toMatchObject({ ok: false, reason: 'unknownPeer' });
  });
});

describe('cut links', () => {
  it('abandons a connection attempt that hangs (SYNs dropped) and reaches the peer soon after the link heals', async () => {
    const hole = await synBlackHole('127.0.0.72');
    cleanups.push(() => hole.close());
    const { logger } = captureLogger();
    const a = new MeshTransport({
      self: 'a', clusterId: CLUSTER, listen: '127.0.0.71:0', deliverTimeoutMs: 150, connectTimeoutMs: 400, logger,
      peers: [{ name: 'b', meshAddress: `127.0.0.72:${hole.port}` }],
    });
    await a.start();
    cleanups.push(() => a.stop());
    const msg = { term: 1, body: 'appendEntries', appendEntries: heartbeat(1) } as const;
    // heartbeats into the cut link for about 1.5 s: each one expires, the stuck attempt is replaced
    for (let i = 0; i < 10; i++) expect(await a.send('b', msg)).toMatchObject({ ok: false, reason: 'deadline' });
    expect(a.stats().peers.b!.connectivity).toBe('connecting');
    expect(a.stats().peers.b!.connectRestarts).toBeGreaterThanOrEqual(2);
    // heal: b comes up on that port (a's calls leave from 127.0.0.1, so b knows a there)
    await hole.close();
    const { transport: b } = newTransport('b', '127.0.0.72', hole.port);
    b.setPeers([{ name: 'a', meshAddress: '127.0.0.1:1' }]);
    const inbox: Envelope[] = [];
    b.onMessage((e) => inbox.push(e));
    await b.start();
    cleanups.push(() => b.stop());
    await eventually(async () => (await a.send('b', msg)).ok, 'delivery after the link healed', 5000, 50);
    await eventually(() => inbox.length >= 1, 'the message in b', 2000, 10);
  });
});

describe('dead connections', () => {
  it('replaces a ready connection that went dead while the peer stays silent; leaves answered and idle ones alone', async () => {
    // b answers every message of a's, as members answer heartbeats; c never hears from a and is
    // never sent to (members do not talk to each other): its connection must be left alone
    const [a, b, c] = await startMesh(['a', 'b', 'c']);
    const { transport: a2 } = newTransport('a', a!.ip, 0);
    await a!.transport.stop();
    const relay = await freezableRelay(a!.ip, `${b!.ip}:${b!.port}`);
    cleanups.push(() => relay.close());
    const { port } = await a2.start();
    cleanups.push(() => a2.stop());
    a2.setPeers([
      { name: 'b', meshAddress: `${b!.ip}:${b!.port}`, dialAddress: relay.address },
      { name: 'c', meshAddress: `${c!.ip}:${c!.port}`, dialAddress: a!.relays.get('c')!.address },
    ]);
    const backToA = await relayFrom(b!.ip, { ...a!, port, transport: a2 });
    b!.transport.setPeers([{ name: 'a', meshAddress: `${a!.ip}:${port}`, dialAddress: backToA.address }]);
    b!.transport.onMessage((e) => {
      b!.inbox.push(e);
      void b!.transport.send('a', { term: 1, body: 'appendEntries', appendEntries: heartbeat(e.body === 'appendEntries' ? e.appendEntries.leaderCommit : 0) });
    });
    a2.onMessage(() => undefined);
    expect(await a2.send('c', { term: 1, body: 'appendEntries', appendEntries: heartbeat(0) })).toEqual({ ok: true }); // c's connection: ready, then idle
    let seq = 0;
    const beat = async (): Promise<void> => {
      await a2.send('b', { term: 1, body: 'appendEntries', appendEntries: heartbeat(++seq) });
    };
    // answered heartbeats for 1.5 s (three times silentPeerMs): nothing replaced
    const t0 = performance.now();
    while (performance.now() - t0 < 1500) {
      await beat();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(a2.stats().peers.b!.silentRestarts).toBe(0);
    expect(relay.connections()).toBe(1);
    // the link drops everything on that connection: b hears nothing, so answers nothing
    relay.freeze();
    const frozenAt = b!.inbox.length;
    const cut = performance.now();
    await eventually(
      async () => {
        await beat();
        return b!.inbox.length > frozenAt;
      },
      'a heartbeat reaching b on a fresh connection',
      4000,
      100,
    );
    const healedMs = performance.now() - cut;
    const s = a2.stats().peers;
    expect(s.b!.silentRestarts).toBeGreaterThanOrEqual(1);
    expect(relay.connections()).toBeGreaterThanOrEqual(2);
    // silentPeerMs (1000) plus a connect and a heartbeat: far below the 10 s keepalive backstop
    expect(healedMs).toBeLessThan(3000);
    expect(s.c!.silentRestarts).toBe(0);
    expect(s.c!.connectivity).toBe('ready');
  });
});

describe('admission', () => {
  it('drops and counts an envelope from another cluster', async () => {
    const [a, b] = await startMesh(['a', 'b']);
    const err = await rawDeliver(b!.relays.get('a')!.address, envelopeCodec.encode(envelope({ clusterId: 'someone-else' })));
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(a!.transport.stats().dropped.wrongCluster).toBe(1);
    expect(a!.inbox).toHaveLength(0);
    expect(droppedLogged(a!, 'wrongCluster')).toBe(true);
  });

  it('drops a member claiming to be another member (from spoofing)', async () => {
    const [a, b] = await startMesh(['a', 'b', 'c']);
    // b's address, c's name
    const err = await rawDeliver(b!.relays.get('a')!.address, envelopeCodec.encode(envelope({ from: 'c' })));
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(a!.transport.stats().dropped.spoofedSender).toBe(1);
    expect(a!.inbox).toHaveLength(0);
    expect(droppedLogged(a!, 'spoofedSender')).toBe(true);
    // and the same bytes with the right name are accepted
    expect(await rawDeliver(b!.relays.get('a')!.address, envelopeCodec.encode(envelope({ from: 'b' })))).toBeNull();
    expect(a!.inbox).toHaveLength(1);
  });

  it('drops a call from a source address that is not a member, before parsing it', async () => {
    const [a] = await startMesh(['a', 'b']);
    // direct connection: leaves from 127.0.0.1, which no member has
    const err = await rawDeliver(`${a!.ip}:${a!.port}`, envelopeCodec.encode(envelope()));
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    // from another, unconfigured loopback address through a relay
    const stranger = await sourceRelay('127.0.0.99', `${a!.ip}:${a!.port}`);
    cleanups.push(() => stranger.close());
    expect((await rawDeliver(stranger.address, Buffer.from('garbage')))?.code).toBe(grpc.status.PERMISSION_DENIED);
    const s = a!.transport.stats();
    expect(s.dropped.notMember).toBe(2);
    expect(s.dropped.malformed).toBe(0);
    expect(a!.inbox).toHaveLength(0);
    expect(droppedLogged(a!, 'notMember')).toBe(true);
  });

  it('drops and counts malformed bytes, an envelope without body and one addressed elsewhere', async () => {
    const [a, b] = await startMesh(['a', 'b', 'c']);
    const via = b!.relays.get('a')!.address;
    expect((await rawDeliver(via, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x01])))?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const Env = codec<Envelope>(MESH_TYPES.envelope).type;
    const noBody = Env.encode(Env.fromObject({ clusterId: CLUSTER, from: 'b', to: 'a' })).finish();
    expect((await rawDeliver(via, noBody))?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await rawDeliver(via, envelopeCodec.encode(envelope({ to: 'c' }))))?.code).toBe(grpc.status.PERMISSION_DENIED);
    const s = a!.transport.stats();
    expect(s.dropped.malformed).toBe(2);
    expect(s.dropped.wrongRecipient).toBe(1);
    expect(a!.inbox).toHaveLength(0);
    expect(droppedLogged(a!, 'malformed')).toBe(true);
    // the transport still works afterwards
    expect((await b!.transport.send('a', { term: 1, body: 'appendEntries', appendEntries: heartbeat(1) })).ok).toBe(true);
  });

  it('rate-limits drop logs per reason and source but counts every drop', async () => {
    const [a, b] = await startMesh(['a', 'b']);
    for (let i = 0; i < 5; i++) await rawDeliver(b!.relays.get('a')!.address, Buffer.from([0xff]));
    expect(a!.transport.stats().dropped.malformed).toBe(5);
    expect(a!.log.lines.filter((l) => l.reason === 'malformed')).toHaveLength(1);
  });

  it('a throwing handler is counted and logged, not a crash', async () => {
    const [a, b] = await startMesh(['a', 'b']);
    a!.transport.onMessage(() => {
      throw new Error('runtime bug');
    });
    // flushed (ok); the receiver counts the drop and ends the stream with INTERNAL, which b counts
    expect(await b!.transport.send('a', { term: 1, body: 'appendEntries', appendEntries: heartbeat(1) })).toEqual({ ok: true });
    await eventually(() => b!.transport.stats().sendFailed.error === 1, 'b sees the stream end with an error', 2000, 10);
    expect(a!.transport.stats().dropped.handlerError).toBe(1);
    expect(a!.log.lines.some((l) => l.reason === 'handlerError' && l.level === 50)).toBe(true);
  });
});

describe('mutual TLS', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());
  const tlsFor = (name: string): MeshTlsOptions => ({ ca: pki.ca, ...pki.issue(name) });

  it('accepts members presenting certificates that name them', async () => {
    const [a, b] = await startMesh(['a', 'b'], { base: 31, tls: tlsFor });
    expect(await b!.transport.send('a', { term: 2, body: 'appendEntries', appendEntries: heartbeat(1) })).toEqual({ ok: true });
    expect(await a!.transport.send('b', { term: 2, body: 'appendEntries', appendEntries: heartbeat(2) })).toEqual({ ok: true });
    await eventually(() => a!.inbox.length === 1 && b!.inbox.length === 1, 'both delivered', 2000, 10);
    expect(a!.inbox).toHaveLength(1);
    expect(b!.inbox).toHaveLength(1);
  });

  it('refuses a client certificate from another CA at the handshake', async () => {
    const [a, b] = await startMesh(['a', 'b'], { base: 41, tls: tlsFor });
    const rogue = pki.issueFromRogueCa('b');
    const creds = grpc.credentials.createSsl(pki.ca, rogue.key, rogue.cert);
    const err = await rawDeliver(b!.relays.get('a')!.address, envelopeCodec.encode(envelope()), creds, { 'grpc.ssl_target_name_override': 'a' });
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(a!.inbox).toHaveLength(0);
  });

  it('refuses a valid certificate that names another node than the sender', async () => {
    const [a, b] = await startMesh(['a', 'b', 'c'], { base: 51, tls: tlsFor });
    // c's certificate, used from b's address claiming to be b
    const c = pki.issue('c');
    const creds = grpc.credentials.createSsl(pki.ca, c.key, c.cert);
    const err = await rawDeliver(b!.relays.get('a')!.address, envelopeCodec.encode(envelope()), creds, { 'grpc.ssl_target_name_override': 'a' });
    expect(err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(a!.transport.stats().dropped.badCertificate).toBe(1);
    expect(droppedLogged(a!, 'badCertificate')).toBe(true);
  });

  it('a client refuses a server whose certificate names another node', async () => {
    const [a, b] = await startMesh(['a', 'b'], { base: 61, tls: tlsFor });
    // b dials a's address but expects the server to be "c"
    const b2 = pki.issue('b');
    const creds = grpc.credentials.createSsl(pki.ca, b2.key, b2.cert);
    const err = await rawDeliver(b!.relays.get('a')!.address, envelopeCodec.encode(envelope()), creds, { 'grpc.ssl_target_name_override': 'c' });
    expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    expect(a!.inbox).toHaveLength(0);
  });
});

describe('start-up failures', () => {
  it('names the listen address it cannot bind (the WireGuard address is not up yet, say)', async () => {
    const [a] = await startMesh(['a']);
    const { transport } = newTransport('a2', a!.ip, a!.port);
    await expect(transport.start()).rejects.toThrow(new RegExp(`^listen: cannot bind ${a!.ip.replace(/\./g, '\\.')}:${a!.port}: `));
  });
});
