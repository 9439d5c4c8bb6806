// A loopback `tsha agent` exits after SIGTERM: with its peers alive (the graceful-restart
// announcement is committed, then the agent stops) and with its peers gone (the announcement cannot
// be committed: it waits its 1 s, then stops). Real agents, real gRPC mesh through the loopback
// source relays (src/runtime/source-relay.ts), real state directories.
//
// The bound (10 s) is a correctness check of the shutdown, not a performance figure: an agent that
// leaves a handle open (a listening socket, a timer, a stream) never exits, or only when some
// keepalive gives up; a clean one takes about a second. The measured times are printed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackCluster } from './loopback-cluster.js';

const EXIT_BOUND_MS = 10_000;

describe('tsha agent on loopback: SIGTERM ends the process', () => {
  let c: LoopbackCluster;
  beforeAll(() => {
    c = new LoopbackCluster({ nodes: 3, resources: ['web'], monitorIntervalMs: 500 });
    c.startAll();
  });
  afterAll(async () => {
    await c?.destroy();
  });

  /** SIGTERM the agent of `name`; resolves with how long its process took to exit and its exit status, or null past the bound. */
  async function terminate(name: string): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null } | null> {
    const p = c.node(name).proc!;
    expect(p.exitCode, `${name}'s agent is running`).toBeNull();
    const t0 = performance.now();
    const exited = new Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }>((r) =>
      p.once('exit', (code, signal) => r({ ms: performance.now() - t0, code, signal })),
    );
    p.kill('SIGTERM');
    return Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), EXIT_BOUND_MS))]);
  }

  async function quorate(names: string[]): Promise<void> {
    await c.waitFor(`${names.join(',')} quorate with one coordinator`, async () => {
      const all = await Promise.all(names.map((n) => c.status(n)));
      const coords = new Set(all.map((s) => s?.coordinator ?? ''));
      return coords.size === 1 && !coords.has('') && all.every((s) => s?.quorum?.quorate) ? true : null;
    }, 30_000, 100);
  }

  it('with its peers alive, every agent in turn exits within the bound, exit status 0', async () => {
    await quorate(['n1', 'n2', 'n3']);
    await c.waitFor('web running on one node', () => c.runningOn('web').length === 1, 20_000);
    const times: string[] = [];
    for (const n of ['n1', 'n2', 'n3']) {
      const r = await terminate(n);
      expect(r, `${n}'s agent had not exited ${EXIT_BOUND_MS} ms after SIGTERM\n${c.logs(20)}`).not.toBeNull();
      expect(r!.code, `${n}'s exit status`).toBe(0);
      times.push(`${n} ${r!.ms.toFixed(0)} ms`);
      c.start(n);
      await quorate(['n1', 'n2', 'n3']);
    }
    console.log(`[loopback sigterm] peers alive: exit after SIGTERM ${times.join(', ')}`);
  }, 180_000);

  it('with its peers gone, the agent still exits within the bound (the restart announcement cannot commit)', async () => {
    c.killAgent('n2');
    c.killAgent('n3');
    await new Promise((r) => setTimeout(r, 1000));
    const r = await terminate('n1');
    expect(r, `n1's agent had not exited ${EXIT_BOUND_MS} ms after SIGTERM\n${c.logs(20)}`).not.toBeNull();
    expect(r!.code).toBe(0);
    console.log(`[loopback sigterm] peers gone: n1 exit after SIGTERM ${r!.ms.toFixed(0)} ms`);
  }, 60_000);
});
