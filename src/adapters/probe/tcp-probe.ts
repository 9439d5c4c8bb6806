// TCP connect probe (src/ports/peer-probe.ts): one connect to "host:port", closed as soon as it is
// established; no bytes are sent. ECONNREFUSED is the only result the core acts on.

import { connect } from 'node:net';
import type { PeerProbe, ProbeResult } from '../../ports/peer-probe.js';

/** "1.2.3.4:7400", "[fd00::1]:7400", "host.example:7400" → host and port; null when malformed. */
export function splitAddress(address: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:[\]]+):(\d{1,5})$/.exec(address);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

export class TcpProbe implements PeerProbe {
  probe(address: string, timeoutMs: number): Promise<ProbeResult> {
    const a = splitAddress(address);
    if (!a) return Promise.resolve('error');
    return new Promise<ProbeResult>((resolve) => {
      let done = false;
      const sock = connect({ host: a.host, port: a.port });
      const finish = (r: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      sock.once('connect', () => finish('accepted'));
      sock.once('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? 'refused' : 'error'));
    });
  }
}
