// The runtime when the state directory refuses writes (full disk): the real DiskStore, whose I/O
// hook fails every write step with ENOSPC while `full` is set (the tmpfs test in
// test/adapters/disk-store-full.test.ts shows the real ENOSPC takes the same path). The network is a
// recording stand-in for the mesh transport, as in agent-runtime.test.ts.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore, decodeBlob } from '../../src/adapters/disk-store.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import type { Envelope, MessageHandler, OutboundMessage, SendOutcome, Transport, TransportStats } from '../../src/ports/transport.js';
import type { AppendEntries, AppendEntriesResponse } from '../../src/core/cluster/messages.js';
import { Agent, STORAGE_RETRY_MS } from '../../src/runtime/agent.js';
import { fromEnvelope, toOutbound } from '../../src/runtime/wire.js';
import { buildClusterStatus } from '../../src/runtime/control-handlers.js';
import { NullNotifier } from '../../src/runtime/notifier.js';

const config = compileOrThrow({
  cluster: { name: 't', id: 't' },
  nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
  fencing: { enabled: false },
  resources: {},
});

class RecordingTransport implements Transport {
  handler: MessageHandler | null = null;
  readonly sent: { to: string; m: OutboundMessage }[] = [];
  start(): Promise<{ port: number }> {
    return Promise.resolve({ port: 0 });
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  send(to: string, m: OutboundMessage): Promise<SendOutcome> {
    this.sent.push({ to, m });
    return Promise.resolve({ ok: true });
  }
  onMessage(h: MessageHandler): void {
    this.handler = h;
  }
  stats(): TransportStats {
    return { received: 0, sent: 0, dropped: {} as TransportStats['dropped'], sendFailed: {} as TransportStats['sendFailed'], peers: {} };
  }
  deliver(e: { from: string } & OutboundMessage): void {
    this.handler!({ clusterId: 't', to: 'n1', sentAtMs: 0, ...e } as Envelope);
  }
  /** the AppendEntries responses n1 sent, decoded as the core wrote them */
  acks(): AppendEntriesResponse[] {
    return this.sent.flatMap(({ m }) => {
      if (m.body !== 'appendEntriesResponse') return [];
      return [fromEnvelope({ clusterId: 't', from: 'n1', to: 'n2', sentAtMs: 0, ...m } as Envelope) as AppendEntriesResponse];
    });
  }
  votes(): { to: string; term: number; granted: boolean }[] {
    return this.sent.flatMap(({ to, m }) => (m.body === 'voteResponse' ? [{ to, term: m.term, granted: m.voteResponse.granted }] : []));
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, dest), lines };
}

const waitFor = async (pred: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!pred() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
  expect(pred()).toBe(true);
};

