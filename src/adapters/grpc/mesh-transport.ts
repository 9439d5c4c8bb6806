// The mesh transport over gRPC: one server on this node's mesh address, one client channel per
// peer (members and the witness), and on it one long-lived client stream that carries every message
// to that peer (why a stream and not a unary call per message: proto/README.md).
//
// Admission, before a message reaches the runtime:
//   (a) the source IP of the stream is the IP of a configured peer's mesh address. Over
//       WireGuard the source IP is authenticated by the tunnel (cryptokey routing only accepts a
//       peer's packets from its allowed IPs), so the IP names the member; checked once per stream,
//       whose connection cannot change address;
//   (b) envelope.clusterId is ours;
//   (c) envelope.from is the member that IP belongs to, and envelope.to is us;
//   (d) with mutual TLS (meshes not on WireGuard), the client certificate names envelope.from.
// (b) to (d) on every message. Anything else is dropped, counted by reason and logged
// (rate-limited), never thrown; a rejected message also ends its stream with an error status.
//
// Delivery: a deadline per message (about one heartbeat interval) to be flushed into the
// connection, else the stream is cancelled and replaced, dropping what queued behind it; a cap on
// unflushed messages per peer (more are dropped: backpressure without queues); the receiver drops
// messages that arrive later than the deadline relative to the freshest one of their stream;
// independent channels per peer (no head-of-line blocking between peers); channel reconnects with
// exponential backoff capped at about one second.
//
// Dead connections: a connection we keep sending on while the peer has said nothing for
// silentPeerMs is replaced by a fresh one (checked at each send, so it costs no timer). A link cut
// leaves the old connection retransmitting with a growing backoff, seconds after the link heals; a
// fresh one connects as soon as it does. HTTP/2 keepalive pings are only the backstop (every 10 s):
// at one a second they cost an idle agent a wake-up per peer and direction each second, more than a
// tenth of its CPU on these machines (docs/agent.md, "Idle cost").
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { envelopeCodec } from './mesh-envelope.js';
import { MESH_PACKAGE, rawServiceDefinition } from './proto.js';
import type { Envelope } from '../../ports/mesh-messages.js';
import type {
  InboundDropReason, MessageHandler, OutboundMessage, PeerStats, SendFailureReason, SendOutcome, Transport,
  TransportCounters, TransportStats,
} from '../../ports/transport.js';
import { INBOUND_DROP_REASONS, SEND_FAILURE_REASONS } from '../../ports/transport.js';

export interface MeshPeer {
  /** node name (or witness name), as used in envelope.from / envelope.to */
  name: string;
  /** "ip:port" or "[ipv6]:port" on the mesh (WireGuard) network; its IP is the peer's identity */
  meshAddress: string;
  /**
   * where to dial when it differs from meshAddress (a relay or a NAT); admission still uses the IP
   * of meshAddress. Tests use it to make calls come from a chosen 127.0.0.x address.
   */
  dialAddress?: string;
}

export interface MeshTlsOptions {
  /** PEM of the CA that signs every member's certificate */
  ca: Buffer;
  /** this node's certificate (CN and/or DNS SAN = its node name) and key, PEM */
  cert: Buffer;
  key: Buffer;
}

export interface MeshTransportOptions {
  self: string;
  clusterId: string;
  /** address to bind the server to, "ip:port" (normally this node's mesh address; port 0: any) */
  listen: string;
  peers: MeshPeer[];
  /** per-message deadline; about one heartbeat interval */
  deliverTimeoutMs: number;
  /** messages in flight per peer before further sends are dropped (default 64) */
  maxInFlightPerPeer?: number;
  /** reconnect backoff: initial and cap (defaults 100 ms and 1000 ms) */
  reconnectBackoffMs?: { initial: number; max: number };
  /**
   * a connection attempt still pending after this long is abandoned and a fresh one started
   * (default 1000 ms). grpc-js has no connect timeout: across a cut link the kernel retransmits
   * the SYN after 1, 3, 7, 15... s, so without this a healed link could wait seconds for the
   * next retransmission.
   */
  connectTimeoutMs?: number;
  /**
   * HTTP/2 keepalive pings of the client side, on idle and busy connections (defaults 10 000 ms,
   * timeout 1000 ms); the server side pings every 10 s. The backstop for a dead connection nobody
   * sends on; one we send on is replaced sooner (silentPeerMs).
   */
  keepalive?: { timeMs: number; timeoutMs: number };
  /**
   * a ready connection to a peer we send to but have not heard from (on any of its streams) for
   * this long is closed and a fresh one started, at most once per this interval (default 1000 ms)
   */
  silentPeerMs?: number;
  /** mutual TLS for meshes not on WireGuard; plaintext (inside the tunnel) when absent */
  tls?: MeshTlsOptions;
  logger: Logger;
  counters?: TransportCounters;
  /** monotonic milliseconds for envelope.sentAtMs (default: performance.now) */
  monotonicMs?: () => number;
}

