// The harness side of scripts/fence_tsha_test: a Unix stream socket on which the test fence agent
// asks the harness to power a node off or on.
//
// Protocol: one request per connection, one JSON object per line each way.
//   request : {"action":"off"|"on"|"reboot"|"status"|"monitor"|"list", "plug":"n1"}
//   response: {"ok":true,"power":"off"|"on"} | {"ok":true,"plugs":["n1",...]} | {"ok":false,"error":"..."}
// "off" is answered only after every process of the node is gone (powerLoss resolved).
import net from 'node:net';
import fs from 'node:fs';

export interface FenceRequest {
  readonly action: string;
  readonly plug?: string;
}

export type FenceResponse = { ok: true; power?: 'on' | 'off'; plugs?: string[] } | { ok: false; error: string };

export interface FenceTarget {
  plugs(): string[];
  power(plug: string): 'on' | 'off';
  off(plug: string): Promise<void>;
  on(plug: string): Promise<void>;
}

export interface FenceLogEntry {
  readonly t: number;
  readonly action: string;
  readonly plug: string | undefined;
  readonly response: FenceResponse;
}

export async function handleFence(target: FenceTarget, req: FenceRequest): Promise<FenceResponse> {
  const action = req.action;
  if (action === 'list') return { ok: true, plugs: target.plugs() };
  if (action === 'monitor') return { ok: true };
  const plug = req.plug;
  if (!plug) return { ok: false, error: `action ${action} needs a plug` };
  if (!target.plugs().includes(plug)) return { ok: false, error: `no such plug: ${plug}` };
  switch (action) {
    case 'status':
      return { ok: true, power: target.power(plug) };
    case 'off':
      await target.off(plug);
      return { ok: true, power: 'off' };
    case 'on':
      await target.on(plug);
      return { ok: true, power: 'on' };
    case 'reboot':
      await target.off(plug);
      await target.on(plug);
      return { ok: true, power: 'on' };
    default:
      return { ok: false, error: `unknown action: ${action}` };
  }
}

export class FenceServer {
  private readonly server: net.Server;
  readonly log: FenceLogEntry[] = [];

  private constructor(
    readonly socketPath: string,
    target: FenceTarget,
    clock: () => number,
  ) {
    this.server = net.createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('error', () => undefined);
      sock.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = '';
        void (async () => {
          let req: FenceRequest | undefined;
          let res: FenceResponse;
          try {
            req = JSON.parse(line) as FenceRequest;
            res = typeof req.action === 'string' ? await handleFence(target, req) : { ok: false, error: 'missing action' };
          } catch (e) {
            res = { ok: false, error: e instanceof Error ? e.message : String(e) };
          }
          this.log.push({ t: clock(), action: req?.action ?? '?', plug: req?.plug, response: res });
          sock.end(JSON.stringify(res) + '\n');
        })();
      });
    });
  }

  static async listen(socketPath: string, target: FenceTarget, clock: () => number): Promise<FenceServer> {
    fs.rmSync(socketPath, { force: true });
    const s = new FenceServer(socketPath, target, clock);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(socketPath, () => resolve());
    });
    return s;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
