// FAKE hardware watchdog for one namespaced node (a real one, or the softdog module, would reset
// this shared machine, so neither is used here). It plays /dev/watchdog for the node's agent:
//
//   agent ──write('1') keepalive / 'V' magic close──► FIFO <node.dir>/watchdog ──► this emulator
//                                                                  no keepalive for timeoutMs ──► cluster.powerLoss(node)
//
// powerLoss is what a watchdog reset does to a machine: everything on it stops at once. The agent
// opens the FIFO through its real watchdog adapter (src/adapters/watchdog/, `--watchdog-device`).
//
// Differences from a kernel watchdog, on purpose and small: the emulator cannot see open() or
// close() of the FIFO (it holds the FIFO open read-write so it never sees end-of-file), so it arms
// at the first keepalive rather than at open, and treats the magic character 'V' as the disarm
// itself rather than 'V' followed by close. A reset disarms it until the next keepalive (a rebooted
// machine's watchdog runs again only once someone opens it).

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Cluster, ClusterNode } from './harness.js';
import { now, runOk } from './harness.js';

export interface FakeWatchdogReset {
  /** harness clock when the emulator reset the node (powerLoss started) */
  t: number;
  /** harness clock of the keepalive before it */
  lastKeepaliveAt: number;
}

export class FakeWatchdog {
  readonly path: string;
  readonly resets: FakeWatchdogReset[] = [];
  keepalives = 0;
  lastKeepaliveAt: number | null = null;
  private readonly times: number[] = [];
  private armed = false;
  private fd: number | null = null;
  private sock: net.Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private resetting: Promise<unknown> | null = null;

  private constructor(readonly cluster: Cluster, readonly node: ClusterNode, readonly timeoutMs: number) {
    this.path = path.join(node.dir, 'watchdog');
  }

  /** Creates the FIFO and starts watching it. `timeoutMs` plays the device's timeout (timing.watchdogMs). */
  static async start(cluster: Cluster, node: ClusterNode, timeoutMs: number): Promise<FakeWatchdog> {
    const w = new FakeWatchdog(cluster, node, timeoutMs);
    fs.rmSync(w.path, { force: true });
    await runOk(['mkfifo', '-m', '0600', w.path]);
    // read-write: never blocks, never sees EOF when the agent closes or dies
    w.fd = fs.openSync(w.path, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    w.sock = new net.Socket({ fd: w.fd, readable: true, writable: false });
    w.sock.on('data', (b: Buffer) => w.onBytes(b));
    w.sock.on('error', () => undefined);
    w.timer = setInterval(() => w.check(), 10);
    return w;
  }

  get isArmed(): boolean {
    return this.armed;
  }

  /** Gaps between consecutive keepalives received at or after `since` (harness clock), in ms. */
  keepaliveGaps(since = 0): number[] {
    const ts = this.times.filter((t) => t >= since);
    return ts.slice(1).map((t, i) => t - ts[i]!);
  }

  private onBytes(b: Buffer): void {
    const t = now();
    for (const byte of b) {
      if (byte === 0x56 /* 'V' */) {
        this.armed = false;
      } else {
        this.armed = true;
        this.keepalives++;
        this.lastKeepaliveAt = t;
        this.times.push(t);
        if (this.times.length > 10_000) this.times.shift();
      }
    }
  }

  private check(): void {
    if (!this.armed || this.lastKeepaliveAt === null || this.resetting) return;
    if (now() - this.lastKeepaliveAt <= this.timeoutMs) return;
    this.armed = false;
    this.resets.push({ t: now(), lastKeepaliveAt: this.lastKeepaliveAt });
    this.resetting = this.cluster.powerLoss(this.node).catch(() => undefined).finally(() => (this.resetting = null));
  }

  /** Stops watching (before cluster.destroy(), so no reset fires during teardown) and removes the FIFO. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.resetting;
    this.sock?.destroy(); // closes the fd
    this.sock = null;
    fs.rmSync(this.path, { force: true });
  }
}
