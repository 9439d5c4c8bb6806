// Quorum maths (src/core/cluster/quorum.ts): table tests for each mode, and a property test
// against a deliberately simple reference implementation (STYLE.md practice 8).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasQuorum, quorumIndex, quorumIndexOf, quorumSize, type QuorumSpec, type Voter } from '../../../src/core/cluster/quorum.js';

const v = (...names: string[]): Voter[] => names.map((name) => ({ name, votes: 1 }));
const S = (...names: string[]) => new Set(names);

describe('hasQuorum: tables', () => {
  const three: QuorumSpec = { mode: 'majority', voters: v('a', 'b', 'c') };
  it.each([
    [[], false],
    [['a'], false],
    [['a', 'b'], true],
    [['b', 'c'], true],
    [['a', 'b', 'c'], true],
    [['a', 'x', 'y'], false], // non-voters do not count
  ])('majority of 3: %j → %s', (present, want) => {
    expect(hasQuorum(three, new Set(present))).toBe(want);
  });

  const five: QuorumSpec = { mode: 'majority', voters: v('a', 'b', 'c', 'd', 'e') };
  it.each([
    [['a', 'b'], false],
    [['a', 'b', 'c'], true],
    [['c', 'd', 'e'], true],
  ])('majority of 5: %j → %s', (present, want) => {
    expect(hasQuorum(five, new Set(present))).toBe(want);
  });

  it('weighted votes: a node with 2 votes of 4 is not a majority alone', () => {
    const w: QuorumSpec = { mode: 'majority', voters: [{ name: 'a', votes: 2 }, ...v('b', 'c')] };
    expect(hasQuorum(w, S('a'))).toBe(false);
    expect(hasQuorum(w, S('a', 'b'))).toBe(true);
    expect(hasQuorum(w, S('b', 'c'))).toBe(false); // 2 of 4 is a tie, not a majority
  });

  const withWitness: QuorumSpec = { mode: 'witness', voters: v('a', 'b', 'w') };
  it.each([
    [['a', 'b'], true],
    [['a', 'w'], true],
    [['b', 'w'], true],
    [['a'], false],
    [['w'], false],
  ])('two nodes + witness: %j → %s', (present, want) => {
    expect(hasQuorum(withWitness, new Set(present))).toBe(want);
  });

  it('two_node: wait-for-all (nobody excluded) needs both nodes', () => {
    const spec: QuorumSpec = { mode: 'two_node', voters: v('a', 'b') };
    expect(hasQuorum(spec, S('a'))).toBe(false);
    expect(hasQuorum(spec, S('b'))).toBe(false);
    expect(hasQuorum(spec, S('a', 'b'))).toBe(true);
  });

  it('two_node: once the peer is confirmed fenced, the survivor alone is quorate', () => {
    const spec: QuorumSpec = { mode: 'two_node', voters: v('a', 'b'), excluded: S('b') };
    expect(hasQuorum(spec, S('a'))).toBe(true);
    expect(hasQuorum(spec, S('b'))).toBe(false);
    expect(quorumSize(spec)).toBe(1);
  });

  it('no voters: never quorate', () => {
    expect(hasQuorum({ mode: 'majority', voters: [] }, S())).toBe(false);
    expect(hasQuorum({ mode: 'two_node', voters: v('a', 'b'), excluded: S('a', 'b') }, S('a'))).toBe(false);
  });
});

describe('quorumIndex: tables', () => {
  it.each([
    [{ a: 5, b: 3, c: 1 }, 3],
    [{ a: 5, b: 5, c: 5 }, 5],
    [{ a: 5 }, 0],
    [{ a: 7, c: 2 }, 2],
  ])('majority of 3, acked %j → %d', (acked, want) => {
    const spec: QuorumSpec = { mode: 'majority', voters: v('a', 'b', 'c') };
    expect(quorumIndex(spec, new Map(Object.entries(acked)))).toBe(want);
  });

  it('two_node: the minimum of both, or the survivor alone once the peer is fenced', () => {
    const acked = new Map([['a', 9], ['b', 4]]);
    expect(quorumIndex({ mode: 'two_node', voters: v('a', 'b') }, acked)).toBe(4);
    expect(quorumIndex({ mode: 'two_node', voters: v('a', 'b'), excluded: S('b') }, acked)).toBe(9);
  });

  it('quorumSize', () => {
    expect(quorumSize({ mode: 'majority', voters: v('a', 'b', 'c') })).toBe(2);
    expect(quorumSize({ mode: 'majority', voters: v('a', 'b', 'c', 'd') })).toBe(3);
    expect(quorumSize({ mode: 'witness', voters: v('a', 'b', 'w') })).toBe(2);
    expect(quorumSize({ mode: 'two_node', voters: v('a', 'b') })).toBe(2);
  });
});

