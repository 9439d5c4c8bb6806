// The runtime's `persist` path against the real DiskStore (fsync, atomic rename): whatever sequence
// of durable states the core hands over (votes, appends, a conflicting suffix replaced, snapshots
// that compact the log), reading the directory back gives exactly the last one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { Entry } from '../../src/core/cluster/messages.js';
import { initialDurable } from '../../src/core/cluster/node.js';
import { applyCommand, cloneClusterState, type ClusterState } from '../../src/core/cluster/state-machine.js';
import type { Durable } from '../../src/core/cluster/types.js';
import { DurableWriter } from '../../src/runtime/durable-writer.js';

const config = compileOrThrow({
  cluster: { name: 't', id: 't' },
  nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
  fencing: { enabled: false },
  resources: {},
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dir: string): Promise<{ w: DurableWriter; loaded: Durable | null }> {
  const w = new DurableWriter(new DiskStore<Command, ClusterState>(dir));
  const { durable } = await w.load(config);
  return { w, loaded: durable };
}

const e = (index: number, term: number, node = 'n1'): Entry => ({ index, term, cmd: { type: 'standby', node, on: index % 2 === 0 } });

describe('DurableWriter over the real DiskStore', () => {
  it('a first start loads nothing; every later state reads back exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-dw-'));
    dirs.push(dir);
    let { w, loaded } = await open(dir);
    expect(loaded).toBeNull();
    const d0 = initialDurable(config);
    const states: Durable[] = [
      { ...d0, term: 1, votedFor: 'n1' },
      { ...d0, term: 1, votedFor: 'n1', entries: [e(1, 1), e(2, 1), e(3, 1)] },
      // a new leader overwrote a conflicting suffix
      { ...d0, term: 2, votedFor: null, entries: [e(1, 1), e(2, 2, 'n2'), e(3, 2, 'n3'), e(4, 2)] },
    ];
    // a snapshot at 3 compacts the log
    const st = cloneClusterState(d0.snapshot.state);
    for (const x of states[2]!.entries.slice(0, 3)) applyCommand(st, x.cmd, x.index);
    states.push({ term: 2, votedFor: null, snapshot: { index: 3, term: 2, state: st }, entries: [e(4, 2), e(5, 2)] });
    // and the log is truncated back to the snapshot by a newer leader
    states.push({ term: 3, votedFor: 'n3', snapshot: { index: 3, term: 2, state: st }, entries: [e(4, 3, 'n2')] });
    for (const d of states) {
      await w.write(d);
      await w.close();
      ({ w, loaded } = await open(dir));
      expect(loaded).toEqual(d);
    }
    await w.close();
  });

  it('a snapshot beyond the log discards it (the snapshot supersedes it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-dw-'));
    dirs.push(dir);
    const { w } = await open(dir);
    const d0 = initialDurable(config);
    await w.write({ ...d0, term: 1, votedFor: null, entries: [e(1, 1), e(2, 1)] });
    const snap = { index: 10, term: 4, state: cloneClusterState(d0.snapshot.state) };
    const d: Durable = { term: 4, votedFor: 'n2', snapshot: snap, entries: [e(11, 4)] };
    await w.write(d);
    await w.close();
    const again = await open(dir);
    expect(again.loaded).toEqual(d);
    await again.w.close();
  });

  it('a snapshot written before some state fields existed loads with them empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-dw-'));
    dirs.push(dir);
    const full = initialDurable(config).snapshot.state;
    const { storageHistory: _s, history: _h, recovering: _r, fenceRequests: _f, outdateRequests: _o, ...older } = { ...full, standby: ['n2'] };
    const store = new DiskStore<Command, unknown>(dir);
    await store.load();
    await store.saveHardState({ term: 2, votedFor: null, commitIndex: 5 });
    await store.saveSnapshot({ index: 5, term: 2, state: older });
    await store.close();
    const { w, loaded } = await open(dir);
    expect(loaded?.snapshot.state).toEqual({ ...full, standby: ['n2'] });
    await w.close();
  });
});
