// Interface addresses: parsing, the canonical IPv6 form iproute2 prints, and the status label.
import { describe, expect, it } from 'vitest';
import { formatV6, parseInterfaceAddress, virtualIpLabel } from '../../../src/config/ip-address.js';

describe('parseInterfaceAddress', () => {
  it.each([
    ['192.0.2.10/24', 4, '192.0.2.10', 24],
    ['10.0.0.1/8', 4, '10.0.0.1', 8],
    ['192.0.2.255/32', 4, '192.0.2.255', 32],
    ['192.0.2.1/31', 4, '192.0.2.1', 31],
    ['2001:DB8:0:0::0010/64', 6, '2001:db8::10', 64],
    ['2001:db8:0:1:0:0:0:1/128', 6, '2001:db8:0:1::1', 128],
    ['fd00::/8', 6, 'fd00::', 8],
  ])('%s → IPv%i %s/%i', (text, family, address, prefix) => {
    expect(parseInterfaceAddress(text)).toEqual({ ok: true, value: { family, address, prefix } });
  });

  it.each([
    ['192.0.2.10', /needs a prefix length/],
    ['192.0.2.10/33', /invalid prefix length \(0 to 32 for IPv4\)/],
    ['192.0.2.10/024', /invalid prefix length/],
    ['192.0.02.10/24', /is not an IPv4 address/],
    ['192.0.2/24', /is not an IPv4 address/],
    ['192.0.2.0/24', /network address of its \/24/],
    ['192.0.2.255/24', /broadcast address of its \/24/],
    ['127.0.0.2/8', /loopback/],
    ['224.0.0.5/24', /multicast/],
    ['0.0.0.0/0', /unspecified/],
    ['2001:db8::1::2/64', /is not an IPv6 address/],
    ['2001:db8:0:0:0:0:0:0:1/64', /is not an IPv6 address/],
    ['::ffff:192.0.2.1/96', /is not an IPv6 address/],
    ['fe80::1/64', /link-local/],
    ['ff02::1/64', /multicast/],
    ['::1/128', /loopback/],
  ])('%s is refused', (text, message) => {
    const r = parseInterfaceAddress(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it('writes IPv6 as RFC 5952 does: the longest zero run, the first of equals, never one group', () => {
    expect(formatV6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatV6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatV6([0x2001, 0, 0, 1, 0, 0, 0, 1])).toBe('2001:0:0:1::1');
    expect(formatV6([0, 0, 0, 0, 0, 0, 0, 1])).toBe('::1');
  });
});

describe('virtualIpLabel', () => {
  it('shows the canonical address, its prefix and the interface', () => {
    expect(virtualIpLabel({ address: '192.0.2.10/24', interface: 'eth0' })).toBe('ip:192.0.2.10/24@eth0');
    expect(virtualIpLabel({ address: '2001:DB8::0010/64', interface: 'lan0' })).toBe('ip:2001:db8::10/64@lan0');
  });
});
