// Control requests with random fields against a running agent: the real runtime (a one-node
// cluster, so it is coordinator and commits on its own), its real control handlers
// (src/runtime/control-handlers.ts) behind the real control socket, called through the CLI's
// ControlClient. Names of nodes and resources that exist or not (empty, unknown, odd bytes),
// lifetimes and limits from 0 to 2^32-1, every command and action. Each request is answered, or
// refused with a clear error under a refusal code (never `internal`, which is a handler bug; an
// unknown name is notFound, a fence here failedPrecondition: fencing is off and there is no fencer); a
// refused command commits nothing; the agent never stops. What it accepts does commit (so the
// "nothing committed" check can fail). Raw malformed bytes on the same socket are covered by
// test/adapters/grpc/control.test.ts.
//
// fast-check, fixed seed: a failure prints the seed and the request.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { ControlClient, ControlRequestError } from '../../src/adapters/grpc/control-client.js';
import { ControlServer } from '../../src/adapters/grpc/control-server.js';
import { meshOptionsFromConfig } from '../../src/adapters/grpc/mesh-config.js';
import { MeshTransport } from '../../src/adapters/grpc/mesh-transport.js';
import { ProtoEncodeError } from '../../src/adapters/grpc/proto.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import { AgentMetrics } from '../../src/observability/metrics.js';
import { Agent, transportCounters } from '../../src/runtime/agent.js';
import { controlHandlers } from '../../src/runtime/control-handlers.js';
import { NullNotifier } from '../../src/runtime/notifier.js';
import { captureLogger, eventually } from '../adapters/grpc/helpers.js';

let agent: Agent;
let server: ControlServer;
let client: ControlClient;
let dir: string;

beforeAll(async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.75', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  const config = compileOrThrow({ cluster: { name: 'fuzz', id: 'fuzz' }, nodes: { n1: { address: `127.0.0.75:${port}` } }, fencing: { enabled: false }, resources: {} });
  dir = mkdtempSync(join(tmpdir(), 'tsha-fuzz-ctl-'));
  const metrics = new AgentMetrics();
  const log = captureLogger('error');
  agent = new Agent({
    config, self: 'n1', logger: log.logger, store: new DiskStore<Command, ClusterState>(dir + '/state'),
    transport: new MeshTransport(await meshOptionsFromConfig(config, 'n1', { logger: log.logger, counters: transportCounters(metrics) })),
    resourceAgents: new Map(), fencer: null, selfFence: { kind: 'exit' }, notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1, metrics,
  });
  await agent.start();
  await eventually(() => agent.coordinator() === 'n1', 'the one node is coordinator', 10_000);
  server = new ControlServer({ socketPath: join(dir, 'control.sock'), group: null, handlers: controlHandlers(agent), logger: log.logger });
  await server.start();
  client = new ControlClient({ socketPath: join(dir, 'control.sock'), timeoutMs: 5000 });
}, 30_000);

afterAll(async () => {
  client?.close();
  await server?.stop();
  await agent?.stop('test over');
  rmSync(dir, { recursive: true, force: true });
});

const name = fc.oneof(
  { arbitrary: fc.constant('n1'), weight: 2 },
  { arbitrary: fc.constantFrom('n2', '', 'web', 'n1 ', 'N1', 'n1\u0000', '../n1'), weight: 1 },
  { arbitrary: fc.string({ maxLength: 20 }), weight: 1 },
);
const ms = fc.constantFrom(0, 1, 1000, 2 ** 31 - 1, 2 ** 32 - 1);
const by = fc.constantFrom('root', '', 'alice');

/** `refusal`: the code it must be refused with (an unknown name, no fencing here); absent: either way */
type Call = { what: string; commits: boolean; refusal?: string; run: () => Promise<unknown> };

