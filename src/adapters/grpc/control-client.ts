// The CLI's side of the control socket: `tsha status`, `tsha resource ...`, `tsha node ...`.
// Short deadlines and plain errors: an operator running `tsha status` on a node whose agent is down
// must learn that at once, in words, not from a gRPC stack trace.
import * as grpc from '@grpc/grpc-js';
import { codec, CONTROL_PACKAGE, rawServiceDefinition } from './proto.js';
import type {
  ClusterStatus, CommandResult, ControlErrorCode, DrbdFencePeerRequest, DrbdFencePeerResult, FenceCheckReport, FenceCheckRequest, FenceCommandRequest, HistoryRequest, HistoryResponse, NodeCommandRequest, ResourceCommandRequest, SchedulerInputRequest, SchedulerInputResponse, StatusRequest, WatchRequest,
} from '../../ports/control.js';
import { CONTROL_TYPES } from '../../ports/control.js';

export const DEFAULT_CONTROL_SOCKET = '/run/tsha/control.sock';

/** Nothing answers on the control socket. The message is meant for the operator as it stands. */
export class AgentUnreachableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly reason: string,
  ) {
    super(`no tsha agent reachable at ${socketPath}: ${reason}; is tsha-agent running?`);
    this.name = 'AgentUnreachableError';
  }
}

/** The agent answered and refused the request (unknown resource, no quorum, bad arguments...). */
export class ControlRequestError extends Error {
  constructor(
    readonly code: ControlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ControlRequestError';
  }
}

export interface ControlClientOptions {
  socketPath?: string;
  /** deadline of Status and connection attempts (default 2000 ms) */
  timeoutMs?: number;
  /** deadline of resource and node commands, which wait for a commit (default 10000 ms) */
  commandTimeoutMs?: number;
}

const CODE_OF: Partial<Record<grpc.status, ControlErrorCode>> = {
  [grpc.status.NOT_FOUND]: 'notFound',
  [grpc.status.FAILED_PRECONDITION]: 'failedPrecondition',
  [grpc.status.INVALID_ARGUMENT]: 'invalidArgument',
};

