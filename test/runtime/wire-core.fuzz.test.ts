// What a member may send: every value the mesh reader (src/runtime/wire.ts fromEnvelope) lets
// through must be one the core can step without throwing, on a follower and on the coordinator, and
// through the ticks after it (a throw there stops the agent: runtime/agent.ts, runStep). The rest is
// refused as MalformedMessageError, which the runtime counts and drops.
//
// The messages are real ones: recorded from a simulated cluster (test/sim/engine.ts) that elects a
// coordinator, places resources, loses the holder and snapshots often, so they carry transitions,
// results, reports and snapshots as the core writes them. Each run damages one of them at one place
// in its JSON (a random JSON value, a deleted key or element, a value of another type, an unknown
// name, an out-of-range number), sends it through the envelope codec, and steps the
// recipient's state (cloned from the end of the simulation) with it and with ticks up to 10 s later.
//
// fast-check, fixed seed: a failure prints the seed, the shrunk message and the core's error.
// TSHA_FUZZ_RUNS and TSHA_FUZZ_SEED run a longer or another search (CI: 3000 runs, the seed below).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { envelopeCodec as fast } from '../../src/adapters/grpc/mesh-envelope.js';
import type { Message } from '../../src/core/cluster/messages.js';
import { step, type NodeState } from '../../src/core/cluster/node.js';
import type { Input } from '../../src/core/cluster/types.js';
import type { Envelope } from '../../src/ports/mesh-messages.js';
import { fromEnvelope, MalformedMessageError, toOutbound } from '../../src/runtime/wire.js';
import { makeConfig } from '../sim/config.js';
import { Sim } from '../sim/engine.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface Recorded {
  from: string;
  to: string;
  msg: Message;
  /** the recipient's state just before the message arrived, and its clock then */
  state: NodeState;
  now: number;
}

const corpus: Recorded[] = [];

/** A NodeState copy to step (its configuration and options are shared: the core only reads them). */
function cloneNode(st: NodeState): NodeState {
  const { config, opts, ...rest } = st;
  return { ...structuredClone(rest), config, opts } as NodeState;
}

/** The message as the core wrote it (the simulator tags what it carries with __ fields of its own). */
function withoutSimFields(m: Message): Message {
  return Object.fromEntries(Object.entries(structuredClone(m)).filter(([k]) => !k.startsWith('__'))) as unknown as Message;
}

beforeAll(() => {
  const config = makeConfig({ nodes: 3, resources: 3 });
  const sim = new Sim({ seed: 7, config, snapshotEvery: 8 });
  const perType = new Map<string, number>();
  const commands = new Set<string>();
  const input = sim.input.bind(sim);
  sim.input = (m, inp: Input) => {
    if (inp.type === 'message' && m.core && m.power && !m.paused) {
      const n = perType.get(inp.msg.type) ?? 0;
      const newCommands = inp.msg.type === 'AppendEntries' ? inp.msg.entries.map((e) => e.cmd.type).filter((c) => !commands.has(c)) : [];
      // the first few of each type, each carrying a command type not seen yet, and one in ten
      if (n < 5 || n % 10 === 0 || newCommands.length > 0) corpus.push({ from: inp.from, to: m.name, msg: withoutSimFields(inp.msg), state: cloneNode(m.core), now: inp.now });
      for (const c of newCommands) commands.add(c);
      perType.set(inp.msg.type, n + 1);
    }
    input(m, inp);
  };
  sim.runUntil(3000);
  const holder = sim.holderOf('r0');
  if (holder) sim.powerOff(sim.machine(holder), 'fuzz corpus: lose the holder', 1500);
  sim.runUntil(9000);
  // a follower forwarding operator commands to the coordinator (the simulation issues none)
  const coordinator = sim.machine(sim.coordinator()!);
  const follower = [...sim.machines.keys()].find((n) => n !== coordinator.name)!;
  corpus.push({
    from: follower, to: coordinator.name, state: cloneNode(coordinator.core!), now: sim.local(coordinator),
    msg: {
      type: 'Propose', term: coordinator.core!.term, cmds: [
        { type: 'ban', resource: 'r1', node: follower, on: true, score: -1_000_000, until: null },
        { type: 'standby', node: follower, on: true },
        { type: 'cleanup', resource: 'r0', node: null, operation: 'monitor' },
        { type: 'fenceRequest', node: follower, on: true, action: 'reboot', by: 'root' },
        { type: 'override', resource: 'r2', targetRole: 'stopped', managed: null },
      ],
    },
  });
});


/** Every place in a JSON value: the path to it, the parent and key it is reached by. */
function places(v: Json, path: string[] = [], out: { path: string[]; parent: Json[] | { [k: string]: Json }; key: string | number }[] = []) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push({ path: [...path, String(i)], parent: v, key: i });
      places(x, [...path, String(i)], out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.push({ path: [...path, k], parent: v, key: k });
      places(x, [...path, k], out);
    }
  }
  return out;
}

