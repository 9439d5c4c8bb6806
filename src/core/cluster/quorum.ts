// Quorum maths, kept tiny and separate so it can be checked against a deliberately simple
// reference implementation (test/unit/cluster/quorum.test.ts), as etcd-io/raft does.
//
// Three modes (DESIGN.md "Quorum"):
// - majority: a set is quorate when its votes are a strict majority of all voters' votes.
// - witness: two nodes plus the witness, one vote each; the same strict-majority rule, the
//   witness being an ordinary voter that hosts nothing.
// - two_node: two nodes alone. A set is quorate when it holds every voter not excluded. A node
//   excludes its peer only after a fence agent confirmed the peer powered off, so "both sides
//   quorate" can never happen with both alive; a node that has not yet seen its peer since it
//   started (wait-for-all) excludes nobody.

import type { NodeName, QuorumMode } from '../../config/types.js';

export interface Voter {
  name: NodeName;
  votes: number;
}

export interface QuorumSpec {
  mode: QuorumMode;
  /** every voter, witness included (the witness with one vote) */
  voters: readonly Voter[];
  /** two_node only: voters confirmed fenced (powered off) that no longer count */
  excluded?: ReadonlySet<NodeName>;
}

function totalVotes(voters: readonly Voter[]): number {
  let t = 0;
  for (const v of voters) t += v.votes;
  return t;
}

/** Whether the voters in `present` form a quorum under `spec`. Non-voters in `present` are ignored. */
export function hasQuorum(spec: QuorumSpec, present: ReadonlySet<NodeName>): boolean {
  return quorateWhere(spec, (name) => present.has(name));
}

/** The quorum rule itself: whether the voters for which `isPresent` holds form a quorum. */
function quorateWhere(spec: QuorumSpec, isPresent: (name: NodeName) => boolean): boolean {
  if (spec.voters.length === 0) return false;
  if (spec.mode === 'two_node') {
    let any = false;
    for (const v of spec.voters) {
      if (spec.excluded?.has(v.name)) continue;
      if (!isPresent(v.name)) return false;
      any = true;
    }
    return any;
  }
  let have = 0;
  for (const v of spec.voters) if (isPresent(v.name)) have += v.votes;
  return 2 * have > totalVotes(spec.voters);
}

/**
 * The largest index N such that the voters whose acknowledged index is ≥ N form a quorum
 * (Raft §5.3/§5.4.2 commit rule, before the current-term check the caller applies).
 * Voters missing from `acked` count as 0.
 */
export function quorumIndex(spec: QuorumSpec, acked: ReadonlyMap<NodeName, number>): number {
  return quorumIndexOf(spec, (name) => acked.get(name) ?? 0, 0);
}

/**
 * quorumIndex over `ackedOf(voter)`, `none` when no value is acknowledged by a quorum. Builds no
 * map, set or array: a coordinator runs it several times per step (commit, lease, every heartbeat
 * it sends). Each voter's value is a candidate, the largest quorate one wins; a handful of voters.
 */
export function quorumIndexOf(spec: QuorumSpec, ackedOf: (name: NodeName) => number, none: number): number {
  let best = none;
  let found = false;
  for (const c of spec.voters) {
    const n = ackedOf(c.name);
    if (found && n <= best) continue;
    if (quorateWhere(spec, (name) => ackedOf(name) >= n)) {
      best = n;
      found = true;
    }
  }
  return best;
}

/** The voters a leader must hear from to stay leader (for naming in logs and status). */
export function quorumSize(spec: QuorumSpec): number {
  if (spec.mode === 'two_node') return spec.voters.filter((v) => !spec.excluded?.has(v.name)).length;
  // smallest number of voters, largest votes first, that reaches a strict majority
  const sorted = [...spec.voters].sort((a, b) => b.votes - a.votes);
  const total = totalVotes(spec.voters);
  let have = 0;
  let n = 0;
  for (const v of sorted) {
    have += v.votes;
    n++;
    if (2 * have > total) return n;
  }
  return n;
}