/** A configuration the transport cannot run with (a bug or invalid configuration). */
export class MeshConfigError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'MeshConfigError';
  }
}

/** "10.0.0.1:7400" → "10.0.0.1", "[fd00::1]:7400" → "fd00::1"; null when the host is not an IP. */
export function hostOf(address: string): string | null {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m || !m[1]) return null;
  return isIP(m[1]) ? normalizeIp(m[1]) : null;
}

function normalizeIp(ip: string): string {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return (v4mapped?.[1] ?? ip).toLowerCase();
}

/** The remote IP of a server call from grpc-js's getPeer() ("1.2.3.4:5", "::1:5", "[::1]:5"). */
export function peerIp(peer: string): string | null {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(peer);
  const raw = bracketed?.[1] ?? peer.replace(/:\d+$/, '');
  return isIP(raw) ? normalizeIp(raw) : null;
}

/** Names a certificate vouches for: its subject CN and its DNS subject alternative names. */
function certificateNames(cert: { subject?: { CN?: string | string[] }; subjectaltname?: string } | undefined): string[] {
  if (!cert) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*DNS:(.+)$/.exec(part);
    if (m?.[1]) names.push(m[1].trim());
  }
  return names;
}

/** A message written to a peer's stream and not yet flushed into the connection. */
interface Pending {
  at: number;
  body: Envelope['body'];
  resolve: (o: SendOutcome) => void;
}

/** The open stream to one peer. */
interface OutStream {
  call: grpc.ClientWritableStream<Buffer>;
  /** oldest first: grpc-js flushes a stream's messages in order */
  pending: Pending[];
  /** armed while a message stays unflushed past its loop turn: fires by the oldest one's deadline */
  timer: NodeJS.Timeout | null;
  /** a setImmediate will arm `timer` if messages are still pending then */
  checkQueued: boolean;
  /** why the stream is being cancelled by us (the call then ends CANCELLED) */
  cancelReason: SendFailureReason | null;
  ended: boolean;
}

interface PeerChannel {
  peer: MeshPeer;
  client: grpc.Client;
  stream: OutStream | null;
  /** monotonic ms since when the channel has been CONNECTING, as seen at sends */
  connectingSince: number | null;
  /** monotonic ms when `client` was made, and when the peer was last heard from (admitted message) */
  clientSince: number;
  heardAt: number | null;
  stats: Omit<PeerStats, 'connectivity'>;
}

const CONNECTIVITY: Record<grpc.connectivityState, PeerStats['connectivity']> = {
  [grpc.connectivityState.IDLE]: 'idle',
  [grpc.connectivityState.CONNECTING]: 'connecting',
  [grpc.connectivityState.READY]: 'ready',
  [grpc.connectivityState.TRANSIENT_FAILURE]: 'transientFailure',
  [grpc.connectivityState.SHUTDOWN]: 'shutdown',
};

/** keepalive pings from the server side of each connection (see start()) */
const SERVER_KEEPALIVE_MS = 10_000;

/** at most one log line per (reason, source) in this window; the count of suppressed ones is logged */
const DROP_LOG_WINDOW_MS = 10_000;

/** The grpc-js server options of a mesh transport (exported for bench:idle-floor's bare-grpc stack). */
export function meshServerOptions(o: Pick<MeshTransportOptions, 'keepalive'>): grpc.ServerOptions {
  return {
    // The server pings its clients rarely: each peer's own client pings every keepalive.timeMs and
    // is what must notice a dead peer fast (its stream carries our messages). A dead client only
    // leaves an incoming stream that delivers nothing; finding it within seconds is enough.
    'grpc.keepalive_time_ms': SERVER_KEEPALIVE_MS,
    'grpc.keepalive_timeout_ms': o.keepalive?.timeoutMs ?? 1000,
    'grpc.keepalive_permit_without_calls': 1,
  };
}

