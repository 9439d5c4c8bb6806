// One shared D-Bus connection per bus address, rebuilt when the bus drops.
//
// dbus-next leaves a method call pending forever when its connection dies, and does not forward the
// socket's end to the MessageBus. So this wrapper watches the raw connection itself, rejects every
// call still in flight with BusDroppedError when it dies, gives each call its own timeout (and
// removes dbus-next's reply handler on timeout, so nothing dangles), and reconnects lazily on the
// next call. Listeners registered with onSignal and onConnect survive reconnects: onConnect hooks
// run on every new connection (the systemd manager uses that to re-add its match rules and
// Subscribe()).

import dbus from 'dbus-next';
import type { Message, MessageBus } from 'dbus-next';

export const DBUS_NAME = 'org.freedesktop.DBus';
const DBUS_PATH = '/org/freedesktop/DBus';

/** The bus connection died while this call was in flight; its outcome is unknown. */
export class BusDroppedError extends Error {
  override readonly name = 'BusDroppedError';
  constructor(readonly address: string, cause?: unknown) {
    super(`D-Bus connection to ${address} dropped${cause instanceof Error ? `: ${cause.message}` : ''}`);
  }
}

/** No reply within the call's timeout. */
export class BusCallTimeoutError extends Error {
  override readonly name = 'BusCallTimeoutError';
  constructor(readonly member: string, readonly timeoutMs: number, message?: string) {
    super(message ?? `D-Bus call ${member} got no reply within ${timeoutMs} ms`);
  }
}

/** An error reply from the peer (e.g. org.freedesktop.systemd1.NoSuchUnit). */
export function dbusErrorName(e: unknown): string | null {
  if (e instanceof dbus.DBusError) return e.type;
  return null;
}

export interface CallSpec {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

type SignalListener = (msg: Message) => void;
type ConnectHook = (conn: Connected) => Promise<void>;

/** The live connection handed to onConnect hooks. */
export interface Connected {
  call(spec: CallSpec, timeoutMs: number): Promise<Message>;
  addMatch(rule: string, timeoutMs: number): Promise<void>;
}

interface Live {
  bus: MessageBus;
  ready: Promise<void>;
  dead: boolean;
  inflight: Set<(err: Error) => void>;
}

export class SharedBus {
  private live: Live | null = null;
  private readonly signalListeners = new Set<SignalListener>();
  private readonly connectHooks: ConnectHook[] = [];
  private readonly dropListeners = new Set<(err: BusDroppedError) => void>();
  private closed = false;
  /** number of connections opened so far (1 + reconnects); for logs and tests */
  connections = 0;

  constructor(
    readonly address: string,
    private readonly connectTimeoutMs = 10_000,
  ) {}

  onSignal(listener: SignalListener): () => void {
    this.signalListeners.add(listener);
    return () => this.signalListeners.delete(listener);
  }

  /** Called when a live connection dies (everything awaiting its signals should give up). */
  onDrop(listener: (err: BusDroppedError) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  onConnect(hook: ConnectHook): void {
    this.connectHooks.push(hook);
  }

  /** Call a method; rejects with BusDroppedError, BusCallTimeoutError or dbus-next's DBusError. */
  async call(spec: CallSpec, timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    const live = await this.connect(timeoutMs);
    return this.callOn(live, spec, Math.max(0, deadline - Date.now()));
  }

  /** Make sure a connection is up (connects and runs the hooks if needed). */
  async ensureConnected(timeoutMs: number): Promise<void> {
    await this.connect(timeoutMs);
  }

  /** Force the next call to use a new connection (after a suspected stale one). */
  drop(cause?: unknown): void {
    if (this.live) this.kill(this.live, cause);
  }

  close(): void {
    this.closed = true;
    if (this.live) this.kill(this.live, new Error('closed'));
  }

  private async connect(timeoutMs: number): Promise<Live> {
    if (this.closed) throw new BusDroppedError(this.address, new Error('bus closed'));
    if (!this.live || this.live.dead) this.live = this.open();
    const live = this.live;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        live.ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BusCallTimeoutError('connect', timeoutMs)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return live;
  }

  private open(): Live {
    this.connections++;
    const bus = dbus.sessionBus({ busAddress: this.address });
    const live: Live = { bus, ready: Promise.resolve(), dead: false, inflight: new Set() };
    // dbus-next does not forward the socket's end to the MessageBus: watch the raw connection.
    const raw = (bus as unknown as { _connection: NodeJS.EventEmitter })._connection;
    const onDead = (err?: unknown): void => this.kill(live, err);
    raw.on('end', () => onDead(new Error('connection closed by peer')));
    bus.on('error', (err: unknown) => onDead(err));
    bus.on('message', (msg: Message) => {
      if (live.dead || msg.type !== dbus.MessageType.SIGNAL) return;
      for (const l of this.signalListeners) l(msg);
    });
    live.ready = new Promise<void>((resolve, reject) => {
      if (live.dead) return reject(new BusDroppedError(this.address));
      live.inflight.add(reject);
      bus.once('connect', () => {
        live.inflight.delete(reject);
        const conn: Connected = {
          call: (spec, t) => this.callOn(live, spec, t),
          addMatch: async (rule, t) => {
            await this.callOn(live, { destination: DBUS_NAME, path: DBUS_PATH, interface: DBUS_NAME, member: 'AddMatch', signature: 's', body: [rule] }, t);
          },
        };
        const deadline = Date.now() + this.connectTimeoutMs;
        void (async () => {
          try {
            for (const hook of this.connectHooks) {
              if (Date.now() > deadline) throw new BusCallTimeoutError('connect hooks', this.connectTimeoutMs);
              await hook(conn);
            }
            resolve();
          } catch (e) {
            this.kill(live, e);
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        })();
      });
    });
    // A connection that failed is reported to whoever awaits it; never as an unhandled rejection.
    live.ready.catch(() => undefined);
    return live;
  }

  private callOn(live: Live, spec: CallSpec, timeoutMs: number): Promise<Message> {
    if (live.dead) return Promise.reject(new BusDroppedError(this.address));
    const msg = new dbus.Message({
      destination: spec.destination,
      path: spec.path,
      interface: spec.interface,
      member: spec.member,
      signature: spec.signature ?? '',
      body: spec.body ?? [],
    });
    return new Promise<Message>((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        live.inflight.delete(onDrop);
        fn();
      };
      const onDrop = (err: Error): void => finish(() => reject(err));
      const timer = setTimeout(() => {
        // dbus-next keeps a reply handler per serial forever; remove ours so nothing dangles.
        const handlers = (live.bus as unknown as { _methodReturnHandlers: Record<number, unknown> })._methodReturnHandlers;
        if (msg.serial !== null) delete handlers[msg.serial];
        finish(() => reject(new BusCallTimeoutError(spec.member, timeoutMs)));
      }, Math.max(0, timeoutMs));
      live.inflight.add(onDrop);
      live.bus.call(msg).then(
        (reply) => finish(() => (reply ? resolve(reply) : reject(new Error(`no reply to ${spec.member}`)))),
        (err: unknown) => finish(() => reject(err instanceof Error ? err : new Error(String(err)))),
      );
    });
  }

  private kill(live: Live, cause?: unknown): void {
    if (live.dead) return;
    live.dead = true;
    const err = new BusDroppedError(this.address, cause);
    for (const reject of [...live.inflight]) reject(err);
    live.inflight.clear();
    try {
      live.bus.disconnect();
    } catch {
      /* already closed */
    }
    if (this.live === live) this.live = null;
    for (const l of this.dropListeners) l(err);
  }
}