/** Turns grpc-js's connection failure text into a short reason an operator can act on. */
export function unreachableReason(details: string): string {
  if (/ENOENT/.test(details)) return 'the socket does not exist';
  if (/ECONNREFUSED/.test(details)) return 'connection refused (stale socket)';
  if (/EACCES|EPERM/.test(details)) return 'permission denied (run as root or as a member of the socket\'s group)';
  if (/ENOTSOCK/.test(details)) return 'the path is not a socket';
  if (/Deadline/i.test(details)) return 'no answer before the deadline';
  return details.replace(/^No connection established\. Last error: /, '').replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)$/, '');
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class ControlClient {
  readonly socketPath: string;
  private readonly client: grpc.Client;
  private readonly paths: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly commandTimeoutMs: number;

  constructor(opts: ControlClientOptions = {}) {
    this.socketPath = opts.socketPath ?? DEFAULT_CONTROL_SOCKET;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 10_000;
    this.client = new grpc.Client(`unix:${this.socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      // one attempt: a CLI reports a dead agent instead of retrying in the background
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 100,
      'grpc.enable_retries': 0,
    });
    const def = rawServiceDefinition(`${CONTROL_PACKAGE}.Control`);
    this.paths = Object.fromEntries(Object.entries(def).map(([k, v]) => [k, v.path]));
  }

  close(): void {
    this.client.close();
  }

  status(req: Partial<StatusRequest> = {}): Promise<ClusterStatus> {
    const full: StatusRequest = { includeInactive: false, fenceHistoryLimit: 0, ...req };
    return this.unary('Status', codec<StatusRequest>(CONTROL_TYPES.statusRequest).encode(full), CONTROL_TYPES.clusterStatus, this.timeoutMs, false);
  }

  resourceCommand(req: ResourceCommandRequest): Promise<CommandResult> {
    const bytes = codec<ResourceCommandRequest>(CONTROL_TYPES.resourceCommandRequest).encode(req);
    return this.unary('ResourceCommand', bytes, CONTROL_TYPES.commandResult, this.commandTimeoutMs, true);
  }

  nodeCommand(req: NodeCommandRequest): Promise<CommandResult> {
    const bytes = codec<NodeCommandRequest>(CONTROL_TYPES.nodeCommandRequest).encode(req);
    return this.unary('NodeCommand', bytes, CONTROL_TYPES.commandResult, this.commandTimeoutMs, true);
  }

  schedulerInput(req: Partial<SchedulerInputRequest> = {}): Promise<SchedulerInputResponse> {
    const bytes = codec<SchedulerInputRequest>(CONTROL_TYPES.schedulerInputRequest).encode({ assumeQuorum: false, ...req });
    return this.unary('SchedulerInput', bytes, CONTROL_TYPES.schedulerInputResponse, this.timeoutMs, false);
  }

  history(req: Partial<HistoryRequest> = {}): Promise<HistoryResponse> {
    const bytes = codec<HistoryRequest>(CONTROL_TYPES.historyRequest).encode({ limit: 0, ...req });
    return this.unary('History', bytes, CONTROL_TYPES.historyResponse, this.timeoutMs, false);
  }

  /** DRBD's fence-peer handler: answered within req.timeoutMs (plus a second for the answer to travel). */
  drbdFencePeer(req: DrbdFencePeerRequest): Promise<DrbdFencePeerResult> {
    const bytes = codec<DrbdFencePeerRequest>(CONTROL_TYPES.drbdFencePeerRequest).encode(req);
    return this.unary('DrbdFencePeer', bytes, CONTROL_TYPES.drbdFencePeerResult, req.timeoutMs + 1000, true);
  }

  /** waits for the fence itself: the deadline is the request's wait plus the command deadline */
  fenceCommand(req: FenceCommandRequest): Promise<CommandResult> {
    const bytes = codec<FenceCommandRequest>(CONTROL_TYPES.fenceCommandRequest).encode(req);
    return this.unary('FenceCommand', bytes, CONTROL_TYPES.commandResult, req.waitMs + this.commandTimeoutMs, true);
  }

  /** runs every fence device's monitor and status on the agent's node: the command deadline, at least `timeoutMs` */
  fenceCheck(req: FenceCheckRequest, timeoutMs = this.commandTimeoutMs): Promise<FenceCheckReport> {
    const bytes = codec<FenceCheckRequest>(CONTROL_TYPES.fenceCheckRequest).encode(req);
    return this.unary('FenceCheck', bytes, CONTROL_TYPES.fenceCheckReport, Math.max(timeoutMs, this.commandTimeoutMs), false);
  }

  /**
   * Status now and at every change, until the returned iterator is closed (break out of the
   * for-await loop) or the agent goes away (then it throws AgentUnreachableError).
   */
  async *watch(req: Partial<WatchRequest> = {}): AsyncGenerator<ClusterStatus, void, undefined> {
    const full: WatchRequest = { includeInactive: false, fenceHistoryLimit: 0, minIntervalMs: 0, ...req };
    const decode = codec<ClusterStatus>(CONTROL_TYPES.clusterStatus);
    const stream = this.client.makeServerStreamRequest<Buffer, Buffer>(
      this.paths.Watch!,
      (b) => b,
      (b) => b,
      toBuffer(codec<WatchRequest>(CONTROL_TYPES.watchRequest).encode(full)),
      new grpc.Metadata(),
      {},
    );
    let finished = false;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield decode.decode(chunk);
      finished = true;
      // the agent never ends a watch on its own except when it stops
      throw new AgentUnreachableError(this.socketPath, 'the agent ended the watch (it is stopping or restarting)');
    } catch (e) {
      if (e instanceof AgentUnreachableError) throw e;
      finished = true;
      throw this.translate(e as grpc.ServiceError);
    } finally {
      if (!finished) stream.cancel();
    }
  }

  private unary<Res>(method: string, bytes: Uint8Array, resType: string, timeoutMs: number, isCommand: boolean): Promise<Res> {
    const path = this.paths[method];
    if (!path) throw new Error(`Control has no method ${method}`);
    return new Promise<Res>((resolve, reject) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        path,
        (b) => b,
        (b) => b,
        toBuffer(bytes),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err) {
            reject(this.translate(err, isCommand ? timeoutMs : null));
            return;
          }
          try {
            resolve(codec<Res>(resType).decode(res ?? Buffer.alloc(0)));
          } catch (e) {
            reject(e);
          }
        },
      );
    });
  }

  /** commandTimeoutMs: set for commands, whose deadline may pass while the cluster commits */
  private translate(err: grpc.ServiceError, commandTimeoutMs: number | null = null): Error {
    if (err.code === grpc.status.UNAVAILABLE) return new AgentUnreachableError(this.socketPath, unreachableReason(err.details || err.message));
    if (err.code === grpc.status.DEADLINE_EXCEEDED && commandTimeoutMs !== null) {
      return new ControlRequestError('unavailable', `no answer within ${commandTimeoutMs} ms; the command may still take effect (check tsha status)`);
    }
    if (err.code === grpc.status.DEADLINE_EXCEEDED) {
      return new AgentUnreachableError(this.socketPath, 'no answer before the deadline (agent busy or stopped)');
    }
    const code = CODE_OF[err.code];
    if (code) return new ControlRequestError(code, err.details);
    return new ControlRequestError('internal', err.details || err.message);
  }
}
