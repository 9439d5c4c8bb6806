// The core's messages on the mesh envelope, through the agent's codec and through protobufjs
// reading mesh.proto: every message type survives the round trip exactly, each in its one body, and
// what the core must not see is refused as malformed.
import { describe, expect, it } from 'vitest';
import { envelopeCodec } from '../../src/adapters/grpc/mesh-envelope.js';
import { codec } from '../../src/adapters/grpc/proto.js';
import type { Message } from '../../src/core/cluster/messages.js';
import { initialClusterState } from '../../src/core/cluster/state-machine.js';
import { encodeJson, MESH_TYPES, type Envelope } from '../../src/ports/mesh-messages.js';
import { fromEnvelope, MalformedMessageError, toOutbound, WIRE_BODIES } from '../../src/runtime/wire.js';

const generic = codec<Envelope>(MESH_TYPES.envelope);

function viaWire(msg: Message, c: { encode(e: Envelope): Uint8Array; decode(b: Uint8Array): Envelope }): Message {
  const envelope = { clusterId: 'c', from: 'n2', to: 'n1', sentAtMs: 5, ...toOutbound(msg) } as Envelope;
  return fromEnvelope(c.decode(c.encode(envelope)));
}

const samples: Message[] = [
  { type: 'PreVoteRequest', term: 4, lastLogIndex: 10, lastLogTerm: 3 },
  { type: 'PreVoteResponse', term: 4, granted: true },
  { type: 'VoteRequest', term: 5, lastLogIndex: 10, lastLogTerm: 3 },
  { type: 'VoteResponse', term: 5, granted: false },
  {
    type: 'AppendEntries', term: 5, prevLogIndex: 9, prevLogTerm: 3, leaderCommit: 9, sentAt: 1234.5, lease: { at: 99.25, incarnation: 7 }, peerIncluded: true,
    entries: [
      { index: 10, term: 5, cmd: { type: 'noop' } },
      { index: 11, term: 5, cmd: { type: 'ban', resource: 'web', node: 'n2', on: true, score: 1_000_000, until: null } },
      { index: 12, term: 5, cmd: { type: 'nodeDown', node: 'n3', cause: 'fenced', term: 5 } },
    ],
  },
  { type: 'AppendEntriesResponse', term: 5, success: true, matchIndex: 12, echo: 1234.5, nodeTime: 77.5, incarnation: 3, report: { applied: 12, active: ['web'], promoted: [], failed: [], busy: false, run: null, failures: [] } },
  { type: 'AppendEntriesResponse', term: 5, success: false, matchIndex: 0, echo: 1, nodeTime: 2, incarnation: 3, report: null },
  { type: 'InstallSnapshot', term: 6, sentAt: 10, snapshot: { index: 40, term: 5, state: initialClusterState(['n1', 'n2', 'n3']) } },
  { type: 'Propose', term: 6, cmds: [{ type: 'ban', resource: 'web', node: 'n1', on: true }, { type: 'standby', node: 'n2', on: false }] },
  { type: 'Propose', term: 6, cmds: [{ type: 'restarting', node: 'n2', incarnation: 123456, graceMs: 10000, cause: 'stop' }] },
  { type: 'Propose', term: 6, cmds: [{ type: 'restarting', node: 'n3', incarnation: -1, graceMs: 5000, cause: 'crash' }] },
  {
    type: 'InstallSnapshot', term: 6, sentAt: 10,
    snapshot: { index: 41, term: 6, state: { ...initialClusterState(['n1', 'n2', 'n3']), restarting: { n2: { incarnation: 5, graceMs: 10000, index: 41, cause: 'stop' } } } },
  },
  {
    type: 'AppendEntriesResponse', term: 5, success: true, matchIndex: 12, echo: 1, nodeTime: 2, incarnation: 3,
    report: {
      applied: 12, active: ['db:0', 'web'], promoted: ['db:0'], failed: ['web'], busy: true,
      run: { transition: 11, results: [{ action: 0, status: 'ok' }, { action: 2, status: 'errorHard', exitCode: 5, reason: 'not installed' }] },
      failures: [{ seq: 3, resource: 'web', operation: 'monitor', intervalMs: 10_000, status: 'error', exitCode: 7, reason: 'not running' }],
    },
  },
  // how the member sees the witness: heard, and never heard since its start
  { type: 'AppendEntriesResponse', term: 5, success: true, matchIndex: 12, echo: 1, nodeTime: 2, incarnation: 3, report: { applied: 12, active: [], promoted: [], failed: [], busy: false, run: null, failures: [], witness: { reachable: true, lastContactAgeMs: 40, term: 5 } } },
  { type: 'AppendEntriesResponse', term: 5, success: true, matchIndex: 12, echo: 1, nodeTime: 2, incarnation: 3, report: { applied: 12, active: [], promoted: [], failed: [], busy: false, run: null, failures: [], witness: { reachable: false, lastContactAgeMs: null, term: 0 } } },
  // the coordinator's own view of the witness, sent to its members
  { type: 'AppendEntries', term: 5, prevLogIndex: 9, prevLogTerm: 3, leaderCommit: 9, sentAt: 12.5, lease: null, peerIncluded: false, entries: [], witness: { reachable: false, lastContactAgeMs: 730, term: 5 } },
];

