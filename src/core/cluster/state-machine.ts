// The replicated cluster state: what every node applies, in log order, from committed entries.
// A new coordinator continues from exactly this (DESIGN.md "Coordinator").

import type { NodeName, ResourceId } from '../../config/types.js';
import type { Command } from './commands.js';

export interface Placement {
  node: NodeName;
  /** log index of the assignment */
  index: number;
}

/** Where a resource was last taken off, so nobody else starts it before the holder let go. */
export interface Release {
  from: NodeName;
  index: number;
}

export interface FenceRecord {
  node: NodeName;
  cause: 'fenced' | 'lease-expired';
  term: number;
  index: number;
}

export interface ClusterState {
  voters: NodeName[];
  placements: Record<ResourceId, Placement>;
  released: Record<ResourceId, Release>;
  /** nodes down (fenced or lease expired) and not yet back: they hold nothing */
  down: Record<NodeName, FenceRecord>;
  standby: NodeName[];
  bans: { resource: ResourceId; node: NodeName }[];
  failures: { resource: ResourceId; node: NodeName; count: number; at: number }[];
  /** the last fence records, newest last (bounded) */
  fenceHistory: FenceRecord[];
  /** agents that announced a graceful restart (optional: absent in older snapshots) */
  restarting?: Record<NodeName, RestartRecord>;
}

export interface RestartRecord {
  incarnation: number;
  graceMs: number;
  index: number;
  /** 'crash': proposed by the coordinator for a crashed agent (absent: a graceful stop) */
  cause?: 'stop' | 'crash';
}

const FENCE_HISTORY = 32;

export function initialClusterState(voters: NodeName[]): ClusterState {
  return { voters: [...voters], placements: {}, released: {}, down: {}, standby: [], bans: [], failures: [], fenceHistory: [] };
}

/** Copy-on-write clone: entries are applied to a fresh object so snapshots stay immutable. */
export function cloneClusterState(s: ClusterState): ClusterState {
  return {
    voters: [...s.voters],
    placements: { ...s.placements },
    released: { ...s.released },
    down: { ...s.down },
    standby: [...s.standby],
    bans: [...s.bans],
    failures: [...s.failures],
    fenceHistory: [...s.fenceHistory],
    restarting: { ...(s.restarting ?? {}) },
  };
}

/** Apply one committed command. Mutates `s` (the caller owns a private copy). */
export function applyCommand(s: ClusterState, cmd: Command, index: number): void {
  switch (cmd.type) {
    case 'noop':
      return;
    case 'assign': {
      const cur = s.placements[cmd.resource];
      if (cmd.node === null) {
        if (cur) {
          delete s.placements[cmd.resource];
          s.released[cmd.resource] = { from: cur.node, index };
        }
      } else {
        s.placements[cmd.resource] = { node: cmd.node, index };
        delete s.released[cmd.resource];
      }
      return;
    }
    case 'nodeDown': {
      const rec: FenceRecord = { node: cmd.node, cause: cmd.cause, term: cmd.term, index };
      s.down[cmd.node] = rec;
      if (s.restarting) delete s.restarting[cmd.node];
      s.fenceHistory.push(rec);
      if (s.fenceHistory.length > FENCE_HISTORY) s.fenceHistory.shift();
      for (const [r, p] of Object.entries(s.placements)) {
        if (p.node === cmd.node) {
          delete s.placements[r];
          s.released[r] = { from: cmd.node, index };
        }
      }
      return;
    }
    case 'nodeUp':
      delete s.down[cmd.node];
      if (s.restarting) delete s.restarting[cmd.node];
      return;
    case 'restarting':
      s.restarting = {
        ...(s.restarting ?? {}),
        [cmd.node]: { incarnation: cmd.incarnation, graceMs: cmd.graceMs, index, ...(cmd.cause === 'crash' ? { cause: 'crash' as const } : {}) },
      };
      return;
    case 'standby':
      s.standby = s.standby.filter((n) => n !== cmd.node);
      if (cmd.on) s.standby.push(cmd.node);
      return;
    case 'ban':
      s.bans = s.bans.filter((b) => !(b.resource === cmd.resource && b.node === cmd.node));
      if (cmd.on) s.bans.push({ resource: cmd.resource, node: cmd.node });
      return;
    case 'failure':
      s.failures = s.failures.filter((f) => !(f.resource === cmd.resource && f.node === cmd.node));
      s.failures.push({ resource: cmd.resource, node: cmd.node, count: cmd.count, at: cmd.at });
      return;
    case 'cleanup':
      s.failures = s.failures.filter((f) => !(f.resource === cmd.resource && (cmd.node === null || f.node === cmd.node)));
      return;
    case 'voters':
      s.voters = [...cmd.voters];
      return;
  }
}

export function failCount(s: ClusterState, resource: ResourceId, node: NodeName): number {
  return s.failures.find((f) => f.resource === resource && f.node === node)?.count ?? 0;
}