describe('agent runtime: the state directory refuses writes', () => {
  it('grants no vote on an unwritten term, says ENOSPC and the file, stays up (no exit), and recovers when space is freed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-full-'));
    dirs.push(dir);
    let full = false;
    const failed: string[] = [];
    const store = new DiskStore<Command, ClusterState>(dir, {
      ioHook: (p) => {
        if (!full) return;
        failed.push(`${p.op} ${p.step}`);
        throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
      },
    });
    const transport = new RecordingTransport();
    const { logger, lines } = capture();
    const notifier = new NullNotifier();
    const agent = new Agent({
      config, self: 'n1', logger, store, transport, resourceAgents: new Map(), fencer: null,
      selfFence: { kind: 'exit' }, notifier, joinTimeoutMs: 300, seed: 1, metricsAddress: null,
    });
    await agent.start();
    const metric = async (name: string): Promise<string> => (await agent.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(name)) ?? '';
    expect(await metric('tsha_state_dir_writable')).toBe('tsha_state_dir_writable 1');

    // no coordinator heard for an election timeout (n1 asks for pre-votes): n1 may vote
    await waitFor(() => transport.sent.some((x) => x.m.body === 'preVoteRequest'));
    // the disk fills up; n2 asks for n1's vote in term 7: granting it needs term 7 and the vote on disk
    full = true;
    transport.deliver({ from: 'n2', term: 7, body: 'voteRequest', voteRequest: { lastLogTerm: 0, lastLogIndex: 0 } });
    await waitFor(() => agent.storage.fault !== null);
    expect(failed[0]).toBe('hardstate write');
    // nothing of that step left: no vote response at all (nor anything else) after the failure
    const sentAtFault = transport.sent.length;
    expect(transport.votes()).toEqual([]);
    const err = lines.find((l) => l.code === 'ENOSPC');
    expect(err?.msg).toMatch(/state directory refuses writes: stalled/);
    expect(err?.file).toBe(join(dir, 'hardstate'));
    expect(await metric('tsha_state_dir_writable')).toBe('tsha_state_dir_writable 0');
    expect(await metric('tsha_state_write_failures_total{code="ENOSPC"}')).toMatch(/ [1-9]/);
    // it stays up, healthy for systemd (not a hang to restart), refuses operator commands with the cause
    await new Promise((r) => setTimeout(r, 2.5 * STORAGE_RETRY_MS));
    expect(agent.fatalError).toBeNull();
    expect(agent.lifecycle.is('stopping', 'stopped')).toBe(false);
    expect(agent.healthy().ok).toBe(true);
    expect(buildClusterStatus(agent).stateDirFault).toMatch(new RegExp(`^ENOSPC on ${join(dir, 'hardstate')} \\(write\\) for \\d+ s: stalled, retrying$`));
    expect(agent.storage.fault?.retries).toBeGreaterThanOrEqual(1);
    await expect(agent.command({ type: 'standby', node: 'n1', on: true } as never)).rejects.toThrow(/ENOSPC on .*hardstate/);
    // still full: a second candidate's request is not answered either
    transport.deliver({ from: 'n3', term: 7, body: 'voteRequest', voteRequest: { lastLogTerm: 0, lastLogIndex: 0 } });
    await new Promise((r) => setTimeout(r, 100));
    expect(transport.sent.length).toBe(sentAtFault);
    // the disk still holds what it held before the fault: nothing (a first start), no temp file left
    expect(readdirSync(dir).sort()).toEqual(['LOCK', 'log']);

    // space freed: the write goes through at the next retry, the core restarts from it
    full = false;
    await waitFor(() => agent.storage.fault === null, 3 * STORAGE_RETRY_MS);
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('state directory takes writes again'))).toBe(true);
    expect(await metric('tsha_state_dir_writable')).toBe('tsha_state_dir_writable 1');
    expect(buildClusterStatus(agent).stateDirFault).toBe('');
    expect(decodeBlob('hardstate', readFileSync(join(dir, 'hardstate')))).toMatchObject({ term: 7, votedFor: 'n2' });
    // its vote in term 7 is n2's, on disk before any answer: n3 is refused, n2 (asking again) granted
    transport.deliver({ from: 'n3', term: 7, body: 'voteRequest', voteRequest: { lastLogTerm: 0, lastLogIndex: 0 } });
    transport.deliver({ from: 'n2', term: 7, body: 'voteRequest', voteRequest: { lastLogTerm: 0, lastLogIndex: 0 } });
    await waitFor(() => transport.votes().length >= 2);
    expect(transport.votes()).toEqual([
      { to: 'n3', term: 7, granted: false },
      { to: 'n2', term: 7, granted: true },
    ]);

    // n2 leads term 7. A heartbeat: acknowledged, with n1's incarnation (for the lease grant)
    const append = (over: Partial<AppendEntries>): void => transport.deliver({
      from: 'n2',
      ...toOutbound({ type: 'AppendEntries', term: 7, prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, sentAt: 1, lease: null, peerIncluded: true, ...over }),
    });
    append({});
    await waitFor(() => transport.acks().length === 1);
    const incarnation = transport.acks()[0]!.incarnation;
    expect(transport.acks()[0]).toMatchObject({ success: true, matchIndex: 0 });
    // the disk fills again; an entry arrives with a lease grant: neither acknowledged nor honoured
    full = true;
    const leaseAt = performance.now();
    append({ entries: [{ index: 1, term: 7, cmd: { type: 'noop' } }], leaderCommit: 1, sentAt: 2, lease: { at: leaseAt, incarnation } });
    await waitFor(() => agent.storage.fault !== null);
    expect(agent.storage.fault?.file).toBe(join(dir, 'log', `${'1'.padStart(20, '0')}.seg`));
    await new Promise((r) => setTimeout(r, 300));
    expect(transport.acks()).toHaveLength(1);
    full = false;
    await waitFor(() => agent.storage.fault === null, 3 * STORAGE_RETRY_MS);
    // restarted from the disk: the entry is there, but the lease of that step was never granted to
    // this incarnation (a new one: the coordinator must grant again, to an acknowledged state)
    const node = agent.view()!.node;
    expect(node.log.map((e) => e.index)).toEqual([1]);
    expect(node.leaseHeld).toBe(false);
    expect(node.incarnation).not.toBe(incarnation);
    await agent.stop('test over');
    expect(agent.fatalError).toBeNull();
  }, 30_000);
});