// ---- the deliberately simple reference: enumerate, count, compare; no cleverness ----------------
function refQuorate(spec: QuorumSpec, present: Set<string>): boolean {
  if (spec.mode === 'two_node') {
    const needed = spec.voters.filter((x) => !(spec.excluded ?? new Set()).has(x.name));
    return needed.length > 0 && needed.every((x) => present.has(x.name));
  }
  let total = 0;
  let have = 0;
  for (const x of spec.voters) {
    total += x.votes;
    if (present.has(x.name)) have += x.votes;
  }
  return spec.voters.length > 0 && have * 2 > total;
}

function refIndex(spec: QuorumSpec, acked: Map<string, number>): number {
  let best = 0;
  const max = Math.max(0, ...acked.values());
  for (let n = 0; n <= max; n++) {
    const present = new Set(spec.voters.filter((x) => (acked.get(x.name) ?? 0) >= n).map((x) => x.name));
    if (refQuorate(spec, present)) best = n;
  }
  return best;
}

const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
const arbSpec: fc.Arbitrary<QuorumSpec> = fc.oneof(
  fc
    .uniqueArray(fc.constantFrom(...names), { minLength: 0, maxLength: 7 })
    .chain((ns) =>
      fc.tuple(fc.constant(ns), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: ns.length, maxLength: ns.length })),
    )
    .map(([ns, votes]) => ({ mode: 'majority' as const, voters: ns.map((name, i) => ({ name, votes: votes[i]! })) })),
  fc.constant<QuorumSpec>({ mode: 'witness', voters: v('a', 'b', 'w') }),
  fc
    .subarray(['a', 'b'])
    .map((ex) => ({ mode: 'two_node' as const, voters: v('a', 'b'), excluded: new Set(ex) })),
);
const arbPresent = fc.subarray([...names, 'w', 'x']).map((xs) => new Set(xs));
const arbAcked = fc
  .array(fc.tuple(fc.constantFrom(...names, 'w'), fc.integer({ min: 0, max: 20 })), { maxLength: 9 })
  .map((xs) => new Map(xs));

describe('quorum maths: property tests against the reference', () => {
  it('hasQuorum agrees with the reference', () => {
    fc.assert(
      fc.property(arbSpec, arbPresent, (spec, present) => {
        expect(hasQuorum(spec, present)).toBe(refQuorate(spec, present));
      }),
      { numRuns: 3000 },
    );
  });

  it('quorumIndex agrees with the reference', () => {
    fc.assert(
      fc.property(arbSpec, arbAcked, (spec, acked) => {
        expect(quorumIndex(spec, acked)).toBe(refIndex(spec, acked));
      }),
      { numRuns: 3000 },
    );
  });

  it('quorumIndexOf agrees with the reference, and gives `none` when not even all voters together are a quorum', () => {
    fc.assert(
      fc.property(arbSpec, arbAcked, (spec, acked) => {
        const all = new Set(spec.voters.map((x) => x.name));
        const want = refQuorate(spec, all) ? refIndex(spec, acked) : -1;
        expect(quorumIndexOf(spec, (name) => acked.get(name) ?? 0, -1)).toBe(want);
      }),
      { numRuns: 3000 },
    );
  });

  it('any two quorums of the same spec intersect (the property safety rests on)', () => {
    fc.assert(
      fc.property(arbSpec, arbPresent, arbPresent, (spec, p, q) => {
        if (!hasQuorum(spec, p) || !hasQuorum(spec, q)) return;
        const common = spec.voters.some((x) => x.votes > 0 && p.has(x.name) && q.has(x.name));
        expect(common).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
