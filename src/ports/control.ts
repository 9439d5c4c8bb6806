// The control contract (proto/tsha/control/v1/control.proto) as TypeScript data, and the port the
// agent's runtime implements to answer it. The gRPC server on the Unix socket
// (src/adapters/grpc/control-server.ts) decodes requests, calls these handlers and encodes their
// answers; the CLI uses src/adapters/grpc/control-client.ts. Field comments live in the .proto
// file; test/unit/proto-roundtrip.test.ts fails if the two drift apart.

import type { FenceCheckReport } from './fencer.js';
import type { QuorumMode } from '../config/types.js';
import type { NodeStatusState } from '../core/cluster/status.js';

export type { NodeStatusState, QuorumMode };
export type ResourceState = 'started' | 'stopped' | 'failed' | 'promoted' | 'unpromoted' | 'starting' | 'stopping';
export type TargetRole = 'started' | 'stopped' | 'promoted' | 'unpromoted';
export type ActionStatus = 'ok' | 'error' | 'errorHard' | 'errorFatal' | 'timeout' | 'notInstalled';
export type FenceAction = 'off' | 'reboot' | 'on';
export type FenceStatus = 'pending' | 'ok' | 'failed' | 'timeout';
export type NodeAction = 'standby' | 'online' | 'maintenanceOn' | 'maintenanceOff';
export type WitnessState = 'none' | 'reachable' | 'unreachable' | 'unknown';

export interface StatusRequest {
  includeInactive: boolean;
  fenceHistoryLimit: number;
}

export interface WatchRequest {
  includeInactive: boolean;
  fenceHistoryLimit: number;
  minIntervalMs: number;
}

export interface Quorum {
  quorate: boolean;
  mode: QuorumMode;
  votesHave: number;
  votesNeeded: number;
  votesTotal: number;
  witness: string;
  witnessState: WitnessState;
  witnessViews: WitnessView[];
}

export interface WitnessView {
  node: string;
  state: WitnessState;
  lastContactAgeMs: number;
  heard: boolean;
  term: number;
  reportAgeMs: number;
}

export interface NodeStatus {
  name: string;
  state: NodeStatusState;
  standby: boolean;
  maintenance: boolean;
  isSelf: boolean;
  isCoordinator: boolean;
  votes: number;
  meshAddress: string;
  attributes: Record<string, string>;
  leaseRemainingMs: number;
  /** agent away and not fenced for this much longer (a restart or crash grace), 0 when none */
  restartGraceRemainingMs: number;
  restartGraceCause: '' | 'restart' | 'crash';
}

export interface FailCount {
  node: string;
  operation: string;
  count: number;
  lastFailureUnixMs: number;
}

export interface ResourceStatus {
  id: string;
  kind: string;
  agent: string;
  group: string;
  clone: string;
  promotable: boolean;
  state: ResourceState;
  nodes: string[];
  targetRole: TargetRole;
  managed: boolean;
  reason: string;
  failCounts: FailCount[];
  blocked: boolean;
}

export interface FailedAction {
  resource: string;
  operation: string;
  intervalMs: number;
  node: string;
  status: ActionStatus;
  exitCode: number;
  exitReason: string;
  timeUnixMs: number;
  durationMs: number;
}

export interface FenceEvent {
  target: string;
  action: FenceAction;
  status: FenceStatus;
  device: string;
  executor: string;
  requestedBy: string;
  reason: string;
  timeUnixMs: number;
}

export interface ClusterStatus {
  clusterName: string;
  clusterId: string;
  nodeSelf: string;
  coordinator: string;
  term: number;
  quorum: Quorum | null;
  lastChangeUnixMs: number;
  lastChangeBy: string;
  generatedAtUnixMs: number;
  agentVersion: string;
  maintenanceMode: boolean;
  fencingEnabled: boolean;
  nodes: NodeStatus[];
  resources: ResourceStatus[];
  failedActions: FailedAction[];
  fenceHistory: FenceEvent[];
  commitIndex: number;
  storage: StorageStatus[];
  storageHistory: StorageEvent[];
  operatorConstraints: OperatorConstraint[];
  /** "" normally; the answering node's state directory refuses writes: the cause (docs/agent.md, "Durable state") */
  stateDirFault: string;
}

export interface OperatorConstraint {
  resource: string;
  node: string;
  score: number;
  remainingMs: number;
}

export interface StorageClient {
  client: string;
  address: string;
  node: string;
}

export interface BlocklistEntry {
  address: string;
  until: string;
}

export interface DrbdPeerStatus {
  node: string;
  connection: string;
  role: string;
  disk: string;
}

export interface StorageStatus {
  resource: string;
  type: string;
  name: string;
  seenFrom: string;
  readAtUnixMs: number;
  error: string;
  lockHolders: StorageClient[];
  watchers: StorageClient[];
  blocklisted: BlocklistEntry[];
  role: string;
  disk: string;
  peers: DrbdPeerStatus[];
}

export interface StorageEvent {
  resource: string;
  step: string;
  node: string;
  lost: string;
  status: ActionStatus;
  reason: string;
  timeUnixMs: number;
  transition: number;
}

