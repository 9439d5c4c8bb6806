// What the core writes, the mesh reader must read back as written: a message the reader refuses is
// dropped as malformed, so a check in src/runtime/wire.ts or src/core/cluster/state-check.ts that
// lags behind a new field or value of the core would cut a node off (a snapshot it cannot install,
// an entry it cannot append), and no unit test of the reader alone would notice. Every simulator
// scenario runs one seed here; every message it delivers that carries a log entry or a snapshot
// (the ones whose contents grow with the core), and the first few of every other type, go through
// the envelope codec and must come back equal.
import { describe, expect, it } from 'vitest';
import { envelopeCodec as codec } from '../../src/adapters/grpc/mesh-envelope.js';
import type { Message } from '../../src/core/cluster/messages.js';
import type { Input } from '../../src/core/cluster/types.js';
import type { Envelope } from '../../src/ports/mesh-messages.js';
import { fromEnvelope, toOutbound } from '../../src/runtime/wire.js';
import { Sim } from '../sim/engine.js';
import { runScenario } from '../sim/run.js';
import { scenarios } from '../sim/scenarios.js';

/** The message as the core wrote it (the simulator tags what it carries with __ fields of its own). */
function asWritten(m: Message): Message {
  return Object.fromEntries(Object.entries(structuredClone(m)).filter(([k]) => !k.startsWith('__'))) as unknown as Message;
}

function readBack(from: string, to: string, msg: Message): Message {
  const env = { clusterId: 'c', from, to, sentAtMs: 0, ...toOutbound(msg) } as Envelope;
  return fromEnvelope(codec.decode(codec.encode(env)));
}

describe('every message the simulated core sends is read back as sent', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, sc) => {
    const perType = new Map<string, number>();
    const checked = new Set<string>();
    const input = Sim.prototype.input;
    const failures: string[] = [];
    Sim.prototype.input = function (this: Sim, m, inp: Input) {
      if (inp.type === 'message') {
        const msg = asWritten(inp.msg);
        const n = perType.get(msg.type) ?? 0;
        perType.set(msg.type, n + 1);
        const carriesState = (msg.type === 'AppendEntries' && msg.entries.length > 0) || msg.type === 'InstallSnapshot';
        if (carriesState || n < 5) {
          checked.add(msg.type);
          try {
            const got = readBack(inp.from, m.name, msg);
            if (JSON.stringify(got) !== JSON.stringify(msg)) expect(got).toEqual(msg);
          } catch (e) {
            if (failures.length < 3) failures.push(`${msg.type} ${inp.from}→${m.name}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      }
      return input.call(this, m, inp);
    };
    try {
      runScenario(sc, 1);
    } finally {
      Sim.prototype.input = input;
    }
    expect(failures).toEqual([]);
    expect(checked.has('AppendEntries')).toBe(true);
  });
});
