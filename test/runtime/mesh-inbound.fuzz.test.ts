// Hostile and broken mesh input against a running agent: the real runtime, the real gRPC mesh
// transport and the real DiskStore, on loopback. Calls come from a member's address (a source relay
// from 127.0.0.72, as over WireGuard), from a stranger's, or straight from 127.0.0.1. Every input is
// built so that it must be refused: random bytes, a message that WOULD change the core's state
// (an append or a snapshot at a higher term, a vote request) under a foreign cluster id, a wrong
// sender or recipient, from a non-member, or with its body damaged (JSON cut short, unknown kind, a field
// missing or of the wrong type, a bad command, a term differing from the envelope's, a term past
// 2^53). Each one is counted once in tsha_messages_dropped_total under its reason, and the core's
// state (term, vote, log, commit index, membership, what it heard from whom) does not move. The
// append undamaged does move it (the last step), so the check can see a change. On a mutual-TLS
// mesh: a member's valid certificate used from another member's address, and a certificate from
// another CA (refused at the handshake, before any message: nothing to count there).
//
// fast-check, fixed seed: a failure prints the seed and the shrunk input; pass them back to replay.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { meshOptionsFromConfig } from '../../src/adapters/grpc/mesh-config.js';
import { MeshTransport, type MeshTlsOptions } from '../../src/adapters/grpc/mesh-transport.js';
import { envelopeCodec as fast } from '../../src/adapters/grpc/mesh-envelope.js';
import { codec } from '../../src/adapters/grpc/proto.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { Message } from '../../src/core/cluster/messages.js';
import { initialDurable } from '../../src/core/cluster/node.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import { AgentMetrics } from '../../src/observability/metrics.js';
import { MESH_TYPES, type Envelope } from '../../src/ports/mesh-messages.js';
import { INBOUND_DROP_REASONS, type InboundDropReason } from '../../src/ports/transport.js';
import { Agent, transportCounters } from '../../src/runtime/agent.js';
import { NullNotifier } from '../../src/runtime/notifier.js';
import { toOutbound } from '../../src/runtime/wire.js';
import { captureLogger, eventually, makeTestPki, sourceRelay, type Relay, type TestPki } from '../adapters/grpc/helpers.js';

const STRANGER_IP = '127.0.0.99';

