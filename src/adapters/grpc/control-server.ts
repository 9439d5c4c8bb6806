// The Control service (proto/tsha/control/v1/control.proto) on the agent's Unix socket.
//
// The socket is the only way into a running agent, so it is guarded by file permissions: mode
// 0660 and a configurable group (root:tsha by default in the NixOS module), applied right after
// bind. The socket inherits the process umask until then; keep its directory (/run/tsha,
// systemd RuntimeDirectory) at 0750 or tighter so that short window is not reachable either.
// A stale socket left by a crashed agent is removed at start, but only when nothing answers on it:
// a live agent's socket is never taken over.
//
// Handlers are injected (src/ports/control.ts): this file only decodes, calls and encodes.
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { codec, CONTROL_PACKAGE, rawServiceDefinition } from './proto.js';
import type {
  ClusterStatus, CommandResult, ControlErrorCode, ControlHandlers, DrbdFencePeerRequest, DrbdFencePeerResult, FenceCheckReport, FenceCheckRequest, FenceCommandRequest, NodeCommandRequest, ResourceCommandRequest,
  HistoryRequest, HistoryResponse, SchedulerInputRequest, SchedulerInputResponse, StatusRequest, StatusSubscription, WatchRequest,
} from '../../ports/control.js';
import { CONTROL_TYPES, ControlCommandError } from '../../ports/control.js';

export interface ControlServerOptions {
  /** path of the Unix socket, e.g. /run/tsha/control.sock (at most 107 bytes) */
  socketPath: string;
  /** group owning the socket (name from /etc/group, or a gid); null keeps the process's group */
  group: string | number | null;
  /** file mode of the socket (default 0o660) */
  mode?: number;
  handlers: ControlHandlers;
  logger: Logger;
  /** default and lower bound for WatchRequest.minIntervalMs (default 100 ms) */
  watchMinIntervalMs?: number;
}

/** The control socket cannot be set up; names the path and the reason. */
export class ControlSocketError extends Error {
  constructor(
    readonly socketPath: string,
    reason: string,
  ) {
    super(`control socket ${socketPath}: ${reason}`);
    this.name = 'ControlSocketError';
  }
}

/** A group name from /etc/group (NixOS writes it too), or a numeric gid, as a gid. */
export function resolveGroup(group: string | number, groupFile = '/etc/group'): number {
  if (typeof group === 'number') return group;
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new Error(`no group named "${group}" in ${groupFile}`);
}

const STATUS_OF: Record<ControlErrorCode, grpc.status> = {
  notFound: grpc.status.NOT_FOUND,
  failedPrecondition: grpc.status.FAILED_PRECONDITION,
  invalidArgument: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
};

