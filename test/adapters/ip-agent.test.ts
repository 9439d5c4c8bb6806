// Virtual IP resources against the real kernel: two network namespaces this file creates, joined by
// a veth pair. The agent acts in "host" (interface vip0, entered with nsenter); "peer" (interface
// peer0) is a neighbour on the same link whose ARP cache shows what the gratuitous ARP did.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpAgent } from '../../src/adapters/ip/index.js';
import type { ResourceRef } from '../../src/ports/resource-agent.js';

const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
const has = (cmd: string) => sh(['sh', '-c', `command -v ${cmd}`]).status === 0;
const missing = [process.getuid?.() === 0 ? null : 'root', ...['ip', 'nsenter', 'arping', 'ping'].map((c) => (has(c) ? null : c))].filter((x) => x !== null);
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`CI must run the virtual IP adapter tests; missing: ${missing.join(', ')}`);

const tag = `tip${process.pid % 100000}`;
const HOST = `${tag}-h`;
const PEER = `${tag}-p`;
const HOST_IP = '10.77.0.1';
const PEER_IP = '10.77.0.2';
const VIP = '10.77.0.10';
const dir = mkdtempSync(join(tmpdir(), 'tsha-ip-'));

const inNs = (ns: string, argv: string[]) => {
  const r = sh(['nsenter', `--net=/run/netns/${ns}`, ...argv]);
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const ok = (ns: string, argv: string[]) => {
  const r = inNs(ns, argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} in ${ns}: ${r.err}`);
  return r.out;
};
const addresses = (ns: string, dev: string): string[] =>
  (JSON.parse(ok(ns, ['ip', '-j', 'address', 'show', 'dev', dev])) as { addr_info: { local: string; prefixlen: number }[] }[])[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
const mac = (ns: string, dev: string): string => (JSON.parse(ok(ns, ['ip', '-j', 'link', 'show', 'dev', dev])) as { address: string }[])[0]!.address;
const neighbour = (ns: string, dev: string, ip: string): string | null =>
  (JSON.parse(ok(ns, ['ip', '-j', 'neigh', 'show', 'dev', dev, 'to', ip])) as { lladdr?: string }[])[0]?.lladdr ?? null;
/** processes of this machine whose command line has every one of the words */
const processesWith = (...words: string[]): number[] =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return words.every((w) => cmd.includes(w));
      } catch {
        return false;
      }
    })
    .map(Number);
const until = async (what: string, check: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const agent = new IpAgent({ commandPrefix: ['nsenter', `--net=/run/netns/${HOST}`] });
const T = { timeoutMs: 5000 };
const vip = (params: Record<string, string>): ResourceRef => ({ id: 'vip', kind: 'ip', params: { address: `${VIP}/24`, interface: 'vip0', ...params } });

describe.skipIf(missing.length > 0)('IpAgent on a veth pair between two network namespaces', () => {
  beforeAll(() => {
    for (const ns of [HOST, PEER]) {
      sh(['ip', 'netns', 'del', ns]); // left by a killed run with this PID
      const r = sh(['ip', 'netns', 'add', ns]);
      if (r.status !== 0) throw new Error(`ip netns add ${ns}: ${r.stderr}`);
    }
    const veth = sh(['ip', 'link', 'add', 'vip0', 'netns', HOST, 'type', 'veth', 'peer', 'name', 'peer0', 'netns', PEER]);
    if (veth.status !== 0) throw new Error(`veth: ${veth.stderr}`);
    ok(HOST, ['ip', 'link', 'property', 'add', 'dev', 'vip0', 'altname', 'lan-vip0']);
    ok(HOST, ['ip', 'link', 'set', 'lo', 'up']);
    ok(HOST, ['ip', 'address', 'add', `${HOST_IP}/24`, 'dev', 'vip0']);
    ok(HOST, ['ip', 'link', 'set', 'vip0', 'up']);
    ok(PEER, ['ip', 'link', 'set', 'lo', 'up']);
    ok(PEER, ['ip', 'address', 'add', `${PEER_IP}/24`, 'dev', 'peer0']);
    ok(PEER, ['ip', 'link', 'set', 'peer0', 'up']);
  });
  afterAll(async () => {
    await agent.close();
    for (const ns of [HOST, PEER]) sh(['ip', 'netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('start adds the address and announces it: the peer\'s stale neighbour entry now has the holder\'s MAC', async () => {
    // the peer last saw the VIP at another MAC (a previous holder): only the gratuitous ARP corrects it
    ok(PEER, ['ip', 'neigh', 'replace', VIP, 'lladdr', '02:00:5e:00:00:99', 'dev', 'peer0', 'nud', 'stale']);
    expect((await agent.monitor(vip({}), T)).state).toBe('stopped');
    const started = await agent.start(vip({}), T);
    expect(started).toEqual({ status: 'ok' });
    expect(addresses(HOST, 'vip0')).toContain(`${VIP}/24`);
    expect(await agent.monitor(vip({}), T)).toMatchObject({ status: 'ok', state: 'running', running: true });
    const holder = mac(HOST, 'vip0');
    await until('the peer to learn the VIP at the holder\'s MAC', () => neighbour(PEER, 'peer0', VIP) === holder, 3000);
    expect(inNs(PEER, ['ping', '-c', '1', '-W', '1', VIP]).code).toBe(0);
  });

  it('start of a running address is a no-op; stop removes it; stop again is a no-op', async () => {
    expect(await agent.start(vip({}), T)).toEqual({ status: 'ok', reason: 'already running' });
    expect(addresses(HOST, 'vip0').filter((a) => a === `${VIP}/24`)).toHaveLength(1);
    expect(await agent.stop(vip({}), T)).toEqual({ status: 'ok' });
    expect(addresses(HOST, 'vip0')).not.toContain(`${VIP}/24`);
    expect(await agent.monitor(vip({}), T)).toMatchObject({ status: 'ok', state: 'stopped', running: false });
    expect(await agent.stop(vip({}), T)).toEqual({ status: 'ok', reason: 'already stopped' });
    expect(inNs(PEER, ['ping', '-c', '1', '-W', '1', VIP]).code).not.toBe(0);
  });

  it('an alternative interface name works, the gratuitous ARP too (arping needs the kernel name)', async () => {
    ok(PEER, ['ip', 'neigh', 'replace', VIP, 'lladdr', '02:00:5e:00:00:98', 'dev', 'peer0', 'nud', 'stale']);
    const alt = vip({ interface: 'lan-vip0' });
    expect(await agent.start(alt, T)).toEqual({ status: 'ok' });
    expect(await agent.monitor(alt, T)).toMatchObject({ status: 'ok', state: 'running' });
    const holder = mac(HOST, 'vip0');
    await until('the peer to learn the VIP at the holder\'s MAC', () => neighbour(PEER, 'peer0', VIP) === holder, 3000);
    expect(await agent.stop(alt, T)).toEqual({ status: 'ok' });
    expect(addresses(HOST, 'vip0')).not.toContain(`${VIP}/24`);
  });

  it('with arpCount 0 nothing is announced: the peer keeps the old MAC (the control for the first test)', async () => {
    ok(PEER, ['ip', 'neigh', 'replace', VIP, 'lladdr', '02:00:5e:00:00:99', 'dev', 'peer0', 'nud', 'stale']);
    expect(await agent.start(vip({ arpCount: '0' }), T)).toEqual({ status: 'ok' });
    await new Promise((r) => setTimeout(r, 300));
    expect(neighbour(PEER, 'peer0', VIP)).toBe('02:00:5e:00:00:99');
    expect(await agent.stop(vip({ arpCount: '0' }), T)).toEqual({ status: 'ok' });
    ok(PEER, ['ip', 'neigh', 'del', VIP, 'dev', 'peer0']);
  });

  it('the probe only reads', async () => {
    expect(await agent.probe(vip({}), T)).toMatchObject({ status: 'ok', state: 'stopped', running: false });
    expect(addresses(HOST, 'vip0')).not.toContain(`${VIP}/24`);
    ok(HOST, ['ip', 'address', 'add', `${VIP}/24`, 'dev', 'vip0']); // left by a previous agent: re-adopted
    expect(await agent.probe(vip({}), T)).toMatchObject({ status: 'ok', state: 'running', running: true });
    expect(await agent.stop(vip({}), T)).toEqual({ status: 'ok' });
  });

  it('the same address with another prefix is not this resource', async () => {
    ok(HOST, ['ip', 'address', 'add', `${VIP}/16`, 'dev', 'vip0']);
    expect((await agent.monitor(vip({}), T)).state).toBe('stopped');
    ok(HOST, ['ip', 'address', 'del', `${VIP}/16`, 'dev', 'vip0']);
  });

  it('stop ends the background gratuitous ARPs', async () => {
    expect(await agent.start(vip({ arpCount: '20' }), T)).toEqual({ status: 'ok' });
    expect(processesWith('arping', VIP)).not.toEqual([]);
    expect(await agent.stop(vip({ arpCount: '20' }), T)).toEqual({ status: 'ok' });
    await until('arping to be gone', () => processesWith('arping', VIP).length === 0, 2000);
  });

  it('IPv6: start returns after DAD, the kernel\'s unsolicited advertisement updates the peer, found under its canonical form, removed', async () => {
    ok(PEER, ['ip', 'address', 'add', '2001:db8:77::2/64', 'dev', 'peer0', 'nodad']);
    ok(PEER, ['ip', 'neigh', 'replace', '2001:db8:77::10', 'lladdr', '02:00:5e:00:00:97', 'dev', 'peer0', 'nud', 'stale']);
    const v6 = vip({ address: '2001:DB8:77:0::0010/64' });
    const t0 = Date.now();
    expect(await agent.start(v6, T)).toEqual({ status: 'ok' });
    const dadMs = Date.now() - t0;
    expect(addresses(HOST, 'vip0')).toContain('2001:db8:77::10/64');
    expect(await agent.monitor(v6, T)).toMatchObject({ status: 'ok', state: 'running' });
    const holder = mac(HOST, 'vip0');
    await until('the peer to learn the IPv6 VIP at the holder\'s MAC', () => neighbour(PEER, 'peer0', '2001:db8:77::10') === holder, 2000);
    expect(inNs(PEER, ['ping', '-c', '1', '-W', '1', '2001:db8:77::10']).code).toBe(0);
    expect(await agent.start(v6, T)).toEqual({ status: 'ok', reason: 'already running' });
    expect(await agent.stop(v6, T)).toEqual({ status: 'ok' });
    expect(addresses(HOST, 'vip0')).not.toContain('2001:db8:77::10/64');
    console.log(`[ip-agent] IPv6 start including duplicate address detection: ${dadMs} ms`);
  });

  it('IPv6: an address another host has fails DAD: start is an error and the address is removed again', async () => {
    ok(PEER, ['ip', 'address', 'add', '2001:db8:77::20/64', 'dev', 'peer0', 'nodad']);
    const dup = vip({ address: '2001:db8:77::20/64' });
    const r = await agent.start(dup, T);
    expect(r.status).toBe('error');
    expect(r.reason).toMatch(/duplicate address detected/);
    expect(addresses(HOST, 'vip0')).not.toContain('2001:db8:77::20/64');
    expect(await agent.monitor(dup, T)).toMatchObject({ status: 'ok', state: 'stopped' });
  });

  it('an interface this node does not have: start notInstalled, monitor and probe notInstalled + stopped, stop ok', async () => {
    const r = vip({ interface: 'nosuch0' });
    const started = await agent.start(r, T);
    expect(started.status).toBe('notInstalled');
    expect(started.reason).toMatch(/interface "nosuch0" does not exist on this node \(resources\.vip\.params\.interface\)/);
    expect(await agent.monitor(r, T)).toMatchObject({ status: 'notInstalled', state: 'stopped', running: false });
    expect(await agent.probe(r, T)).toMatchObject({ status: 'notInstalled', running: false });
    expect((await agent.stop(r, T)).status).toBe('ok');
  });

  it('an invalid address is a configuration error naming the field (errorFatal), nothing is run', async () => {
    for (const address of ['10.77.0.10', '10.77.0.300/24', '10.77.0.255/24', 'fe80::1/64']) {
      const r = await agent.start(vip({ address }), T);
      expect(r.status).toBe('errorFatal');
      expect(r.reason).toMatch(/^resources\.vip\.params\.address: /);
    }
    expect((await agent.start(vip({ interface: 'a/b' }), T)).reason).toMatch(/^resources\.vip\.params\.interface: /);
  });

  it('without arping, a start that should announce is notInstalled and changes nothing; arpCount 0 needs no arping', async () => {
    const noArping = new IpAgent({ commandPrefix: ['nsenter', `--net=/run/netns/${HOST}`], arping: join(dir, 'no-arping') });
    const r = await noArping.start(vip({}), T);
    expect(r.status).toBe('notInstalled');
    expect(r.reason).toMatch(/no-arping \(iputils\) not found/);
    expect(addresses(HOST, 'vip0')).not.toContain(`${VIP}/24`);
    expect(await noArping.start(vip({ arpCount: '0' }), T)).toEqual({ status: 'ok' });
    expect(await noArping.stop(vip({ arpCount: '0' }), T)).toEqual({ status: 'ok' });
    await noArping.close();
  });

  it('a command that hangs is killed with its process group at the timeout', async () => {
    const hang = join(dir, 'hanging-ip');
    writeFileSync(hang, '#!/bin/sh\nsleep 30 &\necho $! > "$0.child"\nwait\n');
    chmodSync(hang, 0o755);
    const slow = new IpAgent({ ip: hang });
    const t0 = Date.now();
    const m = await slow.monitor(vip({}), { timeoutMs: 300 });
    expect(m).toMatchObject({ status: 'timeout', running: true });
    expect(Date.now() - t0).toBeLessThan(2000);
    const child = Number(readFileSync(`${hang}.child`, 'utf8'));
    await until('the hanging command\'s child to be killed', () => {
      try {
        return readFileSync(`/proc/${child}/stat`, 'utf8').includes(') Z ');
      } catch {
        return true;
      }
    }, 2000);
  });
});
