// `tsha drbd fence-peer` and `unfence-peer` as DRBD runs them: a real process with DRBD's
// environment, talking to a control server over a real Unix socket; its exit code is the one DRBD
// documents for the outcome the agent gave (4 outdated, 6 peer Primary, 7 fenced, 1 failed), and
// 1 when the agent cannot be reached. The agent's side of the decision is tested on the harness
// (test/cluster/drbd.test.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlServer } from '../../../src/adapters/grpc/control-server.js';
import type { ClusterStatus, ControlHandlers, DrbdFenceOutcome, DrbdFencePeerRequest } from '../../../src/ports/control.js';
import { captureLogger } from '../../adapters/grpc/helpers.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tsha-drbd-hook-'));
const socketPath = join(tmp, 'agent.sock');
const asked: DrbdFencePeerRequest[] = [];
/** the outcome the stub agent gives, by peer node name */
const OUTCOME: Record<string, DrbdFenceOutcome> = { b: 'fenced', c: 'outdated', d: 'peerPrimary', e: 'failed' };
let server: ControlServer;

beforeAll(async () => {
  const handlers: ControlHandlers = {
    status: () => Promise.resolve({} as ClusterStatus),
    resourceCommand: () => Promise.reject(new Error('not here')),
    nodeCommand: () => Promise.reject(new Error('not here')),
    schedulerInput: () => Promise.reject(new Error('not here')),
    history: () => Promise.reject(new Error('not here')),
    fenceCommand: () => Promise.reject(new Error('not here')),
    fenceCheck: () => Promise.reject(new Error('not here')),
    subscribe: () => ({ close: () => undefined }),
    drbdFencePeer: (req) => {
      asked.push(req);
      const peer = req.peerNode || (req.peerAddress === '10.0.0.3' ? 'c' : '');
      return Promise.resolve({ outcome: req.unfence ? 'unfenced' : (OUTCOME[peer] ?? 'failed'), peer, message: `stub answer for ${peer}` });
    },
  };
  server = new ControlServer({ socketPath, group: null, handlers, logger: captureLogger().logger });
  await server.start();
});
afterAll(async () => {
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs the handler as DRBD would: only DRBD's variables and a PATH in its environment. */
function hook(args: string[], drbdEnv: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'drbd', ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/', ...drbdEnv },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const env9 = (peerId: number, extra: Record<string, string> = {}) => ({
  DRBD_RESOURCE: 'r0', DRBD_MY_NODE_ID: '0', DRBD_PEER_NODE_ID: String(peerId), DRBD_NODE_ID_0: 'a', DRBD_NODE_ID_1: 'b', DRBD_NODE_ID_2: 'c',
  DRBD_NODE_ID_3: 'd', DRBD_NODE_ID_4: 'e', DRBD_PEER_ADDRESS: `10.0.0.${peerId + 1}`, DRBD_PEER_AF: 'ipv4', DRBD_CSTATE: 'Connecting', UP_TO_DATE_NODES: '0x00000001',
  ...extra,
});

describe('tsha drbd fence-peer', () => {
  it.each([
    [1, 'b', 7],
    [2, 'c', 4],
    [3, 'd', 6],
    [4, 'e', 1],
  ])('peer node id %i (%s) → exit %i, the peer named by DRBD_NODE_ID_<DRBD_PEER_NODE_ID>', async (id, peer, code) => {
    const r = await hook(['fence-peer', '--socket', socketPath, '--timeout', '30'], env9(id));
    expect(r.code, r.stderr).toBe(code);
    expect(r.stdout).toContain(`tsha drbd fence-peer r0 ${peer}: ${OUTCOME[peer]} (exit ${code}): stub answer for ${peer}`);
    expect(asked.at(-1)).toEqual({ resource: 'r0', peerNode: peer, peerAddress: `10.0.0.${id + 1}`, timeoutMs: 30_000, unfence: false });
  }, 20_000);

  it('without a host name for the peer id it passes DRBD_PEER_ADDRESS for the agent to match', async () => {
    const r = await hook(['fence-peer', '--socket', socketPath], { DRBD_RESOURCE: 'r0', DRBD_PEER_NODE_ID: '2', DRBD_PEER_ADDRESS: '10.0.0.3' });
    expect(r.code, r.stderr).toBe(4);
    expect(asked.at(-1)).toEqual({ resource: 'r0', peerNode: '', peerAddress: '10.0.0.3', timeoutMs: 60_000, unfence: false });
  }, 20_000);

  it('exits 1 outside DRBD (no DRBD_RESOURCE) and when the agent cannot be reached', async () => {
    const none = await hook(['fence-peer', '--socket', socketPath], {});
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('DRBD_RESOURCE is not set');
    const gone = await hook(['fence-peer', '--socket', join(tmp, 'nobody.sock')], env9(1));
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no tsha agent reachable/);
  }, 20_000);
});

describe('tsha drbd unfence-peer', () => {
  it('asks the agent to forget the recorded fence of the peer and exits 0', async () => {
    const r = await hook(['unfence-peer', '--socket', socketPath], env9(1, { DRBD_CSTATE: 'Connected' }));
    expect(r.code, r.stderr).toBe(0);
    expect(asked.at(-1)).toMatchObject({ resource: 'r0', peerNode: 'b', unfence: true });
  }, 20_000);
});
