// Loopback meshes (the non-root demo, tests): every agent on one machine has its own 127.0.0.x
// mesh address, but the kernel sends every loopback connection from 127.0.0.1, and the mesh admits
// calls by source IP (over WireGuard the tunnel authenticates it). So, when this node's mesh
// address is a loopback address other than 127.0.0.1, each peer is dialled through a tiny
// in-process TCP relay that connects from this node's own address (socket localAddress), the way
// a WireGuard tunnel delivers a peer's packets from its tunnel address. The relay copies bytes
// only; admission stays exactly as strict as on a real mesh.

import { connect, createServer, type Server, type Socket } from 'node:net';

export function needsSourceRelay(selfIp: string): boolean {
  return /^127\./.test(selfIp) && selfIp !== '127.0.0.1';
}

export class SourceRelay {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly address: string,
  ) {}

  /** Listen on 127.0.0.1:<any>; each connection is forwarded to `target` from `sourceIp`. */
  static async open(sourceIp: string, target: string): Promise<SourceRelay> {
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(target);
    if (!m) throw new Error(`relay target "${target}" is not host:port`);
    const host = m[1]!;
    const port = Number(m[2]);
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = connect({ host, port, localAddress: sourceIp });
      sockets.add(inbound).add(outbound);
      const end = (): void => {
        inbound.destroy();
        outbound.destroy();
        sockets.delete(inbound);
        sockets.delete(outbound);
      };
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('relay did not bind a TCP port');
    return new SourceRelay(server, sockets, `127.0.0.1:${addr.port}`);
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
