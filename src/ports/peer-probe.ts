// The peer-probe port: how the runtime carries out the core's `probePeer` effect. Production: a
// plain TCP connect to the peer's mesh address (src/adapters/probe/tcp-probe.ts), independent of
// the mesh transport. Only `refused` is evidence ("host alive, agent gone": the peer's kernel
// answered the SYN with RST, so the host and the path are up and nothing listens on the mesh port);
// every other result proves nothing — a powered-off host, a kernel panic or a cut link time out.

export type ProbeResult =
  /** ECONNREFUSED: the peer's kernel answered with RST */
  | 'refused'
  /** the connection was accepted: something listens (the agent, or a paused agent's backlog) */
  | 'accepted'
  /** no answer within the timeout */
  | 'timeout'
  /** anything else (unreachable, DNS, a bad address): no evidence either way */
  | 'error';

export interface PeerProbe {
  /** connect to host:port once, close at once; never throws */
  probe(address: string, timeoutMs: number): Promise<ProbeResult>;
}