describe('wire: core messages ↔ mesh envelope', () => {
  for (const m of samples) {
    it(`${m.type} survives the round trip in its body (${WIRE_BODIES[m.type]}), through the agent's codec and protobufjs`, () => {
      expect(toOutbound(m).body).toBe(WIRE_BODIES[m.type]);
      expect(viaWire(m, envelopeCodec)).toEqual(m);
      expect(viaWire(m, generic)).toEqual(m);
    });
  }

  it('has a sample of every core message type, and gives each log entry its kind', () => {
    expect(new Set(samples.map((m) => m.type))).toEqual(new Set(Object.keys(WIRE_BODIES)));
    const ae = samples.find((m) => m.type === 'AppendEntries')!;
    const entries = toOutbound(ae);
    expect(entries.body === 'appendEntries' && entries.appendEntries.entries.map((e) => e.kind)).toEqual(['noop', 'normal', 'normal']);
  });

  const base = { clusterId: 'c', from: 'n2', to: 'n1', sentAtMs: 1, term: 3 };
  const bad = (e: Partial<Envelope> & Record<string, unknown>): (() => Message) => () => fromEnvelope({ ...base, ...e } as Envelope);

  it('refuses core payloads that are not JSON, of an unknown kind, or of the wrong shape', () => {
    const core = (kind: string, data: unknown) => ({ body: 'core' as const, core: { kind, data: typeof data === 'string' ? new TextEncoder().encode(data) : encodeJson(data) } });
    expect(bad(core('Propose', '{not json'))).toThrow(MalformedMessageError);
    expect(bad(core('Shutdown', { type: 'Shutdown', term: 3 }))).toThrow(/unknown kind/);
    // the messages with bodies of their own travel only in those
    expect(bad(core('AppendEntries', { type: 'AppendEntries', term: 3, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 0, sentAt: 0, lease: null, peerIncluded: false, entries: [] }))).toThrow(/unknown kind "AppendEntries"/);
    expect(bad(core('toString', { type: 'toString', term: 3 }))).toThrow(/unknown kind/);
    expect(bad(core('Propose', { type: 'Propose', term: 3, cmds: [{ type: 'rm -rf' }] }))).toThrow(/bad command/);
    expect(bad(core('Propose', { type: 'VoteRequest', term: 3 }))).toThrow(/is not the kind/);
    expect(bad(core('Propose', { type: 'Propose', term: 4, cmds: [] }))).toThrow(/differs from the envelope/);
    expect(bad(core('InstallSnapshot', { type: 'InstallSnapshot', term: 3, sentAt: 1, snapshot: { index: 1, term: 1, state: { voters: 'n1' } } }))).toThrow(/state.voters/);
    expect(bad(core('Propose', { type: 'Propose', term: 3, cmds: [{ type: 'restarting', node: 'n2', incarnation: 1, graceMs: -5 }] }))).toThrow(/restarting: bad/);
    expect(bad(core('Propose', { type: 'Propose', term: 3, cmds: [{ type: 'restarting', node: 'n2', incarnation: 1, graceMs: 5, cause: 'oops' }] }))).toThrow(/restarting: bad/);
    const st = { ...initialClusterState(['n1']), restarting: { n1: { incarnation: 1, graceMs: 'long', index: 1 } } };
    expect(bad(core('InstallSnapshot', { type: 'InstallSnapshot', term: 3, sentAt: 1, snapshot: { index: 1, term: 1, state: st } }))).toThrow(/state.restarting.n1/);
  });

  it('completes a snapshot state sent by an agent that predates some of its fields', () => {
    const full = initialClusterState(['n1', 'n2']);
    const { history: _h, fenceRequests: _f, outdateRequests: _o, ...older } = full;
    const data = encodeJson({ type: 'InstallSnapshot', term: 3, sentAt: 1, snapshot: { index: 1, term: 1, state: older } });
    const m = fromEnvelope({ ...base, body: 'core', core: { kind: 'InstallSnapshot', data } } as Envelope);
    expect(m.type === 'InstallSnapshot' && m.snapshot.state).toEqual(full);
  });

  it('refuses a snapshot whose state is of the wrong shape anywhere in it (the core would throw applying or scheduling from it)', () => {
    // found by test/runtime/wire-core.fuzz.test.ts: a transition's plan that is not a plan stopped the core with a TypeError
    const transition = {
      id: 7, term: 3, coordinator: 'n1', inputs: 2, at: 100, results: {}, outcome: 'running', reason: null, endIndex: null,
      plan: { actions: [{ id: 0, key: 'start web on n1', type: 'start', resource: 'web', node: 'n1', timeoutMs: 1000, reason: 'placed' }], edges: [], target: [{ resource: 'web', node: 'n1', role: 'started' }] },
    };
    const snapshot = (over: Record<string, unknown>) => ({ type: 'InstallSnapshot', term: 3, sentAt: 1, snapshot: { index: 9, term: 3, state: { ...initialClusterState(['n1', 'n2']), transition, ...over } } });
    const core = (data: unknown) => ({ body: 'core' as const, core: { kind: 'InstallSnapshot', data: encodeJson(data) } });
    expect(viaWire(snapshot({}) as Message, envelopeCodec)).toEqual(snapshot({}));
    expect(bad(core(snapshot({ transition: { ...transition, plan: { ...transition.plan, actions: -1 } } })))).toThrow(/state.transition/);
    expect(bad(core(snapshot({ transition: { ...transition, plan: { ...transition.plan, edges: [{ after: 0 }] } } })))).toThrow(/state.transition/);
    expect(bad(core(snapshot({ transition: { ...transition, results: { 0: { action: 0, status: 'fine' } } } })))).toThrow(/state.transition/);
    expect(bad(core(snapshot({ bans: [{ resource: 'web', node: 'n1', score: -1, until: null }, 5] })))).toThrow(/state.bans\[1\]/);
    expect(bad(core(snapshot({ active: { n1: { web: 'running' } } })))).toThrow(/state.active.n1/);
    expect(bad(core(snapshot({ history: [{ at: 1, index: 1, kind: 'standby' }] })))).toThrow(/state.history\[0\]/);
    expect(bad(core(snapshot({ fenceRequests: { n2: { action: 'explode', by: 'root', index: 1, at: 1 } } })))).toThrow(/state.fenceRequests.n2/);
    expect(bad(core(snapshot({ extra: 1 })))).toThrow(/unknown field extra/);
  });

  it('refuses a transition whose actions lack what the core reads of them (a start without its reason stopped the core applying it)', () => {
    // found by test/adapters/disk-store.fuzz.test.ts: the entry passed the command check and the core threw applying it
    const action = { id: 0, key: 'start web on n1', type: 'start', resource: 'web', node: 'n1', timeoutMs: 1000, reason: 'placed' };
    const transition = (a: Record<string, unknown>) => ({ type: 'transition', term: 3, coordinator: 'n1', inputs: 1, at: 10, plan: { actions: [a], edges: [], target: [] } });
    const append = (cmd: unknown) => () =>
      viaWire({ type: 'AppendEntries', term: 3, prevLogIndex: 0, prevLogTerm: 0, leaderCommit: 1, sentAt: 0, lease: null, peerIncluded: false, entries: [{ index: 1, term: 3, cmd }] } as unknown as Message, envelopeCodec);
    expect(append(transition(action))).not.toThrow();
    const { reason: _, ...noReason } = action;
    expect(append(transition(noReason))).toThrow(/transition: bad plan/);
    expect(append(transition({ ...action, type: 'explode' }))).toThrow(/transition: bad plan/);
    expect(append(transition({ ...action, type: 'fence', devices: 'ipmi' }))).toThrow(/transition: bad plan/);
  });

  it('refuses typed append bodies of the wrong shape', () => {
    const ae = { prevLogTerm: 1, prevLogIndex: 1, entries: [], leaderCommit: 1, sentAtMs: 5, lease: null, peerIncluded: false, witness: null };
    const entry = (data: string, kind = 'normal') => ({ term: 1, index: 2, data: new TextEncoder().encode(data), kind });
    const typedAe = (over: Record<string, unknown>) => ({ body: 'appendEntries' as const, appendEntries: { ...ae, ...over } });
    expect(bad(typedAe({}))).not.toThrow();
    expect(bad(typedAe({ sentAtMs: Number.NaN }))).toThrow(/bad header fields/);
    expect(bad(typedAe({ lease: { atMs: Infinity, incarnation: 1 } }))).toThrow(/bad lease/);
    expect(bad(typedAe({ witness: { reachable: true, heard: true, lastContactAgeMs: -1, term: 2 } }))).toThrow(/bad witness/);
    expect(bad(typedAe({ entries: [entry('{nope')] }))).toThrow(/entry 2 is not JSON/);
    expect(bad(typedAe({ entries: [entry('{"type":"rm -rf"}')] }))).toThrow(/entry 2: bad command/);
    expect(bad(typedAe({ entries: [entry('{"type":"noop"}', 'normal')] }))).toThrow(/kind normal for a noop command/);
    const aer = { success: true, matchIndex: 1, echoMs: 1, nodeTimeMs: 2, incarnation: 3, report: null };
    const typedAer = (over: Record<string, unknown>) => ({ body: 'appendEntriesResponse' as const, appendEntriesResponse: { ...aer, ...over } });
    expect(bad(typedAer({}))).not.toThrow();
    expect(bad(typedAer({ echoMs: Number.NaN }))).toThrow(/bad fields/);
    expect(bad(typedAer({ report: { applied: 1, active: [7], promoted: [], failed: [], busy: false, run: null, failures: [] } }))).toThrow(/bad report/);
    expect(bad(typedAer({ report: { applied: 1, active: [], promoted: [], failed: [], busy: false, run: null, failures: [{ seq: -1, resource: 'web', operation: 'monitor', intervalMs: 0, status: 'error', exitCode: 1, reason: '' }] } }))).toThrow(/bad report failure/);
    expect(bad(typedAer({ report: { applied: 1, active: [], promoted: [], failed: [], busy: false, run: { transition: 3, results: [{ action: 0, status: 'fine', exitCode: -1, reason: '' }] }, failures: [] } }))).toThrow(/bad report run result/);
  });

  it('refuses envelope bodies the core does not use and bad terms', () => {
    expect(bad({ body: 'leaseAck', leaseAck: { seq: 1, granted: true, remainingMs: 1 } } as never)).toThrow(/not one this agent reads/);
    expect(bad({ term: -1, body: 'voteResponse', voteResponse: { granted: true } } as never)).toThrow(/term/);
  });
});
