// The control socket with a real grpc-js server on a temporary Unix socket: mode bits and group,
// stale socket removal, status and command round trips, refusals, the watch stream, and the clear
// error the CLI prints when no agent listens.
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ControlServer, ControlSocketError, resolveGroup } from '../../../src/adapters/grpc/control-server.js';
import { codec, rawServiceDefinition } from '../../../src/adapters/grpc/proto.js';
import { AgentUnreachableError, ControlClient, ControlRequestError, unreachableReason } from '../../../src/adapters/grpc/control-client.js';
import type { ClusterStatus, ControlHandlers, FenceCommandRequest, NodeCommandRequest, ResourceCommandRequest } from '../../../src/ports/control.js';
import { ControlCommandError } from '../../../src/ports/control.js';
import { SAMPLE } from '../../unit/proto/fixtures.js';
import { captureLogger, eventually } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsha-proto-ctl-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A stand-in for the runtime: a status that changes when `bump()` is called, and recorded commands. */
function fakeRuntime() {
  let status: ClusterStatus = structuredClone(SAMPLE.clusterStatus);
  const listeners = new Set<() => void>();
  const commands: (ResourceCommandRequest | NodeCommandRequest | FenceCommandRequest)[] = [];
  const handlers: ControlHandlers = {
    status: async () => status,
    resourceCommand: async (req) => {
      if (req.resource === 'nope') throw new ControlCommandError('notFound', 'no resource named "nope"');
      if (req.resource === 'boom') throw new Error('runtime bug');
      commands.push(req);
      return { message: `${req.command} ${req.resource}`, committedIndex: 10, warnings: [] };
    },
    nodeCommand: async (req) => {
      commands.push(req);
      return { message: `${req.action} ${req.node}`, committedIndex: 11, warnings: ['drains 3 resources'] };
    },
    history: async (req) => ({ events: [{ timeUnixMs: 1, index: 2, kind: 'node-down', node: 'a', resource: '', text: `limit ${req.limit}` }], nodeSelf: 'a' }),
    schedulerInput: async (req) => ({ inputJson: `{"assumeQuorum":${req.assumeQuorum}}`, nodeSelf: 'a', coordinator: 'b' }),
    fenceCheck: async (req) => ({
      ok: req.node !== 'n2', fencingEnabled: true, watchdog: false, checkedFrom: 'n1', unfenceable: req.node === 'n2' ? ['n2'] : [],
      nodes: [{ node: req.node || 'n1', fenceable: req.node !== 'n2', level: req.node === 'n2' ? 0 : 1, reason: 'level 1 answers for it' }],
      rows: [{ node: req.node || 'n1', level: 1, device: 'ipmi', agent: 'fence_ipmilan', plug: '3', monitor: 'ok', target: 'on', ok: true, reason: 'Status: ON', durationMs: 120 }],
    }),
    fenceCommand: async (req) => {
      if (req.node === 'q') throw new ControlCommandError('failedPrecondition', 'no quorum');
      commands.push(req);
      return { message: `fenced: ${req.node} (${req.action})`, committedIndex: 12, warnings: [] };
    },
    subscribe: (onChange) => {
      listeners.add(onChange);
      return { close: () => listeners.delete(onChange) };
    },
  };
  return {
    handlers,
    commands,
    listeners,
    bump(term: number) {
      status = { ...status, term };
      for (const l of listeners) l();
    },
  };
}

async function startServer(opts: { group?: string | number | null; path?: string } = {}) {
  const dir = tempDir();
  const socketPath = opts.path ?? join(dir, 'run', 'control.sock');
  const rt = fakeRuntime();
  const log = captureLogger();
  const server = new ControlServer({ socketPath, group: opts.group ?? null, handlers: rt.handlers, logger: log.logger, watchMinIntervalMs: 20 });
  await server.start();
  cleanups.push(() => server.stop());
  const client = new ControlClient({ socketPath, timeoutMs: 2000 });
  cleanups.push(() => client.close());
  return { socketPath, rt, server, client, log, dir };
}

