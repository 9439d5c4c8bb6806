// Random damage to the state directory, read back the way the agent reads it at start
// (DurableWriter.load over the real DiskStore): every damaged directory is either refused with a
// StoreCorruptError that names the file and a byte offset, or it reads back as what was really
// written: the same hard state and snapshot, and a prefix of the written log (shorter only when the
// damage took bytes away at a record boundary, or a torn last record was cut and reported). It is
// never read as different data, and load never fails with anything but StoreCorruptError.
//
// Damage: bytes flipped, a digit or letter changed (still valid JSON), a range zeroed, the file cut short, junk appended, the file removed, on
// the hard state, the snapshot or any log segment. Fixed seeds (fast-check prints the seed and the
// shrunk counterexample on failure; pass it back as `seed`/`path` to replay).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskStore, encodeBlob, type StoreContentChecks } from '../../src/adapters/disk-store.js';
import { compileOrThrow } from '../../src/config/validate.js';
import { checkCommand, type Command } from '../../src/core/cluster/commands.js';
import { initialDurable, startNode, step } from '../../src/core/cluster/node.js';
import { checkClusterState } from '../../src/core/cluster/state-check.js';
import type { CompiledConfig } from '../../src/config/types.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import type { Durable } from '../../src/core/cluster/types.js';
import { StoreCorruptError, type StoredEntry } from '../../src/ports/store.js';
import { DurableWriter } from '../../src/runtime/durable-writer.js';

const config = compileOrThrow({
  cluster: { name: 't', id: 't' },
  nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
  fencing: { enabled: false },
  resources: {},
});