async function freePort(ip: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, ip, r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const generic = codec<Envelope>(MESH_TYPES.envelope);

/** Node n1 of a three-node cluster, alone (n2 and n3 never answer), with a relay from n2's address and one from a stranger's. */
interface Lone {
  agent: Agent;
  direct: string;
  fromMember: Relay;
  fromStranger: Relay;
  stop(): Promise<void>;
}

async function startLone(ips: { self: string; member: string; stranger: string }, tls?: MeshTlsOptions): Promise<Lone> {
  const port = await freePort(ips.self);
  const config = compileOrThrow({
    cluster: { name: 'fuzz', id: 'fuzz' },
    nodes: { n1: { address: `${ips.self}:${port}` }, n2: { address: `${ips.member}:${port}` }, n3: { address: `127.0.0.73:${port}` } },
    fencing: { enabled: false },
    resources: {},
  });
  emptyState = initialDurable(config).snapshot.state;
  const dir = mkdtempSync(join(tmpdir(), 'tsha-fuzz-mesh-'));
  const metrics = new AgentMetrics();
  const log = captureLogger('error');
  const transport = new MeshTransport(await meshOptionsFromConfig(config, 'n1', { logger: log.logger, counters: transportCounters(metrics), tls }));
  const agent = new Agent({
    config, self: 'n1', logger: log.logger, store: new DiskStore<Command, ClusterState>(dir), transport, resourceAgents: new Map(), fencer: null,
    selfFence: { kind: 'exit' }, notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1, metrics,
  });
  await agent.start();
  const direct = `${ips.self}:${port}`;
  const fromMember = await sourceRelay(ips.member, direct);
  const fromStranger = await sourceRelay(ips.stranger, direct);
  return {
    agent, direct, fromMember, fromStranger,
    stop: async () => {
      await fromMember.close();
      await fromStranger.close();
      await agent.stop('test over');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let emptyState: ClusterState;

/**
 * What a refused message must not move: the core's durable and volatile protocol state. Left out:
 * what the lone node's own timers move (its pre-vote rounds make it a precandidate voting for itself).
 */
function coreState(agent: Agent): string {
  const n = agent.view()!.node;
  return JSON.stringify({
    term: n.term, votedFor: n.votedFor, log: n.log, snapshot: n.snapshot.index, commitIndex: n.commitIndex, applied: n.applied,
    role: n.role === 'precandidate' ? 'follower' : n.role, leader: n.leader, lastKnownLeader: n.lastKnownLeader, lastHeardLeaderAt: n.lastHeardLeaderAt,
    cluster: n.cluster, heard: [...n.heard], votes: [...n.votes].filter((v) => v !== n.self), leaseUntil: n.leaseUntil, clockOffset: n.clockOffset,
  });
}

/** tsha_messages_dropped_total by inbound reason (the series also counts this node's failed sends, as send_*). */
async function dropped(agent: Agent): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await agent.metrics.messagesDropped.get()).values) {
    const reason = String(v.labels.reason);
    if ((INBOUND_DROP_REASONS as readonly string[]).includes(reason)) out[reason] = v.value;
  }
  return out;
}

// ---- messages that would change the state of a lone follower at term 0 ---------------------------

const T = 50;
const voteRequest = (): Message => ({ type: 'VoteRequest', term: T, lastLogIndex: 100, lastLogTerm: T - 1 });
const appendEntries = (): Message => ({
  type: 'AppendEntries', term: T, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 2, sentAt: 1234.5, lease: { at: 1234.5, incarnation: 7 }, peerIncluded: true,
  entries: [{ index: 1, term: T, cmd: { type: 'noop', at: 1 } }, { index: 2, term: T, cmd: { type: 'standby', node: 'n3', on: true } }],
});
const installSnapshot = (): Message => ({ type: 'InstallSnapshot', term: T, sentAt: 99, snapshot: { index: 10, term: T, state: structuredClone(emptyState) } });

const header = { clusterId: 'fuzz', from: 'n2', to: 'n1', sentAtMs: 0 };
const envelopeOf = (m: Message): Envelope => ({ ...header, ...toOutbound(m) }) as Envelope;
const STATE_CHANGING: [string, () => Envelope][] = [
  ['voteRequest', () => envelopeOf(voteRequest())],
  ['appendEntries', () => envelopeOf(appendEntries())],
  ['installSnapshot', () => envelopeOf(installSnapshot())],
];

interface Hostile {
  what: string;
  bytes: Uint8Array;
  via: 'member' | 'stranger' | 'direct';
  /** the reason it must be counted under; null: any inbound reason but handlerError */
  reason: InboundDropReason | null;
}

const stateChanging = fc.constantFrom(...STATE_CHANGING);
const word = fc.string({ unit: 'grapheme-ascii', maxLength: 12 });

/** A foreign cluster id, a sender other than the source member, or a recipient other than us. */
const foreign: fc.Arbitrary<Hostile> = fc.tuple(stateChanging, fc.constantFrom('clusterId', 'from', 'to'), word).map(([[what, make], field, w]) => {
  const e = make();
  const value = field === 'from' ? (w.length % 2 ? 'n3' : `n2${w}x`) : field === 'to' ? (w.length % 2 ? 'n2' : `n1${w}x`) : `fuzz${w}x`;
  const reason: InboundDropReason = field === 'clusterId' ? 'wrongCluster' : field === 'from' ? 'spoofedSender' : 'wrongRecipient';
  return { what: `${what} with ${field}=${JSON.stringify(value)}`, bytes: fast.encode({ ...e, [field]: value }), via: 'member', reason };
});

/** A perfectly good message from an address that is no member's. */
const stranger: fc.Arbitrary<Hostile> = fc.tuple(stateChanging, fc.boolean()).map(([[what, make], viaRelay]) => ({
  what: `${what} from ${viaRelay ? STRANGER_IP : '127.0.0.1'}`, bytes: fast.encode(make()), via: viaRelay ? 'stranger' : 'direct', reason: 'notMember',
}));

/** Random bytes from a member: whatever they decode to, they are refused. */
const garbage: fc.Arbitrary<Hostile> = fc.uint8Array({ maxLength: 200 }).map((b) => ({ what: `bytes ${Buffer.from(b).toString('hex')}`, bytes: b, via: 'member', reason: null }));

type Obj = Record<string, unknown>;
const CORE_KINDS = ['AppendEntries', 'AppendEntriesResponse', 'InstallSnapshot', 'Propose'];

/** A core (JSON) body damaged so that it cannot be a valid message. */
const badCore: fc.Arbitrary<Hostile> = fc
  .tuple(fc.constantFrom(appendEntries, installSnapshot), fc.constantFrom('cut', 'kind', 'type', 'delete', 'wrongType', 'term', 'command'), fc.nat(), word)
  .map(([make, how, n, w]) => {
    const msg = make() as unknown as Obj;
    const kind = msg.type as string;
    let data: Uint8Array | null = null;
    let envKind = kind;
    let envTerm = T;
    const keys = Object.keys(msg).filter((k) => k !== 'type');
    const key = keys[n % keys.length]!;
    switch (how) {
      case 'cut': {
        const text = JSON.stringify(msg);
        data = Buffer.from(text.slice(0, n % text.length)); // a strict prefix of an object's text is not JSON
        break;
      }
      case 'kind':
        envKind = CORE_KINDS.includes(w) ? `${w}x` : w;
        break;
      case 'type':
        msg.type = CORE_KINDS[(CORE_KINDS.indexOf(kind) + 1 + (n % 3)) % 4];
        break;
      case 'delete':
        delete msg[key];
        break;
      case 'wrongType':
        msg[key] = n % 2 ? `x${w}` : [n];
        break;
      case 'term':
        envTerm = T + 1 + (n % 1000);
        break;
      case 'command': {
        const entries = (msg.entries as Obj[] | undefined) ?? [];
        if (entries.length === 0) {
          msg.type = 'x';
          break;
        }
        const cmd = entries[n % entries.length]!.cmd as Obj;
        if (n % 2) cmd[`x${w}`] = 1;
        else cmd.type = `x${w}`;
        break;
      }
    }
    const e = { ...header, term: envTerm, body: 'core', core: { kind: envKind, data: data ?? Buffer.from(JSON.stringify(msg)) } } as Envelope;
    return { what: `core ${kind}: ${how} ${how === 'delete' || how === 'wrongType' ? key : ''}`, bytes: fast.encode(e), via: 'member' as const, reason: 'malformed' as const };
  });

/** A typed appendEntries or voteRequest damaged in a way its protobuf form allows. */
const badTyped: fc.Arbitrary<Hostile> = fc.tuple(fc.constantFrom('notJson', 'kind', 'command', 'bigTerm', 'noBody'), fc.nat(), word).map(([how, n, w]) => {
  const e = envelopeOf(appendEntries()) as Extract<Envelope, { body: 'appendEntries' }>;
  const entry = e.appendEntries.entries[n % 2]!;
  let bytes: Uint8Array;
  switch (how) {
    case 'notJson':
      entry.data = entry.data.subarray(0, n % entry.data.length);
      break;
    case 'kind':
      entry.kind = entry.kind === 'noop' ? (n % 2 ? 'normal' : 'config') : 'noop';
      break;
    case 'command':
      entry.data = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(entry.data).toString()), [`x${w}`]: n }));
      break;
  }
  if (how === 'bigTerm') {
    // uint64 past 2^53: read as an inexact number, refused rather than rounded to another term
    const v = envelopeOf(voteRequest());
    bytes = generic.type.encode(generic.type.fromObject({ ...v, term: `${2n ** 53n + BigInt(n % 1000) * 2n + 2n}`, voteRequest: (v as Extract<Envelope, { body: 'voteRequest' }>).voteRequest })).finish();
  } else if (how === 'noBody') {
    bytes = generic.type.encode(generic.type.fromObject({ ...header, term: T })).finish();
  } else {
    bytes = fast.encode(e);
  }
  return { what: `typed ${how}`, bytes, via: 'member' as const, reason: 'malformed' as const };
});