export interface Ban {
  node: string;
  lifetimeMs: number;
  promotedOnly: boolean;
}
export interface Clear {
  node: string;
}
export interface Move {
  node: string;
  lifetimeMs: number;
  promotedOnly: boolean;
}
export interface Cleanup {
  node: string;
  operation: string;
}
export interface SetTargetRole {
  targetRole: TargetRole;
}
export interface SetManaged {
  managed: boolean;
}
export interface Restart {
  node: string;
}

export type ResourceCommand =
  | { command: 'ban'; ban: Ban }
  | { command: 'clear'; clear: Clear }
  | { command: 'move'; move: Move }
  | { command: 'cleanup'; cleanup: Cleanup }
  | { command: 'setTargetRole'; setTargetRole: SetTargetRole }
  | { command: 'setManaged'; setManaged: SetManaged }
  | { command: 'restart'; restart: Restart };

export type ResourceCommandRequest = { resource: string; requestedBy: string } & ResourceCommand;

export interface NodeCommandRequest {
  node: string;
  action: NodeAction;
  requestedBy: string;
}

export interface FenceCommandRequest {
  node: string;
  action: FenceAction;
  requestedBy: string;
  cancel: boolean;
  waitMs: number;
}

export interface FenceCheckRequest {
  node: string;
}

export type { FenceCheckNode, FenceCheckReport, FenceCheckRow } from './fencer.js';

export interface CommandResult {
  message: string;
  committedIndex: number;
  warnings: string[];
}

export interface DrbdFencePeerRequest {
  resource: string;
  peerNode: string;
  peerAddress: string;
  timeoutMs: number;
  unfence: boolean;
}

export type DrbdFenceOutcome = 'fenced' | 'outdated' | 'peerPrimary' | 'failed' | 'unfenced';

export interface DrbdFencePeerResult {
  outcome: DrbdFenceOutcome;
  peer: string;
  message: string;
}

/** Control message type names as the .proto declares them, for codec lookups. */
export const CONTROL_TYPES = {
  statusRequest: 'tsha.control.v1.StatusRequest',
  watchRequest: 'tsha.control.v1.WatchRequest',
  clusterStatus: 'tsha.control.v1.ClusterStatus',
  resourceCommandRequest: 'tsha.control.v1.ResourceCommandRequest',
  nodeCommandRequest: 'tsha.control.v1.NodeCommandRequest',
  fenceCommandRequest: 'tsha.control.v1.FenceCommandRequest',
  fenceCheckRequest: 'tsha.control.v1.FenceCheckRequest',
  fenceCheckReport: 'tsha.control.v1.FenceCheckReport',
  commandResult: 'tsha.control.v1.CommandResult',
  schedulerInputRequest: 'tsha.control.v1.SchedulerInputRequest',
  schedulerInputResponse: 'tsha.control.v1.SchedulerInputResponse',
  historyRequest: 'tsha.control.v1.HistoryRequest',
  historyResponse: 'tsha.control.v1.HistoryResponse',
  drbdFencePeerRequest: 'tsha.control.v1.DrbdFencePeerRequest',
  drbdFencePeerResult: 'tsha.control.v1.DrbdFencePeerResult',
} as const;

export interface HistoryRequest {
  limit: number;
}

export interface HistoryEntry {
  timeUnixMs: number;
  index: number;
  kind: string;
  node: string;
  resource: string;
  text: string;
}

export interface HistoryResponse {
  events: HistoryEntry[];
  nodeSelf: string;
}

export interface SchedulerInputRequest {
  assumeQuorum: boolean;
}

export interface SchedulerInputResponse {
  inputJson: string;
  nodeSelf: string;
  coordinator: string;
}

/** Why a command was refused; mapped onto a gRPC status code by the server and back by the client. */
export type ControlErrorCode = 'notFound' | 'failedPrecondition' | 'invalidArgument' | 'unavailable' | 'internal';

/**
 * A refusal a handler throws on purpose (unknown resource, no quorum); anything else a handler
 * throws is reported to the CLI as `internal` and logged by the server.
 */
export class ControlCommandError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlCommandError';
  }
}

/** A subscription to status changes; the server calls `close` when the client goes away. */
export interface StatusSubscription {
  close(): void;
}

/** What the runtime implements; the control server only decodes, calls, encodes. */
export interface ControlHandlers {
  status(req: StatusRequest): Promise<ClusterStatus>;
  resourceCommand(req: ResourceCommandRequest): Promise<CommandResult>;
  nodeCommand(req: NodeCommandRequest): Promise<CommandResult>;
  schedulerInput(req: SchedulerInputRequest): Promise<SchedulerInputResponse>;
  history(req: HistoryRequest): Promise<HistoryResponse>;
  fenceCommand(req: FenceCommandRequest): Promise<CommandResult>;
  fenceCheck(req: FenceCheckRequest): Promise<FenceCheckReport>;
  /**
   * Calls `onChange` whenever the status may have changed (the server fetches a fresh status via
   * `status()`, coalesced to at most one per `minIntervalMs`). Returns the subscription to close.
   */
  subscribe(onChange: () => void): StatusSubscription;
  /**
   * DRBD's fence-peer (and after-resync-target) handler on this node; absent on an agent without
   * DRBD fencing (the witness), which then refuses the call.
   */
  drbdFencePeer?(req: DrbdFencePeerRequest): Promise<DrbdFencePeerResult>;
}
