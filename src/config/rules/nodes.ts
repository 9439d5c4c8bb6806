// Nodes and the witness: unique addresses, keys and names; one id space for resources, groups,
// clones and fence devices.

import { ADDRESS } from '../options.js';
import { joinPath } from '../issues.js';
import { type Model, valid } from './model.js';

export function checkAddresses({ s, ctx }: Model): void {
  const seen = new Map<string, string>();
  const claim = (address: string, path: string) => {
    const port = Number(ADDRESS.exec(address)?.[3] ?? '0');
    if (port < 1 || port > 65535) ctx.error(path, `port ${port} is out of range (1–65535)`);
    const key = address.toLowerCase();
    const other = seen.get(key);
    if (other !== undefined) ctx.error(path, `address ${JSON.stringify(address)} is already used by ${other}`);
    else seen.set(key, path.replace(/\.address$/, ''));
  };
  if (valid(s.nodes)) for (const [name, node] of Object.entries(s.nodes)) claim(node.address, joinPath(joinPath('nodes', name), 'address'));
  // WireGuard keys identify peers: two members with one key would be one peer to the tunnel.
  const keys = new Map<string, string>();
  const members: [string, { publicKey: string | null }][] = [
    ...(valid(s.nodes) ? Object.entries(s.nodes).map(([n, node]) => [joinPath('nodes', n), node] as [string, { publicKey: string | null }]) : []),
    ...(valid(s.witness) && s.witness ? [['witness', s.witness] as [string, { publicKey: string | null }]] : []),
  ];
  for (const [path, member] of members) {
    if (member.publicKey === null) continue;
    const other = keys.get(member.publicKey);
    if (other !== undefined) ctx.error(joinPath(path, 'publicKey'), `is the same key as ${other}.publicKey: every member needs its own WireGuard key`);
    else keys.set(member.publicKey, path);
  }
  if (valid(s.witness) && s.witness) {
    claim(s.witness.address, 'witness.address');
    if (valid(s.nodes) && Object.hasOwn(s.nodes, s.witness.name)) {
      ctx.error('witness.name', `${JSON.stringify(s.witness.name)} is already a node name: the witness is a separate machine`);
    }
  }
}

/** Resources, groups, clones and fence devices share one id space. */
export function checkUniqueIds(m: Model): void {
  const owners = new Map<string, string>();
  const spaces: [string, Set<string>][] = [
    ['resources', m.resourceIds],
    ['groups', m.groupIds],
    ['clones', m.cloneIds],
    ['fencing.devices', m.deviceIds],
  ];
  for (const [section, ids] of spaces) {
    for (const id of ids) {
      const path = joinPath(section, id);
      const first = owners.get(id);
      if (first !== undefined) m.ctx.error(path, `id ${JSON.stringify(id)} is already used by ${first}: resources, groups, clones and fence devices share one id space`);
      else owners.set(id, path);
    }
  }
}