describe('control socket permissions', () => {
  it('creates the socket with mode 0660 and the configured group (by name and by gid)', async () => {
    // root runs the tests; "daemon" exists on Debian and NixOS alike
    const daemonGid = resolveGroup('daemon');
    const { socketPath } = await startServer({ group: 'daemon' });
    const st = statSync(socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.gid).toBe(daemonGid);

    const other = await startServer({ group: 2 });
    expect(statSync(other.socketPath).gid).toBe(2);
    expect(statSync(other.socketPath).mode & 0o777).toBe(0o660);
  });

  it('lets a user in the group connect and refuses one outside it (real processes under setpriv)', async () => {
    const daemonGid = resolveGroup('daemon');
    const { socketPath, dir } = await startServer({ group: 'daemon' });
    // mkdtemp made the test's own folder 0700; the server made run/ (0750, group daemon) itself
    chmodSync(dir, 0o755);
    expect(statSync(dirname(socketPath)).mode & 0o777).toBe(0o750);
    expect(statSync(dirname(socketPath)).gid).toBe(daemonGid);
    const probe = (groups: string): string =>
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', `--groups=${groups}`, process.execPath, '-e', `
        const s = require('node:net').connect(${JSON.stringify(socketPath)});
        s.on('connect', () => { process.stdout.write('connected'); s.destroy(); });
        s.on('error', (e) => process.stdout.write(e.code));`], { encoding: 'utf8' });
    expect(probe(String(daemonGid))).toBe('connected');
    expect(probe('65534')).toBe('EACCES');
  });

  it('reads groups from a group file, and names an unknown group in the error', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'group'), 'root:x:0:\ntsha:x:977:alice,bob\n');
    expect(resolveGroup('tsha', join(dir, 'group'))).toBe(977);
    expect(() => resolveGroup('nope', join(dir, 'group'))).toThrow(/no group named "nope"/);
    const rt = fakeRuntime();
    const server = new ControlServer({
      socketPath: join(dir, 'c.sock'), group: 'tsha-proto-no-such-group', handlers: rt.handlers, logger: captureLogger().logger,
    });
    await expect(server.start()).rejects.toThrow(/control socket .*c\.sock: no group named "tsha-proto-no-such-group"/);
  });

  it('removes a stale socket left by a dead agent, but never a live one or a regular file', async () => {
    const dir = tempDir();
    const rt = fakeRuntime();
    // a live agent's socket is not taken over
    const live = await startServer({ path: join(dir, 'live.sock') });
    const second = new ControlServer({ socketPath: live.socketPath, group: null, handlers: rt.handlers, logger: captureLogger().logger });
    await expect(second.start()).rejects.toThrow(ControlSocketError);
    await expect(second.start()).rejects.toThrow(/another agent is listening/);
    expect((await live.client.status()).term).toBe(SAMPLE.clusterStatus.term);

    // a stale socket, as a crashed (kill -9) agent leaves it: the file stays, nobody listens.
    // Node unlinks a socket file when its server closes cleanly, so keep a hard link across the close.
    const socketPath = join(dir, 'control.sock');
    const crashed = createServer();
    await new Promise<void>((r) => crashed.listen(socketPath, r));
    linkSync(socketPath, `${socketPath}.keep`);
    await new Promise<void>((r) => crashed.close(() => r()));
    renameSync(`${socketPath}.keep`, socketPath);
    expect(statSync(socketPath).isSocket()).toBe(true);
    const log = captureLogger();
    const server = new ControlServer({ socketPath, group: null, handlers: rt.handlers, logger: log.logger });
    await server.start();
    cleanups.push(() => server.stop());
    expect(log.lines.some((l) => l.msg === 'removed stale control socket')).toBe(true);
    const client = new ControlClient({ socketPath });
    cleanups.push(() => client.close());
    expect((await client.status()).clusterName).toBe('prod');

    // a regular file is never deleted
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'data');
    const third = new ControlServer({ socketPath: file, group: null, handlers: rt.handlers, logger: log.logger });
    await expect(third.start()).rejects.toThrow(/is not a socket; refusing to remove it/);
    expect(statSync(file).isFile()).toBe(true);
  });
});

describe('control requests', () => {
  it('round-trips the full status model', async () => {
    const { client } = await startServer();
    expect(await client.status({ includeInactive: true })).toEqual(SAMPLE.clusterStatus);
  });

  it('passes resource and node commands to the handlers and returns their results', async () => {
    const { client, rt } = await startServer();
    const ban: ResourceCommandRequest = { resource: 'web', requestedBy: 'root', command: 'ban', ban: { node: 'b', lifetimeMs: 0, promotedOnly: false } };
    expect(await client.resourceCommand(ban)).toEqual({ message: 'ban web', committedIndex: 10, warnings: [] });
    const standby: NodeCommandRequest = { node: 'b', action: 'standby', requestedBy: 'root' };
    expect(await client.nodeCommand(standby)).toEqual({ message: 'standby b', committedIndex: 11, warnings: ['drains 3 resources'] });
    const fence: FenceCommandRequest = { node: 'c', action: 'reboot', requestedBy: 'root', cancel: false, waitMs: 500 };
    expect(await client.fenceCommand(fence)).toEqual({ message: 'fenced: c (reboot)', committedIndex: 12, warnings: [] });
    await expect(client.fenceCommand({ ...fence, node: 'q' })).rejects.toMatchObject({ code: 'failedPrecondition', message: 'no quorum' });
    expect(rt.commands).toEqual([ban, standby, fence]);
    const report = await client.fenceCheck({ node: 'n2' });
    expect(report).toMatchObject({ ok: false, unfenceable: ['n2'], checkedFrom: 'n1', rows: [{ plug: '3', monitor: 'ok', target: 'on', durationMs: 120 }] });
  });

  it('reports refusals with their code, and handler bugs as internal errors', async () => {
    const { client, log } = await startServer();
    const req = (resource: string): ResourceCommandRequest => ({ resource, requestedBy: 'root', command: 'restart', restart: { node: '' } });
    await expect(client.resourceCommand(req('nope'))).rejects.toMatchObject({ name: 'ControlRequestError', code: 'notFound', message: 'no resource named "nope"' });
    const err = await client.resourceCommand(req('boom')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlRequestError);
    expect(err).toMatchObject({ code: 'internal', message: 'agent error: runtime bug' });
    expect(log.lines.some((l) => l.msg === 'control handler failed')).toBe(true);
  });

  it('streams the status first and again after each change, and unsubscribes when the client leaves', async () => {
    const { client, rt } = await startServer();
    const seen: number[] = [];
    const watch = client.watch({ minIntervalMs: 20 });
    for await (const s of watch) {
      seen.push(s.term);
      if (seen.length === 1) rt.bump(7);
      else if (seen.length === 2) rt.bump(8);
      else break;
    }
    expect(seen).toEqual([SAMPLE.clusterStatus.term, 7, 8]);
    await eventually(() => rt.listeners.size === 0, 'the server to drop the subscription');
  });

  it('coalesces a burst of changes into few statuses, ending with the latest', async () => {
    const { client, rt } = await startServer();
    const seen: number[] = [];
    for await (const s of client.watch({ minIntervalMs: 200 })) {
      seen.push(s.term);
      if (seen.length === 1) for (let t = 100; t < 150; t++) rt.bump(t);
      if (s.term === 149) break;
    }
    // the first status, then at most a couple for the 50 changes, the last one being the latest
    expect(seen.length).toBeLessThanOrEqual(4);
    expect(seen.at(-1)).toBe(149);
  });
});

describe('no agent', () => {
  it('turns connection failures into reasons an operator can act on', () => {
    const last = (e: string): string => `No connection established. Last error: connect ${e} /run/tsha/control.sock (2026-11-23T13:00:00.000Z)`;
    expect(unreachableReason(last('ENOENT'))).toBe('the socket does not exist');
    expect(unreachableReason(last('ECONNREFUSED'))).toBe('connection refused (stale socket)');
    expect(unreachableReason(last('EACCES'))).toMatch(/^permission denied \(run as root or as a member of the socket's group\)$/);
    expect(unreachableReason(last('EHOSTDOWN'))).toBe('connect EHOSTDOWN /run/tsha/control.sock');
  });

  it('a watch ends with a clear error when the agent stops', async () => {
    const { client, server } = await startServer();
    const seen: number[] = [];
    const watching = (async () => {
      for await (const s of client.watch()) {
        seen.push(s.term);
        await server.stop();
      }
    })();
    await expect(watching).rejects.toThrow(/^no tsha agent reachable at .*: the agent ended the watch/);
    expect(seen).toEqual([SAMPLE.clusterStatus.term]);
  });

  it('says plainly that no agent is reachable when the socket does not exist', async () => {
    const socketPath = join(tempDir(), 'control.sock');
    const client = new ControlClient({ socketPath, timeoutMs: 1000 });
    cleanups.push(() => client.close());
    const err = await client.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentUnreachableError);
    expect((err as Error).message).toBe(`no tsha agent reachable at ${socketPath}: the socket does not exist; is tsha-agent running?`);
  });

  it('says so too for a stale socket nobody listens on, and for a watch', async () => {
    const { socketPath, server } = await startServer();
    await server.stop();
    // grpc-js/Node may unlink the socket on close; either way nothing answers
    const client = new ControlClient({ socketPath, timeoutMs: 1000 });
    cleanups.push(() => client.close());
    await expect(client.status()).rejects.toThrow(/^no tsha agent reachable at .*control\.sock: .*; is tsha-agent running\?$/);
    const watching = (async () => {
      for await (const _ of client.watch()) return 'got a status';
      return 'ended';
    })();
    await expect(watching).rejects.toBeInstanceOf(AgentUnreachableError);
  });
});

describe('CLI plumbing', () => {
  it('adds --socket (default from $TSHA_CONTROL_SOCKET) and runs a command with a client that is closed afterwards', async () => {
    const { Command } = await import('commander');
    const { addSocketOption, defaultSocketPath, withControlClient } = await import('../../../src/cli/control-socket.js');
    expect(defaultSocketPath({})).toBe('/run/tsha/control.sock');
    expect(defaultSocketPath({ TSHA_CONTROL_SOCKET: '/tmp/x.sock' })).toBe('/tmp/x.sock');
    const { socketPath } = await startServer();
    let seen = '';
    const program = new Command().exitOverride();
    addSocketOption(program.command('probe')).action(async (o: { socket: string }) => {
      seen = await withControlClient(o.socket, async (c) => (await c.status()).clusterName);
    });
    await program.parseAsync(['node', 'tsha', 'probe', '--socket', socketPath]);
    expect(seen).toBe('prod');
    const missing = join(tempDir(), 'none.sock');
    await expect(withControlClient(missing, (c) => c.status())).rejects.toThrow(`no tsha agent reachable at ${missing}: the socket does not exist; is tsha-agent running?`);
  });
});

describe('control requests from outside: malformed bytes', () => {
  /** One unary call with raw request bytes; resolves to the gRPC status code (0: OK). */
  function rawCall(client: grpc.Client, path: string, bytes: Buffer): Promise<number> {
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve(err ? (err.code ?? -1) : 0));
    });
  }

  it('random and mutated request bytes are refused with INVALID_ARGUMENT or decoded whole; the handlers see only valid requests and the server stays up', async () => {
    const { socketPath, rt, client } = await startServer();
    const raw = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
    cleanups.push(() => raw.close());
    const def = rawServiceDefinition('tsha.control.v1.Control');
    const methods = [
      { path: def.ResourceCommand!.path, type: 'tsha.control.v1.ResourceCommandRequest' },
      { path: def.NodeCommand!.path, type: 'tsha.control.v1.NodeCommandRequest' },
      { path: def.Status!.path, type: 'tsha.control.v1.StatusRequest' },
    ];
    const valid = [
      codec<ResourceCommandRequest>(methods[0]!.type).encode({ resource: 'web', requestedBy: 'root', command: 'ban', ban: { node: 'b', lifetimeMs: 0, promotedOnly: false } }),
      codec<NodeCommandRequest>(methods[1]!.type).encode({ node: 'b', action: 'standby', requestedBy: 'root' }),
    ];
    // random bytes, or a valid request with bytes flipped, cut or appended
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), fc.uint8Array({ maxLength: 8 })).map(([v, flips, cut, extra]) => {
      const b = Buffer.from(v);
      for (const [i, x] of flips) b[i % b.length] = x;
      return Buffer.concat([b.subarray(0, b.length - (cut % 4)), Buffer.from(extra)]);
    });
    const input = fc.tuple(fc.constantFrom(...methods), fc.oneof(fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)), mutated));
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(input, async ([m, bytes]) => {
        const code = await rawCall(raw, m.path, bytes);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        // decoded whole (then the handler answered: OK, or its refusal) or refused as malformed
        expect([grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION]).toContain(code);
        if (code === grpc.status.INVALID_ARGUMENT) return;
        // anything the server accepted decodes with the same codec: nothing half-read reached a handler
        expect(() => codec(m.type).decode(bytes)).not.toThrow();
      }),
      { numRuns: 300, seed: 7 },
    );
    console.log(`[control fuzz] status codes over 300 calls: ${JSON.stringify([...codes])}`);
    expect(codes.get(grpc.status.INVALID_ARGUMENT) ?? 0, JSON.stringify([...codes])).toBeGreaterThan(50);
    // every command a handler saw has the shape the port promises
    for (const c of rt.commands) expect(typeof ('resource' in c ? c.resource : c.node)).toBe('string');
    // and the server still answers a well-formed request
    expect(await client.status({ includeInactive: true })).toEqual(SAMPLE.clusterStatus);
  }, 60_000);
});
