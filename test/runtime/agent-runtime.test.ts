// The runtime shell in-process, with the real DiskStore underneath. The network is a recording
// stand-in for the mesh transport (this test is about the order in which the runtime hands things
// over, which no real transport can observe); the real gRPC mesh is covered by test/agent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import { AgentMetrics, serveMetrics } from '../../src/observability/metrics.js';
import type { Envelope, MessageHandler, OutboundMessage, SendOutcome, Transport, TransportStats } from '../../src/ports/transport.js';
import type { HardState, StoredEntry, StoredSnapshot } from '../../src/ports/store.js';
import { Agent, configDigest } from '../../src/runtime/agent.js';
import { NullNotifier } from '../../src/runtime/notifier.js';

const config = compileOrThrow({
  cluster: { name: 't', id: 't' },
  nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
  fencing: { enabled: false },
  resources: {},
});

class RecordingTransport implements Transport {
  handler: MessageHandler | null = null;
  constructor(private readonly events: string[]) {}
  start(): Promise<{ port: number }> {
    return Promise.resolve({ port: 0 });
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  send(to: string, m: OutboundMessage): Promise<SendOutcome> {
    this.events.push(`send ${m.body === 'core' ? m.core.kind : m.body} → ${to} @${m.term}`);
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
}

/** The real DiskStore, slowed down and recorded: a send must never overtake a pending write. */
class SlowRecordingStore extends DiskStore<Command, ClusterState> {
  constructor(dir: string, private readonly events: string[]) {
    super(dir);
  }
  private async slow<T>(what: string, f: () => Promise<T>): Promise<T> {
    this.events.push(`persist ${what} start`);
    await new Promise((r) => setTimeout(r, 40));
    const v = await f();
    this.events.push(`persist ${what} done`);
    return v;
  }
  override saveHardState(hs: HardState): Promise<void> {
    return this.slow(`term=${hs.term} vote=${hs.votedFor}`, () => super.saveHardState(hs));
  }
  override append(entries: StoredEntry<Command>[]): Promise<void> {
    return this.slow(`append ${entries.length}`, () => super.append(entries));
  }
  override saveSnapshot(s: StoredSnapshot<ClusterState>): Promise<void> {
    return this.slow('snapshot', () => super.saveSnapshot(s));
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

describe('agent runtime', () => {
  it('persists the term and vote (fsync) before handing the vote request to the transport', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-rt-'));
    dirs.push(dir);
    const events: string[] = [];
    const transport = new RecordingTransport(events);
    const { logger, lines } = capture();
    const notifier = new NullNotifier();
    const agent = new Agent({
      config, self: 'n1', logger, store: new SlowRecordingStore(dir, events), transport, resourceAgents: new Map(), fencer: null,
      selfFence: { kind: 'exit' }, notifier, joinTimeoutMs: 300, seed: 1,
    });
    await agent.start();
    // wait for the pre-vote, then grant it: the node becomes a candidate (term 1, votes for itself)
    for (let i = 0; i < 100 && !events.some((e) => e.startsWith('send preVoteRequest')); i++) await new Promise((r) => setTimeout(r, 20));
    expect(events.some((e) => e.startsWith('send preVoteRequest'))).toBe(true);
    transport.deliver({ from: 'n2', term: 1, body: 'preVoteResponse', preVoteResponse: { granted: true } });
    for (let i = 0; i < 100 && !events.some((e) => e.startsWith('send voteRequest')); i++) await new Promise((r) => setTimeout(r, 20));
    const persistDone = events.indexOf('persist term=1 vote=n1 done');
    const firstVoteRequest = events.findIndex((e) => e.startsWith('send voteRequest'));
    expect(persistDone).toBeGreaterThanOrEqual(0);
    expect(firstVoteRequest).toBeGreaterThan(persistDone);
    // and no send at all happened while that write was in flight
    const start = events.indexOf('persist term=1 vote=n1 start');
    expect(events.slice(start, persistDone).filter((e) => e.startsWith('send'))).toEqual([]);

    // not quorate alone: READY=1 after the join timeout, saying so
    for (let i = 0; i < 50 && !agent.lifecycle.is('running'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(agent.lifecycle.state).toBe('running');
    const ready = notifier.sent.find((f) => f.READY === '1');
    expect(ready?.STATUS).toMatch(/NOT quorate.*not quorate after the join timeout/);

    // a malformed message is dropped and counted, never stepped
    transport.deliver({ from: 'n2', term: 1, body: 'core', core: { kind: 'Propose', data: new TextEncoder().encode('{') } });
    expect(await agent.metrics.text()).toMatch(/tsha_messages_dropped_total\{reason="malformed"\} 1/);

    await agent.stop('test over');
    expect(agent.lifecycle.state).toBe('stopped');
    const transitions = lines.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('daemon '));
    expect(transitions.map((l) => `${String(l.from)}→${String(l.to)}`)).toEqual(['starting→joining', 'joining→running', 'running→stopping', 'stopping→stopped']);
    for (const t of transitions) expect(t).toMatchObject({ node: 'n1', term: expect.any(Number), cause: expect.any(String) });
  }, 30_000);

  it('reports a stalled event loop as unhealthy (WATCHDOG=1 withheld), also a stall between two housekeeping runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-rt-'));
    dirs.push(dir);
    const agent = new Agent({
      config, self: 'n1', logger: capture().logger, store: new DiskStore(dir), transport: new RecordingTransport([]), resourceAgents: new Map(), fencer: null,
      selfFence: { kind: 'exit' }, notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1,
    });
    await agent.start();
    const t0 = performance.now(); // the 2 s housekeeping timer was armed just before
    try {
      while (performance.now() - t0 < 2300) await new Promise((r) => setTimeout(r, 50));
      expect(agent.healthy()).toEqual({ ok: true, why: '' });
      // 1.5 s stall starting after the housekeeping run at ~2 s, over before the one at ~4 s: that
      // one fires on time, only the tick timer (due every half heartbeat here) sees the stall
      const stallFrom = performance.now();
      while (performance.now() - stallFrom < 1500) {
        // busy: nothing else runs
      }
      let seen: { ok: boolean; why: string } | null = null;
      while (performance.now() - t0 < 6500 && !seen) {
        const h = agent.healthy();
        if (!h.ok) seen = h;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen?.why).toMatch(/^event loop lag 1[3-9]\d\d ms$/);
    } finally {
      await agent.stop('test over');
    }
  });

  it('measures process metrics and step durations only when a metrics endpoint is served', async () => {
    const texts: string[] = [];
    // port 0: any free one (the test reads the registry, not the endpoint)
    for (const metricsAddress of [null, '127.0.0.1:0']) {
      const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-rt-'));
      dirs.push(dir);
      const events: string[] = [];
      const agent = new Agent({
        config, self: 'n1', logger: capture().logger, store: new DiskStore(dir), transport: new RecordingTransport(events), resourceAgents: new Map(), fencer: null,
        selfFence: { kind: 'exit' }, notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1, metricsAddress,
      });
      await agent.start();
      try {
        // steps ran: ticks, and the pre-vote they sent
        for (let i = 0; i < 100 && !events.some((e) => e.startsWith('send preVoteRequest')); i++) await new Promise((r) => setTimeout(r, 20));
        expect(events.some((e) => e.startsWith('send preVoteRequest'))).toBe(true);
        texts.push(await agent.metrics.text());
      } finally {
        await agent.stop('test over');
      }
    }
    const [off, on] = texts as [string, string];
    expect(off).toMatch(/^tsha_step_duration_seconds_count 0$/m);
    expect(off).not.toContain('tsha_process_cpu_seconds_total');
    expect(off).not.toContain('tsha_nodejs_eventloop_lag');
    expect(on).toMatch(/^tsha_step_duration_seconds_count [1-9]\d*$/m);
    expect(on).toContain('tsha_process_cpu_seconds_total');
    expect(on).toContain('tsha_nodejs_eventloop_lag_p99_seconds');
  }, 30_000);

  it('exports each node\'s state as this node sees it, and the configuration digest; blocked resources only on the coordinator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-rt-'));
    dirs.push(dir);
    const agent = new Agent({
      config, self: 'n1', logger: capture().logger, store: new DiskStore(dir), transport: new RecordingTransport([]), resourceAgents: new Map(), fencer: null,
      selfFence: { kind: 'exit' }, notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1,
    });
    await agent.start();
    try {
      const text = await agent.metrics.text();
      // alone, n1 follows nobody: itself online, the others unknown here
      expect(text).toContain('tsha_node_state{node="n1",state="online"} 1');
      expect(text).toContain('tsha_node_state{node="n2",state="pending"} 1');
      expect(text).toContain('tsha_node_state{node="n2",state="offline"} 0');
      expect(text).toContain(`tsha_config_info{cluster="t",digest="${configDigest(config)}"} 1`);
      expect(text).not.toMatch(/^tsha_witness_reachable\{/m); // no witness configured
      expect(text).not.toMatch(/^tsha_resource_blocked\{/m); // not the coordinator
    } finally {
      await agent.stop('test over');
    }
  });

  it('refreshes the state gauges once per scrape; the digest does not depend on key order', async () => {
    const m = new AgentMetrics();
    let calls = 0;
    m.refreshState = () => void calls++;
    await m.text();
    expect(calls).toBe(1);
    const reverse = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverse) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const reordered = reverse(config) as typeof config;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(config));
    expect(configDigest(reordered)).toBe(configDigest(config));
    expect(configDigest({ ...config, clusterName: 'other' })).not.toBe(configDigest(config));
  });

  it('serves Prometheus metrics with the tsha_ names on GET /metrics', async () => {
    const m = new AgentMetrics();
    m.term.set(7);
    m.peerUp.set({ peer: 'n2' }, 1);
    m.fenceActions.inc({ action: 'off', result: 'confirmed' });
    const port = 23000 + Math.floor(Math.random() * 20000);
    const server = await serveMetrics(m, `127.0.0.1:${port}`);
    try {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const name of ['tsha_quorate', 'tsha_term 7', 'tsha_is_coordinator', 'tsha_peer_up{peer="n2"} 1', 'tsha_messages_dropped_total', 'tsha_resource_up', 'tsha_failovers_total', 'tsha_fence_actions_total{action="off",result="confirmed"} 1', 'tsha_step_duration_seconds_bucket']) {
        expect(body).toContain(name);
      }
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
