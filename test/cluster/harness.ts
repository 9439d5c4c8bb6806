// Public surface of the real-cluster harness (see README.md in this folder).
export { createCluster, clusterPrerequisites, Cluster, RUN_ID_RE, RUN_REGISTRY, FENCE_AGENT, LAN_IF } from './cluster.js';
export type { ClusterOptions, ClusterTimings, FaultEvent, LanHost, PowerLossResult } from './cluster.js';
export { ClusterNode, NodeDownError } from './node.js';
export type { NodeProcess, NodeProcessExit, NodeRole, PowerState } from './node.js';
export { sampleUnits, UnitSampler, overlap, firstActiveAfter, lastRunningOn, samplingStats, RUNNING_STATES } from './sampler.js';
export type { SampledState, SampledNode, Tick, Timeline, Overlap, OverlapInterval, FirstActive } from './sampler.js';
export { UnitSetSampler, activeNodes, settledPlacement, unitTimeline } from './unit-set-sampler.js';
export type { NodeReading, SetTick, SetTimeline } from './unit-set-sampler.js';
export { cleanupStale } from './stale.js';
export type { StaleReport } from './stale.js';
export { SystemdBus, unitObjectPath } from './systemd-bus.js';
export { handleFence } from './fence-server.js';
export type { FenceRequest, FenceResponse, FenceLogEntry } from './fence-server.js';
export { now, run, runOk, sleep, waitFor, HarnessCommandError } from './sh.js';
export type { RunResult } from './sh.js';
