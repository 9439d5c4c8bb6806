// `tsha drbd fence-peer` and `tsha drbd unfence-peer`: DRBD's handlers, run by DRBD itself
// (drbd.conf: `handlers { fence-peer "tsha drbd fence-peer"; after-resync-target "tsha drbd
// unfence-peer"; }` with `fencing resource-and-stonith;`). They read what DRBD puts in their
// environment (DRBD_RESOURCE, DRBD_PEER_NODE_ID, DRBD_NODE_ID_<id>, DRBD_PEER_ADDRESS), ask the local
// agent (src/runtime/drbd-fencing.ts decides) and exit with the codes DRBD documents for fence-peer:
//   4  the peer's disk is outdated        7  the peer is fenced
//   6  the peer is Primary (refused)      1  error, or nothing settled in time (DRBD stays frozen/refuses)
// tsha never answers 5 ("peer unreachable, assumed dead"): a peer is only taken as unable to write
// once the cluster fenced it.

import type { Command } from 'commander';
import type { DrbdFenceOutcome, DrbdFencePeerRequest } from '../../ports/control.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';

/** fence-peer exit codes (drbd.conf(5), DRBD's kernel conn_try_outdate_peer) */
export const FENCE_PEER_EXIT: Record<DrbdFenceOutcome, number> = { outdated: 4, peerPrimary: 6, fenced: 7, failed: 1, unfenced: 0 };

/** What DRBD tells its handler, as the agent's request. */
export function fencePeerRequest(env: NodeJS.ProcessEnv, timeoutMs: number, unfence: boolean): DrbdFencePeerRequest | string {
  const resource = env.DRBD_RESOURCE;
  if (!resource) return 'DRBD_RESOURCE is not set: this is a DRBD handler, run by DRBD (drbd.conf handlers section)';
  const id = env.DRBD_PEER_NODE_ID;
  // DRBD 9 names every node by id; DRBD 8.4 passed the peer's host name as DRBD_PEER
  const peerNode = (id !== undefined ? env[`DRBD_NODE_ID_${id}`] : undefined) ?? env.DRBD_PEER ?? '';
  const peerAddress = env.DRBD_PEER_ADDRESS ?? '';
  if (!peerNode && !peerAddress) return `${resource}: neither DRBD_NODE_ID_<DRBD_PEER_NODE_ID> nor DRBD_PEER_ADDRESS names the peer`;
  return { resource, peerNode, peerAddress, timeoutMs, unfence };
}

export function register(program: Command): void {
  const drbd = program.command('drbd').description("DRBD's handlers: answered by the local agent from the cluster's state");
  const handler = (name: string, desc: string, unfence: boolean): void => {
    const c = drbd.command(name).description(desc);
    if (!unfence) c.option('--timeout <seconds>', 'give up (exit 1) when nothing settled within this long', '60');
    addSocketOption(c).action(async (opts: { socket: string; timeout?: string }) => {
      const timeoutMs = Math.round(Number(opts.timeout ?? '10') * 1000);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
        process.stderr.write(`tsha drbd ${name}: --timeout must be a positive number of seconds\n`);
        process.exitCode = 1;
        return;
      }
      const req = fencePeerRequest(process.env, timeoutMs, unfence);
      if (typeof req === 'string') {
        process.stderr.write(`tsha drbd ${name}: ${req}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        const r = await withControlClient(opts.socket, (client) => client.drbdFencePeer(req));
        const code = FENCE_PEER_EXIT[r.outcome];
        process.stdout.write(`tsha drbd ${name} ${req.resource} ${r.peer}: ${r.outcome} (exit ${code}): ${r.message}\n`);
        process.exitCode = code;
      } catch (e) {
        process.stderr.write(`tsha drbd ${name} ${req.resource}: ${agentError(e).message} (exit 1)\n`);
        process.exitCode = 1;
      }
    });
  };
  handler('fence-peer', "DRBD fence-peer handler: exit 4 (peer outdated), 6 (peer Primary), 7 (peer fenced) or 1", false);
  handler('unfence-peer', 'DRBD after-resync-target handler: forget the fence recorded for the peer (exit 0)', true);
}
