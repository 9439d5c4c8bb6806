// The quorum mode is derived, never configured (like the nixpkgs corosync module setting two_node
// itself): users declare nodes, votes, a witness and fencing, and the mode follows.
//   odd total votes                                   → majority
//   exactly two voting nodes + a witness              → witness
//   exactly two voting nodes, no witness, fencing on
//   and every node fenceable (a device or watchdog)   → two_node
// Anything else (an even number of votes otherwise) is refused: a tie would stop the cluster, or
// worse, let both halves run.

import type { QuorumMode } from './types.js';

export interface QuorumInput {
  /** votes by node name */
  votes: Record<string, number>;
  hasWitness: boolean;
  fencingEnabled: boolean;
  watchdog: boolean;
  /** node names that at least one fence device lists in its hosts */
  fenceableByDevice: ReadonlySet<string>;
}

export type QuorumDerivation =
  | { ok: true; mode: QuorumMode; reason: string }
  | { ok: false; path: 'nodes' | 'witness'; reason: string };

export function deriveQuorumMode(input: QuorumInput): QuorumDerivation {
  const names = Object.keys(input.votes);
  const voters = names.filter((n) => input.votes[n]! > 0);
  const total = voters.reduce((sum, n) => sum + input.votes[n]!, 0);
  const twoEqualVoters = voters.length === 2 && input.votes[voters[0]!] === input.votes[voters[1]!];

  if (total === 0) return { ok: false, path: 'nodes', reason: 'no node has a vote: at least one node needs votes > 0' };

  if (input.hasWitness) {
    if (twoEqualVoters) {
      return { ok: true, mode: 'witness', reason: `two nodes with ${input.votes[voters[0]!]} vote(s) each and a witness that breaks the tie` };
    }
    return {
      ok: false,
      path: 'witness',
      reason: `a witness breaks ties between exactly two nodes with equal votes; this cluster has ${voters.length} voting node(s) with ${total} vote(s) in all: remove the witness`,
    };
  }

  if (total % 2 === 1) return { ok: true, mode: 'majority', reason: `${total} votes (odd): a partition needs ${Math.floor(total / 2) + 1} to be quorate` };

  if (twoEqualVoters) {
    if (!input.fencingEnabled) {
      return {
        ok: false,
        path: 'nodes',
        reason: 'two nodes without a witness need fencing (two_node mode): enable fencing with a device for each node (or the watchdog), or add a witness',
      };
    }
    const unfenceable = voters.filter((n) => !input.watchdog && !input.fenceableByDevice.has(n));
    if (unfenceable.length > 0) {
      return {
        ok: false,
        path: 'nodes',
        reason: `two nodes without a witness need every node fenceable (two_node mode): no fence device lists ${unfenceable.map((n) => JSON.stringify(n)).join(' and ')} and fencing.watchdog is false`,
      };
    }
    return { ok: true, mode: 'two_node', reason: 'two nodes without a witness, fencing on: both keep quorum, wait for all at first start, fence race decided by fenceRaceDelayMs' };
  }

  return {
    ok: false,
    path: 'nodes',
    reason: `${voters.length} voting node(s) with ${total} votes in all (even) could split into two equal halves: add or remove a node, change votes, or (two nodes only) add a witness`,
  };
}