/** One client per source and credentials, reused across calls (a refused stream leaves its connection up). */
const clients = new Map<string, grpc.Client>();
afterAll(() => {
  for (const c of clients.values()) c.close();
});
function deliver(address: string, bytes: Uint8Array, creds?: { name: string; make: () => grpc.ChannelCredentials }): Promise<grpc.ServiceError | null> {
  const key = `${address} ${creds?.name ?? ''}`;
  let client = clients.get(key);
  if (!client) {
    const options: grpc.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1, ...(creds ? { 'grpc.ssl_target_name_override': 'n1' } : {}) };
    clients.set(key, (client = new grpc.Client(address, creds?.make() ?? grpc.credentials.createInsecure(), options)));
  }
  return new Promise((resolve) => {
    // one message on a stream of its own, then ended, as a hostile or broken peer would send it
    const call = client.makeClientStreamRequest<Buffer, Buffer>('/tsha.mesh.v1.Mesh/Stream', (b) => b, (b) => b, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err) => resolve(err));
    call.write(Buffer.from(bytes));
    call.end();
  });
}

const total = (d: Record<string, number>): number => Object.values(d).reduce((a, b) => a + b, 0);

describe('a running agent fed hostile mesh input over the real gRPC transport', () => {
  let lone: Lone;
  beforeAll(async () => {
    lone = await startLone({ self: '127.0.0.71', member: '127.0.0.72', stranger: STRANGER_IP });
  }, 30_000);
  afterAll(() => lone?.stop());

  it('refuses and counts every message under its reason; the core state does not move', async () => {
    const { agent } = lone;
    const before = coreState(agent);
    expect(JSON.parse(before)).toMatchObject({ term: 0, votedFor: null, log: [], commitIndex: 0 });
    const tally = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(foreign, stranger, garbage, badCore, badTyped), async (h) => {
        const was = await dropped(agent);
        const err = await deliver(h.via === 'member' ? lone.fromMember.address : h.via === 'stranger' ? lone.fromStranger.address : lone.direct, h.bytes);
        // a call the transport refused ends with an error; one the runtime refused was admitted (OK)
        if (h.reason !== 'malformed' || h.what === 'typed noBody') expect(err, h.what).not.toBeNull();
        const now = await dropped(agent);
        const moved = Object.keys(now).filter((r) => now[r] !== (was[r] ?? 0));
        expect(moved, h.what).toHaveLength(1);
        expect(now[moved[0]!]! - (was[moved[0]!] ?? 0), h.what).toBe(1);
        if (h.reason) expect(moved[0], h.what).toBe(h.reason);
        else expect(moved[0], h.what).not.toBe('handlerError');
        tally.set(moved[0]!, (tally.get(moved[0]!) ?? 0) + 1);
        // let anything the message might have queued run before looking
        await new Promise((r) => setTimeout(r, 2));
        expect(coreState(agent), h.what).toBe(before);
      }),
      // no shrinking: a refused message that got through leaves the agent changed for every later run
      { numRuns: 250, seed: 20261208, endOnFailure: true },
    );
    console.log(`[mesh fuzz] drops by reason: ${JSON.stringify(Object.fromEntries(tally))}`);
    for (const r of ['malformed', 'wrongCluster', 'spoofedSender', 'wrongRecipient', 'notMember'] as const) expect(tally.get(r) ?? 0, r).toBeGreaterThan(5);

    // the same message undamaged, from the member, moves the core (so the check above can fail)
    const all = total(await dropped(agent));
    expect(await deliver(lone.fromMember.address, fast.encode(envelopeOf(appendEntries())))).toBeNull();
    await eventually(() => agent.view()!.node.term === T && agent.view()!.node.log.length === 2, 'the append is taken');
    expect(coreState(agent)).not.toBe(before);
    expect(total(await dropped(agent))).toBe(all);
  }, 60_000);
});