/** Resolves true when something accepts connections on the Unix socket at `path`. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

const statusReq = codec<StatusRequest>(CONTROL_TYPES.statusRequest);
const watchReq = codec<WatchRequest>(CONTROL_TYPES.watchRequest);
const statusCodec = codec<ClusterStatus>(CONTROL_TYPES.clusterStatus);
const resourceReq = codec<ResourceCommandRequest>(CONTROL_TYPES.resourceCommandRequest);
const nodeReq = codec<NodeCommandRequest>(CONTROL_TYPES.nodeCommandRequest);
const fenceReq = codec<FenceCommandRequest>(CONTROL_TYPES.fenceCommandRequest);
const fenceCheckReq = codec<FenceCheckRequest>(CONTROL_TYPES.fenceCheckRequest);
const fenceCheckCodec = codec<FenceCheckReport>(CONTROL_TYPES.fenceCheckReport);
const resultCodec = codec<CommandResult>(CONTROL_TYPES.commandResult);
const inputReq = codec<SchedulerInputRequest>(CONTROL_TYPES.schedulerInputRequest);
const inputCodec = codec<SchedulerInputResponse>(CONTROL_TYPES.schedulerInputResponse);
const historyReq = codec<HistoryRequest>(CONTROL_TYPES.historyRequest);
const historyCodec = codec<HistoryResponse>(CONTROL_TYPES.historyResponse);
const drbdReq = codec<DrbdFencePeerRequest>(CONTROL_TYPES.drbdFencePeerRequest);
const drbdResult = codec<DrbdFencePeerResult>(CONTROL_TYPES.drbdFencePeerResult);

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class ControlServer {
  private server: grpc.Server | null = null;
  private readonly log: Logger;
  private readonly watches = new Set<() => void>();

  constructor(private readonly opts: ControlServerOptions) {
    this.log = opts.logger.child({ component: 'control-server' });
  }

  async start(): Promise<void> {
    const path = this.opts.socketPath;
    if (!path.startsWith('/')) throw new ControlSocketError(path, 'must be an absolute path');
    if (Buffer.byteLength(path) > 107) throw new ControlSocketError(path, 'longer than 107 bytes (the Unix socket path limit)');
    const gid = this.opts.group === null ? null : this.resolveGid();
    // a directory we create is ours to set up: 0750 with the socket's group, so members of the
    // group can reach the socket and nobody else can even see it
    const created = mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    if (created !== undefined && gid !== null) {
      try {
        chownSync(dirname(path), -1, gid);
      } catch (e) {
        throw new ControlSocketError(path, `cannot set the group of ${dirname(path)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await this.removeStaleSocket(path);

    const server = new grpc.Server();
    server.addService(rawServiceDefinition(`${CONTROL_PACKAGE}.Control`), {
      Status: this.unary(statusReq, statusCodec, (r) => this.opts.handlers.status(r)),
      ResourceCommand: this.unary(resourceReq, resultCodec, (r) => this.opts.handlers.resourceCommand(r)),
      NodeCommand: this.unary(nodeReq, resultCodec, (r) => this.opts.handlers.nodeCommand(r)),
      FenceCommand: this.unary(fenceReq, resultCodec, (r) => this.opts.handlers.fenceCommand(r)),
      FenceCheck: this.unary(fenceCheckReq, fenceCheckCodec, (r) => this.opts.handlers.fenceCheck(r)),
      Watch: this.handleWatch,
      SchedulerInput: this.unary(inputReq, inputCodec, (r) => this.opts.handlers.schedulerInput(r)),
      History: this.unary(historyReq, historyCodec, (r) => this.opts.handlers.history(r)),
      DrbdFencePeer: this.unary(drbdReq, drbdResult, (r) => {
        const h = this.opts.handlers.drbdFencePeer;
        if (!h) return Promise.reject(new ControlCommandError('failedPrecondition', 'this process runs no DRBD fencing (a witness?)'));
        return h.call(this.opts.handlers, r);
      }),
    });
    await new Promise<number>((resolve, reject) => {
      server.bindAsync(`unix:${path}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    }).catch((e: unknown) => {
      server.forceShutdown();
      throw new ControlSocketError(path, `cannot listen: ${e instanceof Error ? e.message : String(e)}`);
    });
    this.server = server;
    try {
      if (gid !== null) chownSync(path, -1, gid);
      chmodSync(path, this.opts.mode ?? 0o660);
    } catch (e) {
      await this.stop();
      throw new ControlSocketError(path, `cannot set owner/mode: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.log.info({ socketPath: path, mode: (this.opts.mode ?? 0o660).toString(8), gid }, 'control socket listening');
  }

  async stop(): Promise<void> {
    for (const end of this.watches) end();
    this.watches.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 500);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private resolveGid(): number {
    try {
      return resolveGroup(this.opts.group as string | number);
    } catch (e) {
      throw new ControlSocketError(this.opts.socketPath, e instanceof Error ? e.message : String(e));
    }
  }

  private async removeStaleSocket(path: string): Promise<void> {
    let st;
    try {
      st = lstatSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new ControlSocketError(path, (e as Error).message);
    }
    if (!st.isSocket()) throw new ControlSocketError(path, 'exists and is not a socket; refusing to remove it');
    if (await socketAnswers(path)) throw new ControlSocketError(path, 'another agent is listening on it');
    unlinkSync(path);
    this.log.info({ socketPath: path }, 'removed stale control socket');
  }

  private fail(callback: grpc.sendUnaryData<Buffer>, e: unknown, method: string): void {
    if (e instanceof ControlCommandError) {
      callback({ code: STATUS_OF[e.code], details: e.message }, null);
      return;
    }
    this.log.error({ err: e, method }, 'control handler failed');
    callback({ code: grpc.status.INTERNAL, details: `agent error: ${e instanceof Error ? e.message : String(e)}` }, null);
  }

  private unary<Req, Res>(
    reqCodec: { decode(b: Uint8Array): Req },
    resCodec: { encode(v: Res): Uint8Array },
    handle: (req: Req) => Promise<Res>,
  ): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      let req: Req;
      try {
        req = reqCodec.decode(call.request);
      } catch (e) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: e instanceof Error ? e.message : String(e) }, null);
        return;
      }
      handle(req).then(
        (res) => {
          try {
            callback(null, toBuffer(resCodec.encode(res)));
          } catch (e) {
            this.fail(callback, e, call.getPath());
          }
        },
        (e: unknown) => this.fail(callback, e, call.getPath()),
      );
    };
  }

  /**
   * The current status first, then a fresh one after each change notification, at most one per
   * minIntervalMs; a slow reader gets the latest status when it drains, not a backlog.
   */
  private readonly handleWatch: grpc.handleServerStreamingCall<Buffer, Buffer> = (call) => {
    let req: WatchRequest;
    try {
      req = watchReq.decode(call.request);
    } catch (e) {
      call.destroy(Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code: grpc.status.INVALID_ARGUMENT }));
      return;
    }
    const floor = this.opts.watchMinIntervalMs ?? 100;
    const interval = Math.max(floor, req.minIntervalMs);
    const statusOf: StatusRequest = { includeInactive: req.includeInactive, fenceHistoryLimit: req.fenceHistoryLimit };
    let ended = false;
    let timer: NodeJS.Timeout | null = null;
    let lastSentAt = 0;
    let dirty = false;
    let sending = false;
    let waitingForDrain = false;
    let sub: StatusSubscription | null = null;

    const end = (): void => {
      if (ended) return;
      ended = true;
      if (timer) clearTimeout(timer);
      sub?.close();
      this.watches.delete(end);
      if (!call.cancelled) call.end();
    };
    const send = async (): Promise<void> => {
      if (ended || sending || waitingForDrain) return;
      sending = true;
      dirty = false;
      try {
        const status = await this.opts.handlers.status(statusOf);
        if (ended) return;
        lastSentAt = Date.now();
        if (!call.write(toBuffer(statusCodec.encode(status)))) {
          waitingForDrain = true;
          call.once('drain', () => {
            waitingForDrain = false;
            if (dirty) schedule();
          });
        }
      } catch (e) {
        this.log.error({ err: e }, 'control watch: status failed');
        if (!ended) {
          ended = true;
          if (timer) clearTimeout(timer);
          sub?.close();
          this.watches.delete(end);
          call.destroy(Object.assign(new Error(`agent error: ${e instanceof Error ? e.message : String(e)}`), { code: grpc.status.INTERNAL }));
        }
      } finally {
        sending = false;
        if (dirty && !ended) schedule();
      }
    };
    const schedule = (): void => {
      dirty = true;
      if (ended || timer || sending || waitingForDrain) return;
      const wait = Math.max(0, lastSentAt + interval - Date.now());
      timer = setTimeout(() => {
        timer = null;
        void send();
      }, wait);
    };

    this.watches.add(end);
    call.on('cancelled', end);
    call.on('error', end);
    sub = this.opts.handlers.subscribe(schedule);
    void send();
  };
}
