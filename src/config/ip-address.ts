// Interface addresses ("192.0.2.10/24", "2001:db8::10/64"): parsed once, here, for the
// configuration check and for the virtual-IP driver, which compares what it configured with what
// `ip -j address show` prints. IPv6 is written in its canonical text form (RFC 5952: lower case,
// leading zeros dropped, the longest run of two or more zero groups as "::"), the form iproute2
// prints, so "2001:DB8:0:0::10/64" in a configuration matches "2001:db8::10" on the interface.

export interface InterfaceAddress {
  family: 4 | 6;
  /** canonical text of the address, without the prefix */
  address: string;
  prefix: number;
}

export type ParsedAddress = { ok: true; value: InterfaceAddress } | { ok: false; error: string };

const V4_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseV4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => V4_OCTET.test(p))) return null;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** The eight 16-bit groups of an IPv6 address, or null. Dotted IPv4 tails are not accepted. */
function parseV6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): string[] | null => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail || ![...head, ...tail].every((g) => HEX_GROUP.test(g))) return null;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const zeros = new Array<string>(8 - given).fill('0');
  return [...head, ...zeros, ...tail].map((g) => parseInt(g, 16));
}

/** RFC 5952 text of eight 16-bit groups. */
export function formatV6(groups: readonly number[]): string {
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/**
 * Parse "ADDRESS/PREFIX". The prefix is required: without one the kernel would add a /32 (/128)
 * with no route to the rest of the subnet. Rejected as well: addresses that cannot be a host's
 * own unicast address on a LAN (unspecified, loopback, multicast, IPv4 broadcast and network
 * addresses, IPv6 link-local, which needs a zone).
 */
export function parseInterfaceAddress(text: string): ParsedAddress {
  const fail = (error: string): ParsedAddress => ({ ok: false, error: `${JSON.stringify(text)} ${error}` });
  const slash = text.indexOf('/');
  if (slash < 0) return fail('needs a prefix length, e.g. "192.0.2.10/24" or "2001:db8::10/64"');
  const addr = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const family = addr.includes(':') ? 6 : 4;
  const maxPrefix = family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > maxPrefix) {
    return fail(`has an invalid prefix length (0 to ${maxPrefix} for IPv${family})`);
  }
  const prefix = Number(prefixText);
  if (family === 4) {
    const o = parseV4(addr);
    if (!o) return fail('is not an IPv4 address with a prefix length, e.g. "192.0.2.10/24"');
    const value = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
    if (value === 0) return fail('is the unspecified address');
    if (o[0] === 127) return fail('is a loopback address');
    if (o[0]! >= 224) return fail(o[0]! < 240 ? 'is a multicast address' : 'is a reserved or broadcast address');
    if (prefix <= 30) {
      // (a shift by 32 is a shift by 0 in JavaScript: /0 has every bit as host bits)
      const hostMask = prefix === 0 ? 0xffffffff : 0xffffffff >>> prefix;
      const host = (value & hostMask) >>> 0;
      if (host === 0) return fail(`is the network address of its /${prefix}, not a host address`);
      if (host === hostMask) return fail(`is the broadcast address of its /${prefix}, not a host address`);
    }
    return { ok: true, value: { family, address: o.join('.'), prefix } };
  }
  const g = parseV6(addr);
  if (!g) return fail('is not an IPv6 address with a prefix length, e.g. "2001:db8::10/64"');
  if (g.every((x) => x === 0)) return fail('is the unspecified address');
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return fail('is the loopback address');
  if (g[0]! >> 8 === 0xff) return fail('is a multicast address');
  if ((g[0]! & 0xffc0) === 0xfe80) return fail('is a link-local address (it needs a zone; use a global or unique local address)');
  return { ok: true, value: { family, address: formatV6(g), prefix } };
}

/** "192.0.2.10/24" */
export function formatInterfaceAddress(a: InterfaceAddress): string {
  return `${a.address}/${a.prefix}`;
}

/**
 * Linux interface names: 1 to 15 bytes, no "/", ":" or white space, not "." or "..". An
 * alternative name (`ip link property add … altname …`) may be longer; it is accepted up to 127.
 */
export function interfaceNameError(name: string): string | null {
  if (name === '.' || name === '..') return `${JSON.stringify(name)} is not an interface name`;
  if (!/^[A-Za-z0-9_.@+-]{1,127}$/.test(name)) return `${JSON.stringify(name)} is not an interface name (letters, digits, "_", ".", "-", "@", "+"; at most 15 characters, 127 for an alternative name)`;
  return null;
}

/**
 * The label `tsha config check` and `tsha status` show for a virtual IP: "ip:192.0.2.10/24@eth0"
 * (crm_mon shows the agent, "ocf:heartbeat:IPaddr2", and leaves the address to `crm_resource
 * --query-xml`; the address and interface on the status line answer "where is the VIP" at once).
 */
export function virtualIpLabel(params: Record<string, string>): string {
  const parsed = params.address !== undefined ? parseInterfaceAddress(params.address) : null;
  const address = parsed?.ok ? formatInterfaceAddress(parsed.value) : (params.address ?? '?');
  return `ip:${address}@${params.interface ?? '?'}`;
}