/** The grpc-js channel options of a mesh transport's client to one peer (TLS names added by makeClient). */
export function meshChannelOptions(o: Pick<MeshTransportOptions, 'keepalive' | 'reconnectBackoffMs'>): grpc.ChannelOptions {
  return {
    'grpc.initial_reconnect_backoff_ms': o.reconnectBackoffMs?.initial ?? 100,
    'grpc.max_reconnect_backoff_ms': o.reconnectBackoffMs?.max ?? 1000,
    'grpc.keepalive_time_ms': o.keepalive?.timeMs ?? 10_000,
    'grpc.keepalive_timeout_ms': o.keepalive?.timeoutMs ?? 1000,
    'grpc.keepalive_permit_without_calls': 1,
    // our own subchannels: a transport's stop() never closes a connection another one shares
    'grpc.use_local_subchannel_pool': 1,
    // never route mesh traffic through an HTTP proxy from the environment
    'grpc.enable_http_proxy': 0,
    // no transparent retries: a failed message is dropped, the protocol resends what matters
    'grpc.enable_retries': 0,
    // no retry buffer either: with one, grpc-js reports a stream write as done as soon as it is
    // buffered; without it, only once flushed into the connection, which is what the per-message
    // deadline and the in-flight cap must see
    'grpc.per_rpc_retry_buffer_size': 0,
  };
}

