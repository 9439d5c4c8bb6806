// The agent and its watchdog device, in one process: the real Linux watchdog adapter on a FIFO (a
// real watchdog would reset this machine), the real DiskStore and ExecAgent, a transport that
// reaches nobody. Checks the feeding rule (keepalives only on the core's feedWatchdog: a node that
// keeps resources without a lease feeds nothing until they are stopped), magic close, and the
// refusal of a device whose timeout is longer than timing.watchdogMs.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { ExecAgent } from '../../src/adapters/exec/index.js';
import { LinuxWatchdog } from '../../src/adapters/watchdog/index.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import type { MessageHandler, SendOutcome, Transport, TransportStats } from '../../src/ports/transport.js';
import { Agent, WatchdogSetupError } from '../../src/runtime/agent.js';
import { NullNotifier } from '../../src/runtime/notifier.js';

class UnreachableTransport implements Transport {
  start(): Promise<{ port: number }> {
    return Promise.resolve({ port: 0 });
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  send(): Promise<SendOutcome> {
    return Promise.resolve({ ok: false, reason: 'unavailable', detail: 'nobody here' });
  }
  onMessage(_h: MessageHandler): void {}
  stats(): TransportStats {
    return { received: 0, sent: 0, dropped: {} as TransportStats['dropped'], sendFailed: {} as TransportStats['sendFailed'], peers: {} };
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsha-ag-wd-'));
  dirs.push(d);
  return d;
};

function configFor(dir: string) {
  const running = path.join(dir, 'running');
  return compileOrThrow({
    cluster: { name: 't', id: 't' },
    nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
    timing: { watchdogMs: 1000, leaseMs: 1200 },
    fencing: { enabled: true, watchdog: true },
    resources: {
      job: { kind: 'exec', params: { start: `touch ${running}`, stop: `rm -f ${running}`, monitor: `test -f ${running} || exit 7` } },
    },
  });
}

describe('agent and watchdog device', () => {
  it('keeps a re-adopted resource without a lease: feeds nothing until it stopped it, then feeds; disarms (V) on stop when it runs nothing', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'running'), ''); // the resource runs when the agent starts: re-adopted
    const fifo = path.join(dir, 'watchdog');
    execFileSync('mkfifo', [fifo]);
    const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const sock = new net.Socket({ fd, readable: true, writable: false });
    let bytes = '';
    let runningAtFirstKeepalive: boolean | null = null;
    sock.on('data', (b: Buffer) => {
      if (runningAtFirstKeepalive === null) runningAtFirstKeepalive = fs.existsSync(path.join(dir, 'running'));
      bytes += b.toString();
    });
    const agent = new Agent({
      config: configFor(dir), self: 'n1', logger: pino({ level: 'silent' }), store: new DiskStore<Command, ClusterState>(path.join(dir, 'state')),
      transport: new UnreachableTransport(), resourceAgents: new Map([['exec', new ExecAgent()]]), fencer: null, selfFence: { kind: 'exit' },
      notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1, watchdog: new LinuxWatchdog(fifo),
    });
    try {
      await agent.start();
      // no peer answers: no lease; the grace lease (1200 ms) runs out and the agent stops the job
      for (let i = 0; i < 150 && fs.existsSync(path.join(dir, 'running')); i++) await new Promise((r) => setTimeout(r, 20));
      expect(fs.existsSync(path.join(dir, 'running'))).toBe(false);
      await new Promise((r) => setTimeout(r, 700)); // a few keepalive intervals (watchdogMs / 5 = 200 ms)
      expect(runningAtFirstKeepalive).toBe(false);
      expect(agent.watchdogKeepalives).toBeGreaterThanOrEqual(2);
    } finally {
      await agent.stop('test');
    }
    await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    expect(bytes).toMatch(/^1+V$/);
  });

  it('refuses to start, naming both fields, when the device\'s timeout is longer than timing.watchdogMs', async () => {
    const dir = tmp();
    const sys = path.join(dir, 'sys');
    const st = fs.statSync('/dev/null');
    fs.mkdirSync(path.join(sys, 'watchdog0'), { recursive: true });
    fs.writeFileSync(path.join(sys, 'watchdog0', 'dev'), `${Math.floor(st.rdev / 256) & 0xfff}:${st.rdev & 0xff}\n`);
    fs.writeFileSync(path.join(sys, 'watchdog0', 'timeout'), '60\n');
    const agent = new Agent({
      config: configFor(dir), self: 'n1', logger: pino({ level: 'silent' }), store: new DiskStore<Command, ClusterState>(path.join(dir, 'state')),
      transport: new UnreachableTransport(), resourceAgents: new Map([['exec', new ExecAgent()]]), fencer: null, selfFence: { kind: 'exit' },
      notifier: new NullNotifier(), joinTimeoutMs: 300, seed: 1, watchdog: new LinuxWatchdog('/dev/null', { sysfsRoot: sys }),
    });
    const err = await agent.start().then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WatchdogSetupError);
    expect((err as Error).message).toMatch(/^fencing.watchdogDevice: \/dev\/null has a timeout of 60000 ms, longer than timing.watchdogMs \(1000 ms\)/);
    await agent.stop('test');
  });
});
