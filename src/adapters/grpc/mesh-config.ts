// From the compiled configuration to the mesh transport's options, for an agent (self is a node)
// and for `tsha witness` (self is the witness). Mesh addresses may be DNS names in the
// configuration; they are resolved here, once, because the transport admits calls by source IP and
// so needs IP literals (over WireGuard, the name must resolve to the peer's tunnel address).
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { CompiledConfig } from '../../config/types.js';
import type { TransportCounters } from '../../ports/transport.js';
import { MeshConfigError, type MeshPeer, type MeshTlsOptions, type MeshTransportOptions } from './mesh-transport.js';

export type Lookup = (host: string) => Promise<string>;

const defaultLookup: Lookup = async (host) => (await dnsLookup(host, { verbatim: true })).address;

function splitHostPort(address: string): { host: string; port: string } | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]+):(\d+)$/.exec(address);
  return m?.[1] && m[2] ? { host: m[1], port: m[2] } : null;
}

/** "name:port" → "ip:port" ("[ip6]:port"); IP literals pass unchanged. */
export async function resolveMeshAddress(address: string, field: string, lookup: Lookup = defaultLookup): Promise<string> {
  const hp = splitHostPort(address);
  if (!hp) throw new MeshConfigError(field, `"${address}" is not "host:port"`);
  let ip = hp.host;
  if (!isIP(ip)) {
    try {
      ip = await lookup(hp.host);
    } catch (e) {
      throw new MeshConfigError(field, `cannot resolve "${hp.host}": ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return isIP(ip) === 6 ? `[${ip}]:${hp.port}` : `${ip}:${hp.port}`;
}

export interface MeshDeps {
  logger: Logger;
  counters?: TransportCounters;
  tls?: MeshTlsOptions;
  lookup?: Lookup;
}

/**
 * Options for the node (or witness) `self`: listen on its own mesh address, talk to every other
 * node and the witness, a per-message deadline of one heartbeat interval.
 */
export async function meshOptionsFromConfig(config: CompiledConfig, self: string, deps: MeshDeps): Promise<MeshTransportOptions> {
  const lookup = deps.lookup ?? defaultLookup;
  const everyone: { name: string; meshAddress: string; field: string }[] = config.nodes.map((n, i) => ({
    name: n.name, meshAddress: n.meshAddress, field: `nodes[${i}].address`,
  }));
  if (config.witness) everyone.push({ name: config.witness.name, meshAddress: config.witness.meshAddress, field: 'witness.address' });
  const me = everyone.find((e) => e.name === self);
  if (!me) throw new MeshConfigError('self', `"${self}" is neither a node nor the witness of cluster ${config.clusterName}`);
  const peers: MeshPeer[] = [];
  for (const e of everyone) {
    if (e === me) continue;
    peers.push({ name: e.name, meshAddress: await resolveMeshAddress(e.meshAddress, e.field, lookup) });
  }
  return {
    self,
    clusterId: config.clusterId,
    listen: await resolveMeshAddress(me.meshAddress, me.field, lookup),
    peers,
    deliverTimeoutMs: config.timing.heartbeatIntervalMs,
    logger: deps.logger,
    counters: deps.counters,
    tls: deps.tls,
  };
}
