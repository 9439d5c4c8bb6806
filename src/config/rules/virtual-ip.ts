// Virtual IP resources (kind "ip"): the address, the interface and the ARP count are valid, no two
// resources hold the same address, and a virtual IP is never cloned (the same address on several
// nodes at once is an address conflict; Pacemaker's load-sharing CLUSTERIP is not built).

import type { RawPrimitive } from '../options.js';
import { joinPath } from '../issues.js';
import { interfaceNameError, parseInterfaceAddress } from '../ip-address.js';
import { type Model, cloneOf, valid } from './model.js';

const MAX_ARP_COUNT = 30;

export function checkVirtualIp(m: Model, id: string, r: RawPrimitive): void {
  const paramPath = (k: string) => joinPath(joinPath(joinPath('resources', id), 'params'), k);
  const p = r.params;
  if (p.address) {
    const parsed = parseInterfaceAddress(p.address);
    if (!parsed.ok) m.ctx.error(paramPath('address'), parsed.error);
  }
  if (p.interface) {
    const err = interfaceNameError(p.interface);
    if (err) m.ctx.error(paramPath('interface'), err);
  }
  if (p.arpCount !== undefined && !(/^(0|[1-9][0-9]?)$/.test(p.arpCount) && Number(p.arpCount) <= MAX_ARP_COUNT)) {
    m.ctx.error(paramPath('arpCount'), `${JSON.stringify(p.arpCount)} is not a number of gratuitous ARPs from 0 to ${MAX_ARP_COUNT}`);
  }
  const clone = cloneOf(m, id);
  if (clone !== null) {
    m.ctx.error(joinPath('resources', id), `a virtual IP runs on one node at a time: it cannot be in clone ${JSON.stringify(clone)}`);
  }
}

/** No two virtual IPs with the same address (whatever their prefix or interface). */
export function checkVirtualIpAddresses(m: Model): void {
  if (!valid(m.s.resources)) return;
  const holder = new Map<string, string>();
  for (const [id, r] of Object.entries(m.s.resources)) {
    if (r.kind !== 'ip' || !r.params.address) continue;
    const parsed = parseInterfaceAddress(r.params.address);
    if (!parsed.ok) continue;
    const first = holder.get(parsed.value.address);
    if (first === undefined) holder.set(parsed.value.address, id);
    else m.ctx.error(joinPath(joinPath(joinPath('resources', id), 'params'), 'address'), `${parsed.value.address} is already the address of resources.${first}`);
  }
}