const root = mkdtempSync(join(tmpdir(), 'tsha-fuzz-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A state directory as written by the real store: its files' bytes and what was written into it. */
interface Written {
  name: string;
  files: Map<string, Buffer>;
  durable: Durable;
}

const cmd = (i: number): Command =>
  [
    { type: 'standby', node: 'n2', on: i % 2 === 0 },
    { type: 'ban', resource: `r${i}`, node: 'n1', on: true, score: -1, until: null },
    { type: 'noop', at: i * 1000 },
    { type: 'cleanup', resource: 'web', node: null, operation: 'monitor' },
  ][i % 4] as Command;

async function writeShape(name: string, segmentBytes: number, withSnapshot: boolean): Promise<Written> {
  const dir = join(root, `golden-${name}`);
  const store = new DiskStore<Command, ClusterState>(dir, { segmentBytes });
  await store.load();
  await store.saveHardState({ term: 5, votedFor: 'n2', commitIndex: 0 });
  const entries: StoredEntry<Command>[] = Array.from({ length: 14 }, (_, k) => ({ index: k + 1, term: 1 + Math.floor(k / 3), cmd: cmd(k + 1) }));
  await store.append(entries.slice(0, 6));
  await store.append(entries.slice(6));
  const state = initialDurable(config).snapshot.state;
  if (withSnapshot) await store.saveSnapshot({ index: 4, term: 2, state });
  await store.close();
  const files = new Map<string, Buffer>();
  for (const f of ['hardstate', 'snapshot']) if (existsSync(join(dir, f))) files.set(f, readFileSync(join(dir, f)));
  for (const f of readdirSync(join(dir, 'log')).sort()) files.set(`log/${f}`, readFileSync(join(dir, 'log', f)));
  const snapIndex = withSnapshot ? 4 : 0;
  const durable: Durable = {
    term: 5, votedFor: 'n2',
    snapshot: withSnapshot ? { index: 4, term: 2, state } : initialDurable(config).snapshot,
    entries: entries.filter((e) => e.index > snapIndex),
  };
  return { name, files, durable };
}

type Damage =
  | { kind: 'flip'; at: number[]; mask: number[] }
  | { kind: 'zero'; from: number; length: number }
  | { kind: 'cut'; to: number }
  | { kind: 'junk'; bytes: Uint8Array }
  | { kind: 'remove' }
  /** a digit or letter replaced by another of its kind: the JSON stays valid, only a checksum sees it */
  | { kind: 'retype'; at: number; by: number };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), mask: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 4, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('zero' as const), from: fc.nat(), length: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant('cut' as const), to: fc.nat() }),
  fc.record({ kind: fc.constant('junk' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.constant({ kind: 'remove' as const }),
  fc.record({ kind: fc.constant('retype' as const), at: fc.nat(), by: fc.integer({ min: 1, max: 8 }) }),
);

/** `buf` damaged; null when the file is removed. `to`, `from` and `at` are taken modulo the size. */
function apply(buf: Buffer, d: Damage): Buffer | null {
  const b = Buffer.from(buf);
  switch (d.kind) {
    case 'flip':
      d.at.forEach((a, i) => (b[a % b.length]! ^= d.mask[i]!));
      return b;
    case 'zero': {
      const from = d.from % b.length;
      b.fill(0, from, Math.min(b.length, from + d.length));
      return b;
    }
    case 'cut':
      return b.subarray(0, d.to % b.length);
    case 'junk':
      return Buffer.concat([b, Buffer.from(d.bytes)]);
    case 'remove':
      return null;
    case 'retype': {
      const spots = [...b.keys()].filter((i) => /[0-9a-z]/.test(String.fromCharCode(b[i]!)));
      if (spots.length === 0) return b;
      const i = spots[d.at % spots.length]!;
      const c = String.fromCharCode(b[i]!);
      const set = /[0-9]/.test(c) ? '0123456789' : 'abcdefghijklmnopqrstuvwxyz';
      b[i] = set.charCodeAt((set.indexOf(c) + d.by) % set.length);
      return b;
    }
  }
}

let runs = 0;
type Loaded = { durable: Durable | null; repairs: string[] } | StoreCorruptError;

function loadDamaged(shape: Written, file: string, d: Damage): Promise<Loaded> {
  const files = new Map(shape.files);
  const out = apply(files.get(file)!, d);
  if (out) files.set(file, out);
  else files.delete(file);
  return loadFiles(files);
}

/** The files written into a fresh state directory and loaded as the agent does at start; StoreCorruptError returned. */
async function loadFiles(files: Map<string, Buffer>, opts: { config?: CompiledConfig; check?: StoreContentChecks } = {}): Promise<Loaded> {
  const dir = join(root, `run-${runs++}`);
  mkdirSync(join(dir, 'log'), { recursive: true });
  for (const [f, bytes] of files) writeFileSync(join(dir, f), bytes);
  const writer = new DurableWriter(new DiskStore<Command, ClusterState>(dir, { check: opts.check }));
  try {
    return await writer.load(opts.config ?? config);
  } catch (e) {
    if (e instanceof StoreCorruptError) return e;
    throw e;
  } finally {
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

let shapes: Written[] = [];
beforeAll(async () => {
  shapes = [await writeShape('segments-and-snapshot', 300, true), await writeShape('one-segment', 1 << 20, false)];
  // the shapes are what they claim: several segments after compaction, and one
  expect([...shapes[0]!.files.keys()].filter((f) => f.startsWith('log/')).length).toBeGreaterThan(2);
  expect([...shapes[1]!.files.keys()].filter((f) => f.startsWith('log/'))).toHaveLength(1);
});

describe('a damaged state directory', () => {
  it('is refused naming the file and a byte offset, or reads back as what was written (the log: a prefix)', async () => {
    const seen = { refused: 0, intact: 0, shorter: 0, repaired: 0 };
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), damage, async (s, f, d) => {
        const shape = shapes[s % shapes.length]!;
        const names = [...shape.files.keys()];
        const file = names[f % names.length]!;
        const r = await loadDamaged(shape, file, d);
        if (r instanceof StoreCorruptError) {
          seen.refused++;
          // the damaged file by its path (a removed segment: the hole is named by its neighbours), and where in it
          if (d.kind !== 'remove' || !file.startsWith('log/')) expect(r.message, `${file} ${d.kind}`).toContain(`/${file}`);
          if (d.kind !== 'remove') expect(r.message, `${file} ${d.kind}`).toMatch(/bytes? \d+/);
          return;
        }
        // a removed hard state is refused (the vote it held is gone); anything else that loads is what was written
        expect(r.durable, `${file} ${d.kind}`).not.toBeNull();
        const got = r.durable!;
        const want = shape.durable;
        expect({ term: got.term, votedFor: got.votedFor }).toEqual({ term: want.term, votedFor: want.votedFor });
        expect(got.snapshot).toEqual(want.snapshot);
        expect(got.entries).toEqual(want.entries.slice(0, got.entries.length));
        if (got.entries.length === want.entries.length) {
          seen.intact++;
          return;
        }
        seen.shorter++;
        // entries go missing only from the end of the log: a removed or cut last segment (at a record
        // boundary: nothing to report), or a torn last record cut off and reported
        const lastSegment = names.filter((n) => n.startsWith('log/')).at(-1);
        expect(file, `${d.kind} of ${file} lost entries ${got.entries.length + 1}..`).toBe(lastSegment);
        if (d.kind === 'flip' || d.kind === 'zero' || d.kind === 'retype' || (d.kind === 'cut' && r.repairs.length > 0)) {
          expect(r.repairs.join('\n')).toMatch(/torn last record/);
          seen.repaired++;
        }
      }),
      { numRuns: 400, seed: 20261206 },
    );
    console.log(`[state-file fuzz] ${JSON.stringify(seen)}`);
    // both outcomes occur, so neither branch of the check is vacuous
    expect(seen.refused).toBeGreaterThan(100);
    expect(seen.intact + seen.shorter).toBeGreaterThan(10);
  }, 60_000);

  it('a crash in the middle of an append (a torn or zero-filled tail of the last segment) loads every complete record and reports the cut', async () => {
    const shape = shapes[1]!;
    const [segName, seg] = [...shape.files].find(([n]) => n.startsWith('log/'))!;
    // record boundaries: the segment header, then [u32 length][u32 crc][payload]
    const ends = [8];
    while (ends.at(-1)! < seg.length) ends.push(ends.at(-1)! + 8 + seg.readUInt32BE(ends.at(-1)!));
    expect(ends.at(-1)).toBe(seg.length);
    const tear = fc.oneof(
      fc.record({ kind: fc.constant('partial' as const), n: fc.nat() }), // part of the next record reached the disk
      fc.record({ kind: fc.constant('zeros' as const), n: fc.integer({ min: 1, max: 300 }) }), // the file grew, its data did not arrive
      fc.record({ kind: fc.constant('header' as const), n: fc.integer({ min: 1, max: 300 }) }), // the header arrived, the payload did not
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: ends.length - 2 }), tear, async (j, t) => {
        const complete = seg.subarray(0, ends[j]!);
        const next = seg.subarray(ends[j]!, ends[j + 1]!);
        const tail =
          t.kind === 'partial' ? next.subarray(0, 1 + (t.n % (next.length - 1)))
            : t.kind === 'zeros' ? Buffer.alloc(t.n)
              : Buffer.concat([next.subarray(0, 8), Buffer.alloc(Math.min(t.n, next.length - 8))]);
        const files = new Map(shape.files);
        files.set(segName, Buffer.concat([complete, tail]));
        const r = await loadFiles(files);
        expect(r, r instanceof Error ? r.message : '').not.toBeInstanceOf(Error);
        if (r instanceof Error) return;
        expect(r.durable!.entries).toEqual(shape.durable.entries.slice(0, j));
        expect(r.repairs.join('\n')).toMatch(new RegExp(`cut ${tail.length} bytes of a torn last record`));
      }),
      { numRuns: 100, seed: 20261207 },
    );
  }, 60_000);

  it('content behind a valid checksum that the core could not take is refused, naming the file and byte; what loads, the core runs on', async () => {
    // one node, so a restart makes it coordinator at once: it commits and applies the whole log and
    // schedules from the state, reaching every command and the snapshot's state
    const solo = compileOrThrow({
      cluster: { name: 't', id: 't' },
      nodes: { n1: { address: '127.0.0.1:1' } },
      fencing: { enabled: false },
      resources: { web: { kind: 'systemd', params: { unit: 'nginx.service' } } },
    });
    const check = { command: checkCommand, state: checkClusterState };
    const dir = join(root, 'golden-solo');
    const store = new DiskStore<Command, ClusterState>(dir, { segmentBytes: 1 << 20, check });
    await store.load();
    await store.saveHardState({ term: 3, votedFor: 'n1', commitIndex: 0 });
    const plan = {
      actions: [{ id: 0, key: 'start web on n1', type: 'start', resource: 'web', node: 'n1', timeoutMs: 1000, reason: 'placed' }],
      edges: [], target: [{ resource: 'web', node: 'n1', role: 'started' }],
    };
    const commands: Command[] = [
      { type: 'noop', at: 1 }, { type: 'ban', resource: 'web', node: 'n1', on: true, score: -1, until: 99_000 },
      { type: 'transition', term: 3, coordinator: 'n1', plan: plan as never, inputs: 1, at: 10 },
      { type: 'results', transition: 3, results: [{ action: 0, status: 'ok', role: 'started' }], at: 20 },
      { type: 'transitionEnd', transition: 3, outcome: 'complete', reason: null },
      { type: 'observed', node: 'n1', active: { web: 'started' } }, { type: 'restarting', node: 'n1', incarnation: 4, graceMs: 5000, cause: 'stop' },
    ];
    const state = initialDurable(solo).snapshot.state;
    await store.saveSnapshot({ index: 2, term: 2, state: { ...state, transition: { id: 2, term: 2, coordinator: 'n1', plan: plan as never, inputs: 0, at: 5, results: { 0: { action: 0, status: 'ok' } }, outcome: 'complete', reason: null, endIndex: 2 } } });
    await store.append(commands.map((cmd, k) => ({ index: 3 + k, term: 3, cmd })));
    await store.close();
    const seg = readFileSync(join(dir, 'log', readdirSync(join(dir, 'log'))[0]!));
    const snap = readFileSync(join(dir, 'snapshot'));
    const hard = readFileSync(join(dir, 'hardstate'));
    const records: Buffer[] = [];
    for (let off = 8; off < seg.length; off += 8 + seg.readUInt32BE(off)) records.push(seg.subarray(off, off + 8 + seg.readUInt32BE(off)));
    const recordOf = (json: string): Buffer => {
      const payload = Buffer.from(json);
      const head = Buffer.alloc(8);
      head.writeUInt32BE(payload.length, 0);
      head.writeUInt32BE(crc32(payload), 4);
      return Buffer.concat([head, payload]);
    };

    const seen = { refused: 0, ran: 0, applied: 0 };
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), contentDamage, async (which, where, d) => {
        const target = which % (records.length + 1); // a record, or the snapshot
        const json = JSON.parse(target < records.length ? records[target]!.subarray(8).toString() : snap.subarray(16).toString()) as Json;
        const inside = target < records.length ? (json as { cmd: Json }).cmd : (json as { state: Json }).state;
        damageJson(inside, where, d);
        const files = new Map([['hardstate', hard], ['snapshot', snap], [`log/${readdirSync(join(dir, 'log'))[0]!}`, seg]]);
        const file = target < records.length ? [...files.keys()][2]! : 'snapshot';
        if (target < records.length) files.set(file, Buffer.concat([seg.subarray(0, 8), ...records.map((r, i) => (i === target ? recordOf(JSON.stringify(json)) : r))]));
        else files.set(file, Buffer.from(encodeBlob(json)));
        const r = await loadFiles(files, { config: solo, check });
        if (r instanceof StoreCorruptError) {
          seen.refused++;
          expect(r.message).toContain(`/${file}`);
          expect(r.message).toMatch(/bytes? \d+/);
          return;
        }
        seen.ran++;
        // what loaded runs: the node restarts, becomes coordinator, applies the log and schedules
        // (unless the damage took it out of the voters, say)
        const st = startNode(solo, 'n1', r.durable, 0, 1);
        for (const now of [100, 2000, 4000, 6000, 9000]) step(st, { type: 'tick', now });
        if (st.role === 'leader' && st.applied >= 2 + commands.length) seen.applied++;
      }),
      { numRuns: 400, seed: 20261210 },
    );
    console.log(`[state-file content fuzz] ${JSON.stringify(seen)}`);
    expect(seen.refused).toBeGreaterThan(50);
    expect(seen.applied).toBeGreaterThan(30);
  }, 60_000);
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const contentDamage = fc.oneof(
  fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant('delete' as const) }),
  fc.record({ kind: fc.constant('value' as const), value: fc.constantFrom<Json>(-1, 1.5, 2 ** 53, '', 'zz-unknown', [], {}, null, true) }),
);

