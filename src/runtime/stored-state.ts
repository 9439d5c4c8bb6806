// A cluster state that comes from outside this process (a snapshot on disk, one a peer sends in an
// InstallSnapshot) may have been written by an agent that predates some of its fields. It is
// completed here, once, where it is loaded or decoded, so that the core's ClusterState is total
// and the core never guesses a default for a missing field.

import type { ClusterState } from '../core/cluster/state-machine.js';

/** The fields a stored cluster state may lack: each was added after states were first written. */
type AddedLater = 'storageHistory' | 'history' | 'recovering' | 'fenceRequests' | 'outdateRequests' | 'unfenced';

export type StoredClusterState = Omit<ClusterState, AddedLater> & Partial<Pick<ClusterState, AddedLater>>;

/** `s` with every field it lacks set to its empty value (what a state that never used it holds). */
export function completeClusterState(s: StoredClusterState): ClusterState {
  return {
    ...s,
    storageHistory: s.storageHistory ?? [],
    history: s.history ?? [],
    recovering: s.recovering ?? {},
    fenceRequests: s.fenceRequests ?? {},
    outdateRequests: s.outdateRequests ?? [],
    unfenced: s.unfenced ?? {},
  };
}