const calls: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(name, fc.constantFrom('standby', 'online', 'maintenanceOn', 'maintenanceOff' as const), by).map(([node, action, requestedBy]) => ({
    what: `node ${action} ${JSON.stringify(node)}`, commits: true, refusal: node === 'n1' ? undefined : 'notFound', run: () => client.nodeCommand({ node, action, requestedBy }),
  })),
  fc.tuple(name, name, ms, fc.boolean(), fc.nat(6), fc.constantFrom('started', 'stopped', 'promoted', 'unpromoted' as const), name).map(([resource, node, lifetimeMs, flag, k, targetRole, operation]) => {
    const commands = [
      { command: 'ban', ban: { node, lifetimeMs, promotedOnly: flag } },
      { command: 'clear', clear: { node } },
      { command: 'move', move: { node, lifetimeMs, promotedOnly: flag } },
      { command: 'cleanup', cleanup: { node, operation } },
      { command: 'setTargetRole', setTargetRole: { targetRole } },
      { command: 'setManaged', setManaged: { managed: flag } },
      { command: 'restart', restart: {} },
    ] as const;
    const c = commands[k]!;
    return { what: `resource ${JSON.stringify(resource)} ${JSON.stringify(c)}`, commits: true, refusal: 'notFound', run: () => client.resourceCommand({ resource, requestedBy: 'root', ...c } as never) };
  }),
  fc.tuple(name, fc.constantFrom('off', 'reboot' as const), fc.boolean(), fc.constantFrom(0, 1, 50)).map(([node, action, cancel, waitMs]) => ({
    what: `fence ${JSON.stringify(node)} ${action} cancel=${cancel}`, commits: true, refusal: node !== 'n1' ? 'notFound' : cancel ? undefined : 'failedPrecondition', run: () => client.fenceCommand({ node, action, requestedBy: 'root', cancel, waitMs }),
  })),
  fc.tuple(name).map(([node]) => ({ what: `fence check ${JSON.stringify(node)}`, commits: false, refusal: node === '' || node === 'n1' ? 'failedPrecondition' : 'notFound', run: () => client.fenceCheck({ node }) })),
  ms.map((limit) => ({ what: `history ${limit}`, commits: false, run: () => client.history({ limit }) })),
  fc.boolean().map((assumeQuorum) => ({ what: `scheduler input ${assumeQuorum}`, commits: false, run: () => client.schedulerInput({ assumeQuorum }) })),
  fc.boolean().map((includeInactive) => ({ what: `status ${includeInactive}`, commits: false, run: () => client.status({ includeInactive }) })),
);

describe('control requests with random fields against a running agent', () => {
  it('are answered or refused with a clear error; a refused command commits nothing; the agent keeps running', async () => {
    const outcome = new Map<string, number>();
    let committed = 0;
    await fc.assert(
      fc.asyncProperty(calls, async (c) => {
        const logBefore = agent.view()!.node.log.length + agent.view()!.node.snapshot.index;
        let code = 'ok';
        try {
          await c.run();
        } catch (e) {
          // what the client cannot encode (a name the proto refuses) never reaches the agent
          if (e instanceof ProtoEncodeError) return;
          expect(e, c.what).toBeInstanceOf(ControlRequestError);
          const err = e as ControlRequestError;
          code = err.code;
          expect(err.code, `${c.what}: ${err.message}`).not.toBe('internal');
          expect(err.message.length, c.what).toBeGreaterThan(10);
        }
        outcome.set(code, (outcome.get(code) ?? 0) + 1);
        if (c.refusal) expect(code, c.what).toBe(c.refusal);
        const logAfter = agent.view()!.node.log.length + agent.view()!.node.snapshot.index;
        if (code !== 'ok' || !c.commits) expect(logAfter, `${c.what} (${code}) committed something`).toBe(logBefore);
        else committed += logAfter - logBefore;
        expect(agent.fatalError, c.what).toBeNull();
      }),
      { numRuns: 200, seed: 20261211 },
    );
    console.log(`[control fuzz] outcomes ${JSON.stringify(Object.fromEntries(outcome))}; entries committed by accepted commands: ${committed}`);
    expect(outcome.get('ok') ?? 0).toBeGreaterThan(20);
    expect(outcome.get('notFound') ?? 0).toBeGreaterThan(20);
    expect(committed).toBeGreaterThan(2);
    expect(agent.lifecycle.state).toBe('running');
  }, 60_000);
});