/** Damage one place of `v` (chosen by its path's shape, list indexes left out). */
function damageJson(v: Json, where: number, d: { kind: 'json' | 'value'; value: Json } | { kind: 'delete' }): void {
  const byShape = new Map<string, { parent: Json[] | { [k: string]: Json }; key: string | number }[]>();
  const add = (shape: string, parent: Json[] | { [k: string]: Json }, key: string | number): void => {
    byShape.set(shape, [...(byShape.get(shape) ?? []), { parent, key }]);
  };
  const walk = (x: Json, shape: string): void => {
    if (Array.isArray(x)) {
      x.forEach((y, i) => {
        add(`${shape}.*`, x, i);
        walk(y, `${shape}.*`);
      });
    } else if (x !== null && typeof x === 'object') {
      for (const [k, y] of Object.entries(x)) {
        add(`${shape}.${k}`, x, k);
        walk(y, `${shape}.${k}`);
      }
    }
  };
  walk(v, '');
  const groups = [...byShape.values()];
  const group = groups[where % groups.length]!;
  const spot = group[Math.floor(where / groups.length) % group.length]!;
  if (d.kind === 'delete') {
    if (Array.isArray(spot.parent)) spot.parent.splice(spot.key as number, 1);
    else delete spot.parent[spot.key as string];
  } else (spot.parent as Record<string | number, Json>)[spot.key] = d.value;
}