describe('a running agent on a mutual-TLS mesh', () => {
  let pki: TestPki;
  let lone: Lone;
  beforeAll(async () => {
    pki = makeTestPki();
    lone = await startLone({ self: '127.0.0.81', member: '127.0.0.82', stranger: '127.0.0.98' }, { ca: pki.ca, ...pki.issue('n1') });
  }, 30_000);
  afterAll(async () => {
    await lone?.stop();
    pki?.cleanup();
  });

  it('refuses a certificate that names another member, and one from another CA, without moving the core', async () => {
    const { agent } = lone;
    const before = coreState(agent);
    const certOf = (name: string, rogue = false) => ({
      name: `${name}${rogue ? '-rogue' : ''}`,
      make: () => {
        const c = rogue ? pki.issueFromRogueCa(name) : pki.issue(name);
        return grpc.credentials.createSsl(pki.ca, c.key, c.cert);
      },
    });
    for (const [what, make] of STATE_CHANGING) {
      // n3's valid certificate, from n2's address, claiming to be n2
      const was = await dropped(agent);
      expect((await deliver(lone.fromMember.address, fast.encode(make()), certOf('n3')))?.code, what).toBe(grpc.status.PERMISSION_DENIED);
      expect((await dropped(agent)).badCertificate ?? 0).toBe((was.badCertificate ?? 0) + 1);
      expect(total(await dropped(agent))).toBe(total(was) + 1);
      // a certificate naming n2 from a CA the cluster does not trust: refused at the handshake, before any message
      expect((await deliver(lone.fromMember.address, fast.encode(make()), certOf('n2', true)))?.code, what).toBe(grpc.status.UNAVAILABLE);
      expect(coreState(agent), what).toBe(before);
    }
    // n2's own certificate: taken
    expect(await deliver(lone.fromMember.address, fast.encode(envelopeOf(appendEntries())), certOf('n2'))).toBeNull();
    await eventually(() => agent.view()!.node.term === T && agent.view()!.node.log.length === 2, 'the append is taken');
  }, 60_000);
});