export class MeshTransport implements Transport {
  private readonly envelopeCodec = envelopeCodec;
  private readonly service = rawServiceDefinition(`${MESH_PACKAGE}.Mesh`);
  private readonly streamPath: string;
  private readonly log: Logger;
  private readonly monotonicMs: () => number;
  private server: grpc.Server | null = null;
  private channels = new Map<string, PeerChannel>();
  /** source IP → peer name, for admission */
  private bySourceIp = new Map<string, string>();
  private handler: MessageHandler | null = null;
  private running = false;
  private readonly tally = {
    received: 0,
    sent: 0,
    dropped: Object.fromEntries(INBOUND_DROP_REASONS.map((r) => [r, 0])) as Record<InboundDropReason, number>,
    sendFailed: Object.fromEntries(SEND_FAILURE_REASONS.map((r) => [r, 0])) as Record<SendFailureReason, number>,
  };
  private readonly dropLog = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly opts: MeshTransportOptions) {
    if (!hostOf(opts.listen)) throw new MeshConfigError('listen', `"${opts.listen}" is not "ip:port"`);
    if (!(opts.deliverTimeoutMs > 0)) throw new MeshConfigError('deliverTimeoutMs', 'must be positive');
    this.log = opts.logger.child({ component: 'mesh-transport', node: opts.self });
    this.monotonicMs = opts.monotonicMs ?? (() => Math.floor(performance.now()));
    const stream = this.service.Stream;
    if (!stream) throw new Error('tsha.mesh.v1.Mesh lacks Stream');
    this.streamPath = stream.path;
    this.setPeers(opts.peers);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  async start(): Promise<{ port: number }> {
    if (this.server) throw new Error('mesh transport already started');
    this.setPeers([...this.channels.values()].map((c) => c.peer));
    const server = new grpc.Server(meshServerOptions(this.opts));
    server.addService(this.service, { Stream: this.handleStream });
    const creds = this.opts.tls
      ? grpc.ServerCredentials.createSsl(this.opts.tls.ca, [{ cert_chain: this.opts.tls.cert, private_key: this.opts.tls.key }], true)
      : grpc.ServerCredentials.createInsecure();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(this.opts.listen, creds, (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((e: unknown) => {
      server.forceShutdown();
      throw new MeshConfigError('listen', `cannot bind ${this.opts.listen}: ${e instanceof Error ? e.message : String(e)}`);
    });
    this.server = server;
    this.running = true;
    this.log.info({ listen: this.opts.listen, port, tls: Boolean(this.opts.tls) }, 'mesh server listening');
    return { port };
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const ch of this.channels.values()) this.closeChannel(ch, 'stopped');
    const server = this.server;
    this.server = null;
    if (server) {
      await new Promise<void>((resolve) => {
        // give calls in progress a moment, then cut them: a stopping node's messages are stale anyway
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 200);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    // closed channels are recreated by the next start()
  }

  /**
   * Replaces the peer set (membership change): channels to removed or re-addressed peers are
   * closed, new ones are created, admission follows at once.
   */
  setPeers(peers: MeshPeer[]): void {
    const bySourceIp = new Map<string, string>();
    const names = new Set<string>();
    peers.forEach((p, i) => {
      const ip = hostOf(p.meshAddress);
      if (!ip) throw new MeshConfigError(`peers[${i}].meshAddress`, `"${p.meshAddress}" is not "ip:port" (an IP literal is the peer's identity)`);
      if (p.name === this.opts.self) throw new MeshConfigError(`peers[${i}].name`, `"${p.name}" is this node`);
      if (names.has(p.name)) throw new MeshConfigError(`peers[${i}].name`, `duplicate peer "${p.name}"`);
      const other = bySourceIp.get(ip);
      if (other) throw new MeshConfigError(`peers[${i}].meshAddress`, `IP ${ip} is also ${other}'s: admission could not tell them apart`);
      names.add(p.name);
      bySourceIp.set(ip, p.name);
    });
    const next = new Map<string, PeerChannel>();
    for (const p of peers) {
      const existing = this.channels.get(p.name);
      if (existing && existing.peer.meshAddress === p.meshAddress && existing.peer.dialAddress === p.dialAddress && this.channelOpen(existing)) {
        next.set(p.name, existing);
      } else {
        if (existing) this.closeChannel(existing, 'unavailable');
        next.set(p.name, {
          peer: { ...p }, client: this.makeClient(p), stream: null, connectingSince: null, clientSince: this.monotonicMs(), heardAt: null,
          stats: { inFlight: 0, sent: 0, failed: 0, received: 0, connectRestarts: 0, silentRestarts: 0, streams: 0 },
        });
      }
    }
    for (const [name, ch] of this.channels) if (!next.has(name)) this.closeChannel(ch, 'unknownPeer');
    this.channels = next;
    this.bySourceIp = bySourceIp;
  }

  async send(to: string, message: OutboundMessage): Promise<SendOutcome> {
    const ch = this.channels.get(to);
    if (!ch) return this.sendFailed(to, null, 'unknownPeer', `no peer named "${to}"`);
    if (!this.running) return this.sendFailed(to, ch, 'stopped', 'transport not running');
    const max = this.opts.maxInFlightPerPeer ?? 64;
    if (ch.stats.inFlight >= max) return this.sendFailed(to, ch, 'backpressure', `${ch.stats.inFlight} messages in flight`);
    let bytes: Buffer;
    try {
      const header = { clusterId: this.opts.clusterId, from: this.opts.self, to, sentAtMs: this.monotonicMs() };
      bytes = this.envelopeCodec.encodeStamped(header, message);
    } catch (e) {
      this.log.error({ err: e, to, body: message.body }, 'message does not fit the mesh contract');
      return this.sendFailed(to, ch, 'encode', e instanceof Error ? e.message : String(e));
    }
    this.restartStuckConnect(ch);
    this.restartUnanswered(ch);
    const out = ch.stream ?? this.openStream(ch);
    ch.stats.inFlight++;
    return new Promise<SendOutcome>((resolve) => {
      const p: Pending = { at: this.monotonicMs(), body: message.body, resolve };
      out.pending.push(p);
      this.watchDeadline(ch, out);
      out.call.write(bytes, (err: Error | null | undefined) => {
        // flushed into the connection (or failed): always the oldest pending message
        if (err || out.pending[0] !== p) return; // settled by the stream's end
        out.pending.shift();
        // nothing left to watch: no timer firing for nothing a deadline later (an idle wake-up)
        if (out.pending.length === 0 && out.timer) {
          clearTimeout(out.timer);
          out.timer = null;
        }
        ch.stats.inFlight--;
        ch.stats.sent++;
        this.tally.sent++;
        this.opts.counters?.sent(to, message.body);
        resolve({ ok: true });
      });
    });
  }

  stats(): TransportStats {
    const peers: Record<string, PeerStats> = {};
    for (const [name, ch] of this.channels) {
      const state = this.channelOpen(ch) ? ch.client.getChannel().getConnectivityState(false) : grpc.connectivityState.SHUTDOWN;
      peers[name] = { connectivity: CONNECTIVITY[state], ...ch.stats };
    }
    return {
      received: this.tally.received,
      sent: this.tally.sent,
      dropped: { ...this.tally.dropped },
      sendFailed: { ...this.tally.sendFailed },
      peers,
    };
  }

  // ---- internals ----

  private channelOpen(ch: PeerChannel): boolean {
    try {
      return ch.client.getChannel().getConnectivityState(false) !== grpc.connectivityState.SHUTDOWN;
    } catch {
      return false;
    }
  }

  /** Abandons a connection attempt pending for longer than connectTimeoutMs (see the option). */
  private restartStuckConnect(ch: PeerChannel): void {
    const state = ch.client.getChannel().getConnectivityState(false);
    if (state !== grpc.connectivityState.CONNECTING) {
      ch.connectingSince = null;
      return;
    }
    const now = this.monotonicMs();
    if (ch.connectingSince === null) {
      ch.connectingSince = now;
      return;
    }
    if (now - ch.connectingSince <= (this.opts.connectTimeoutMs ?? 1000)) return;
    this.replaceClient(ch, 'deadline');
    ch.stats.connectRestarts++;
    this.log.debug({ peer: ch.peer.name, restarts: ch.stats.connectRestarts }, 'connection attempt stuck; starting a fresh one');
  }

  /**
   * Replaces a ready connection to a peer that has said nothing for silentPeerMs while we keep
   * sending to it (see the header: what the keepalive pings did, without a timer). The silence is
   * counted from the later of the last message heard and this connection's start, so a peer that
   * stays silent gets a fresh connection at most once per silentPeerMs. Members that do not talk to
   * each other send nothing, so their idle connections are left alone.
   */
  private restartUnanswered(ch: PeerChannel): void {
    const now = this.monotonicMs();
    if (now - Math.max(ch.heardAt ?? -Infinity, ch.clientSince) <= (this.opts.silentPeerMs ?? 1000)) return;
    if (ch.client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY) return;
    this.replaceClient(ch, 'unavailable');
    ch.stats.silentRestarts++;
    this.log.debug({ peer: ch.peer.name, restarts: ch.stats.silentRestarts, silentMs: ch.heardAt === null ? null : now - ch.heardAt }, 'peer silent on a ready connection; starting a fresh one');
  }

  /** Closes the peer's channel (its stream's unflushed messages fail with `reason`) and makes a new one. */
  private replaceClient(ch: PeerChannel, reason: SendFailureReason): void {
    this.closeChannel(ch, reason);
    ch.client = this.makeClient(ch.peer);
    ch.clientSince = this.monotonicMs();
    ch.connectingSince = null;
  }

  /** Opens the long-lived stream to a peer; it ends on error, on cancel or when we stop. */
  private openStream(ch: PeerChannel): OutStream {
    const out: OutStream = { call: null as unknown as grpc.ClientWritableStream<Buffer>, pending: [], timer: null, checkQueued: false, cancelReason: null, ended: false };
    out.call = ch.client.makeClientStreamRequest<Buffer, Buffer>(
      this.streamPath,
      (b) => b,
      (b) => b,
      new grpc.Metadata(),
      {},
      (err) => this.endStream(ch, out, err),
    );
    // errors also arrive through the callback above; without a listener an 'error' event would throw
    out.call.on('error', () => undefined);
    ch.stream = out;
    ch.stats.streams++;
    return out;
  }

  /**
   * Makes sure the oldest unflushed message is looked at by its deadline, without a timer for
   * every message: a write into a healthy connection is flushed within the loop turn it was made
   * in (its callback runs in Node's immediate phase), so the timer is armed only for a message
   * still pending after that. A timer armed and cleared per message would still wake the process
   * at its expiry: Node never moves its libuv timer later when a timer is cleared, and on an idle
   * agent such empty wake-ups cost as much as the messages themselves (docs/agent.md, "Idle cost").
   */
  private watchDeadline(ch: PeerChannel, out: OutStream): void {
    if (out.timer || out.checkQueued || out.ended) return;
    out.checkQueued = true;
    setImmediate(() => {
      out.checkQueued = false;
      this.armDeadline(ch, out);
    });
  }

  /**
   * Arms the stream's one timer for the oldest unflushed message's deadline. When it fires it
   * re-arms for whatever is oldest then (messages flush in order), so a stalled stream costs one
   * timer per deadline interval.
   */
  private armDeadline(ch: PeerChannel, out: OutStream): void {
    if (out.timer || out.ended) return;
    const oldest = out.pending[0];
    if (!oldest) return;
    const wait = Math.max(0, oldest.at + this.opts.deliverTimeoutMs - this.monotonicMs());
    out.timer = setTimeout(() => {
      out.timer = null;
      const o = out.pending[0];
      if (!o || out.ended) return;
      if (this.monotonicMs() - o.at < this.opts.deliverTimeoutMs) {
        this.armDeadline(ch, out);
        return;
      }
      // stale beats late: cancel the stream and everything queued behind this message
      this.log.debug({ peer: ch.peer.name, pending: out.pending.length }, 'message not flushed within its deadline: replacing the stream');
      out.cancelReason = 'deadline';
      out.call.cancel();
      this.endStream(ch, out, null);
    }, wait);
    out.timer.unref?.();
  }

  /** The stream ended (its status arrived, or we cancelled it): every unflushed message fails. */
  private endStream(ch: PeerChannel, out: OutStream, err: grpc.ServiceError | null): void {
    if (out.ended) return;
    out.ended = true;
    if (out.timer) clearTimeout(out.timer);
    out.timer = null;
    if (ch.stream === out) ch.stream = null;
    const reason: SendFailureReason = out.cancelReason
      ? out.cancelReason
      : !this.running
        ? 'stopped'
        : !err
          ? 'unavailable' // the server ended it cleanly (it is stopping)
          : err.code === grpc.status.DEADLINE_EXCEEDED
            ? 'deadline'
            : err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED
              ? 'unavailable'
              : err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.INVALID_ARGUMENT
                ? 'rejected'
                : 'error';
    const detail = err ? err.details || err.message : reason;
    const pending = out.pending.splice(0);
    ch.stats.inFlight -= pending.length;
    for (const p of pending) p.resolve(this.sendFailed(ch.peer.name, ch, reason, detail));
    // a rejection of a message that was already flushed (and reported sent) is still worth counting
    if (pending.length === 0 && (reason === 'rejected' || reason === 'error')) this.sendFailed(ch.peer.name, ch, reason, detail);
    if (reason !== 'stopped') this.log.debug({ peer: ch.peer.name, reason, detail, failed: pending.length }, 'mesh stream ended');
  }

  /** Ends a peer's stream (unflushed messages fail with `reason`) and closes its channel. */
  private closeChannel(ch: PeerChannel, reason: SendFailureReason): void {
    const out = ch.stream;
    if (out && !out.ended) {
      out.cancelReason = reason;
      out.call.cancel();
      this.endStream(ch, out, null);
    }
    ch.client.close();
  }

  private makeClient(peer: MeshPeer): grpc.Client {
    const options = meshChannelOptions(this.opts);
    let creds: grpc.ChannelCredentials;
    if (this.opts.tls) {
      creds = grpc.credentials.createSsl(this.opts.tls.ca, this.opts.tls.key, this.opts.tls.cert);
      // the server's certificate must name the peer (not its IP): we check it against peer.name
      options['grpc.ssl_target_name_override'] = peer.name;
      options['grpc.default_authority'] = peer.name;
    } else {
      creds = grpc.credentials.createInsecure();
    }
    return new grpc.Client(peer.dialAddress ?? peer.meshAddress, creds, options);
  }

  private sendFailed(to: string, ch: PeerChannel | null, reason: SendFailureReason, detail: string): SendOutcome {
    this.tally.sendFailed[reason]++;
    if (ch) ch.stats.failed++;
    this.opts.counters?.sendFailed(to, reason);
    this.log.trace({ to, reason, detail }, 'mesh send failed');
    return { ok: false, reason, detail };
  }

  private drop(reason: InboundDropReason, source: string, detail: Record<string, unknown>): void {
    this.tally.dropped[reason]++;
    this.opts.counters?.dropped(reason, source);
    const key = `${reason}|${source}`;
    const now = this.monotonicMs();
    const last = this.dropLog.get(key);
    if (last && now - last.at < DROP_LOG_WINDOW_MS) {
      last.suppressed++;
      return;
    }
    this.dropLog.set(key, { at: now, suppressed: 0 });
    const level = reason === 'handlerError' ? 'error' : 'warn';
    this.log[level]({ reason, source, suppressedSinceLast: last?.suppressed ?? 0, ...detail }, 'mesh message dropped');
  }

  /** (a): the member a stream or call comes from, by its source IP; undefined (dropped) if none. */
  private memberOf(call: { getPeer(): string }): { member: string | undefined; source: string } {
    const peer = call.getPeer();
    const ip = peerIp(peer);
    // logs and counters name the source by IP (its port changes with every connection)
    const source = ip ?? peer;
    const member = ip === null ? undefined : this.bySourceIp.get(ip);
    if (member === undefined) this.drop('notMember', source, { peer });
    return { member, source };
  }

  /**
   * (b) to (d) for one message from `member`, then the handler. Returns null when it was handed to
   * the runtime, else the status to end the call with (the drop is already counted).
   */
  private admit(member: string, source: string, bytes: Buffer, call: Pick<grpc.ServerReadableStream<Buffer, Buffer>, 'getAuthContext'>, freshness: Freshness): { code: grpc.status; details: string } | null {
    let env: Envelope;
    try {
      env = this.envelopeCodec.decode(bytes);
    } catch (e) {
      this.drop('malformed', source, { member, error: e instanceof Error ? e.message : String(e), bytes: bytes.length });
      return { code: grpc.status.INVALID_ARGUMENT, details: 'malformed envelope' };
    }
    // (b) cluster
    if (env.clusterId !== this.opts.clusterId) {
      this.drop('wrongCluster', source, { member, clusterId: env.clusterId });
      return { code: grpc.status.PERMISSION_DENIED, details: 'wrong cluster' };
    }
    // (c) sender and recipient
    if (env.from !== member) {
      this.drop('spoofedSender', source, { member, claimedFrom: env.from });
      return { code: grpc.status.PERMISSION_DENIED, details: 'sender does not match source address' };
    }
    if (env.to !== this.opts.self) {
      this.drop('wrongRecipient', source, { member, to: env.to });
      return { code: grpc.status.PERMISSION_DENIED, details: 'not addressed to this node' };
    }
    // (d) mutual TLS identity
    if (this.opts.tls) {
      const names = certificateNames(call.getAuthContext().sslPeerCertificate);
      if (!names.includes(env.from)) {
        this.drop('badCertificate', source, { member, certificateNames: names });
        return { code: grpc.status.PERMISSION_DENIED, details: 'certificate does not name the sender' };
      }
    }
    // late on its stream: older than the deadline compared with the freshest message seen on it
    const lateMs = freshness.lateness(this.monotonicMs(), env.sentAtMs);
    if (lateMs > this.opts.deliverTimeoutMs) {
      this.drop('stale', source, { member, body: env.body, lateMs: Math.round(lateMs) });
      return null; // not the sender's fault: the stream stays
    }
    this.tally.received++;
    const ch = this.channels.get(member);
    if (ch) {
      ch.stats.received++;
      ch.heardAt = this.monotonicMs();
    }
    this.opts.counters?.received(member, env.body);
    try {
      this.handler?.(env);
    } catch (e) {
      this.drop('handlerError', source, { member, body: env.body, err: e });
      return { code: grpc.status.INTERNAL, details: 'receiver failed' };
    }
    return null;
  }

  private readonly handleStream = (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void => {
    const { member, source } = this.memberOf(call);
    if (member === undefined) {
      callback({ code: grpc.status.PERMISSION_DENIED, details: 'not a member of this mesh' }, null);
      return;
    }
    const freshness = new Freshness();
    let done = false;
    const finish = (status: { code: grpc.status; details: string } | null): void => {
      if (done) return;
      done = true;
      if (status) callback(status, null);
      else callback(null, Buffer.alloc(0));
    };
    call.on('data', (bytes: Buffer) => {
      if (done) return;
      const rejected = this.admit(member, source, bytes, call, freshness);
      if (rejected) finish(rejected);
    });
    call.on('end', () => finish(null));
    call.on('error', () => {
      done = true; // cancelled by the sender, or the connection went away
    });
  };
}

/**
 * How late a message on one stream arrives, on the receiver's monotonic clock: (arrival − sentAt)
 * minus the smallest such difference seen on the stream (the fastest delivery, clock offset
 * included), that smallest value being allowed to creep up by RATE_ALLOWANCE of the time since it
 * was seen (the two clocks' rates differ a little). The first message of a stream is never late.
 */
export class Freshness {
  static readonly RATE_ALLOWANCE = 0.001;
  private best: { diff: number; at: number } | null = null;

  lateness(arrival: number, sentAt: number): number {
    const diff = arrival - sentAt;
    const b = this.best;
    const base = b === null ? diff : b.diff + (arrival - b.at) * Freshness.RATE_ALLOWANCE;
    if (b === null || diff <= base) {
      this.best = { diff, at: arrival };
      return 0;
    }
    return diff - base;
  }
}
