// The TCP probe adapter against real sockets on loopback: a listener accepts, a closed port is
// refused by the kernel (RST → ECONNREFUSED, the only result the core acts on).
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpProbe, splitAddress } from '../../src/adapters/probe/index.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(): Promise<number> {
  const s = createServer((c) => c.destroy());
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as AddressInfo).port;
}

describe('TcpProbe', () => {
  it('a listening port is accepted', async () => {
    const port = await listen();
    expect(await new TcpProbe().probe(`127.0.0.1:${port}`, 1000)).toBe('accepted');
  });

  it('a port nothing listens on (the agent is gone) is refused', async () => {
    const port = await listen();
    await new Promise((r) => servers.pop()!.close(r)); // the "agent" died: its port is closed now
    expect(await new TcpProbe().probe(`127.0.0.1:${port}`, 1000)).toBe('refused');
  });

  it('a malformed address is an error, never evidence', async () => {
    expect(await new TcpProbe().probe('nonsense', 100)).toBe('error');
    expect(splitAddress('[::1]:7400')).toEqual({ host: '::1', port: 7400 });
    expect(splitAddress('10.0.0.1:0')).toBeNull();
  });
});