const damage = fc.oneof(
  fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({
    kind: fc.constant('value' as const),
    value: fc.constantFrom<Json>(-1, 0, 1.5, 2 ** 53, 1e300, -1e300, '', 'zz-unknown', 'n1', 'r0', [], {}, null, true, false),
  }),
);

/** `msg` as a member would send it and as the reader reads it; null when it has no such encoding. */
function send(to: NodeState, from: string, msg: Message): Message | MalformedMessageError | null {
  let bytes: Uint8Array;
  try {
    bytes = fast.encode({ clusterId: 'c', from, to: to.self, sentAtMs: 0, ...toOutbound(msg) } as Envelope);
  } catch {
    // the sender's side cannot write it in this form (a string where protobuf has a number, entries
    // that are not a list …): no bytes of it reach a reader
    return null;
  }
  try {
    return fromEnvelope(fast.decode(bytes));
  } catch (e) {
    if (e instanceof MalformedMessageError) return e;
    throw e;
  }
}

describe('every message the mesh reader lets through', () => {
  it('the corpus is what it should be: each message type, with transitions, results and a snapshot', () => {
    const types = new Set(corpus.map((r) => r.msg.type));
    for (const t of ['AppendEntries', 'AppendEntriesResponse', 'InstallSnapshot', 'Propose', 'PreVoteRequest', 'VoteRequest', 'VoteResponse'] as const) {
      expect(types.has(t), `${t} in ${[...types].join(',')}`).toBe(true);
    }
    const cmds = new Set(corpus.flatMap((r) => (r.msg.type === 'AppendEntries' ? r.msg.entries.map((e) => e.cmd.type) : [])));
    for (const c of ['transition', 'results', 'transitionEnd', 'nodeDown']) expect(cmds.has(c as never), `${c} in ${[...cmds].join(',')}`).toBe(true);
    // undamaged, every recorded message is read back as itself
    for (const r of corpus) expect(send(r.state, r.from, r.msg)).toEqual(r.msg);
  });

  it('is stepped by the core without a throw on the state that received it, and through the ticks after it', () => {
    const tally = { refused: 0, stepped: 0 };
    fc.assert(
      fc.property(fc.nat(), fc.nat(), damage, (which, where, d) => {
        const r = corpus[which % corpus.length]!;
        const value = JSON.parse(JSON.stringify(r.msg)) as Json;
        // a place by its shape first (the path with list indexes left out), so that a field met once
        // (a snapshot's plan) is as likely as one of two hundred history events
        const byShape = new Map<string, ReturnType<typeof places>>();
        for (const p of places(value)) {
          if (p.path[0] === 'type') continue;
          const shape = p.path.map((k) => (/^\d+$/.test(k) ? '*' : k)).join('.');
          byShape.set(shape, [...(byShape.get(shape) ?? []), p]);
        }
        const shapes = [...byShape.values()];
        if (shapes.length === 0) return;
        const group = shapes[where % shapes.length]!;
        const spot = group[Math.floor(where / shapes.length) % group.length]!;
        if (d.kind === 'delete') {
          if (Array.isArray(spot.parent)) spot.parent.splice(spot.key as number, 1);
          else delete spot.parent[spot.key as string];
        } else {
          (spot.parent as Record<string | number, Json>)[spot.key] = d.value;
        }
        const got = send(r.state, r.from, value as unknown as Message);
        if (got === null) return;
        if (got instanceof MalformedMessageError) {
          tally.refused++;
          return;
        }
        tally.stepped++;
        const what = `${r.msg.type} ${r.from}→${r.to} with ${spot.path.join('.')} ${d.kind} ${JSON.stringify(d.kind === 'delete' ? null : d.value)}`;
        const st = cloneNode(r.state);
        const now = r.now;
        for (const input of [
          { type: 'message', from: r.from, msg: got, now: now + 1 },
          { type: 'tick', now: now + 50 },
          { type: 'tick', now: now + 600 },
          { type: 'tick', now: now + 3000 },
          { type: 'tick', now: now + 10_000 },
        ] as Input[]) {
          try {
            step(st, input);
          } catch (e) {
            throw new Error(`${what}: the core threw at ${input.type} ${input.now}: ${e instanceof Error ? e.stack : String(e)}`);
          }
        }
      }),
      { numRuns: Number(process.env.TSHA_FUZZ_RUNS ?? 3000), seed: Number(process.env.TSHA_FUZZ_SEED ?? 20261209) },
    );
    console.log(`[wire-core fuzz] corpus ${corpus.length} messages; ${JSON.stringify(tally)}`);
    expect(tally.stepped).toBeGreaterThan(100);
    expect(tally.refused).toBeGreaterThan(100);
  }, 60_000);
});
