// A minimal, timeout-guarded D-Bus client for a node's systemd, used from OUTSIDE the node (the bus
// socket is a path on the host filesystem). dbus-next leaves calls pending forever when the peer
// dies, so every call races a timeout and a dead connection is dropped and re-made on the next call.
import dbus from 'dbus-next';

const SYSTEMD = 'org.freedesktop.systemd1';

/** systemd's bus_label_escape: the object path element for a unit name. */
export function unitObjectPath(unit: string): string {
  let out = '';
  for (let i = 0; i < unit.length; i++) {
    const c = unit[i] as string;
    if (/[A-Za-z0-9]/.test(c) && !(i === 0 && /[0-9]/.test(c))) out += c;
    else out += '_' + c.charCodeAt(0).toString(16).padStart(2, '0');
  }
  return `/org/freedesktop/systemd1/unit/${out}`;
}

export class SystemdBus {
  private bus: dbus.MessageBus | undefined;
  private dead = false;
  /** Rejects when the current connection fails or closes: dbus-next itself leaves calls pending. */
  private lost: Promise<never> = new Promise<never>(() => undefined);

  constructor(readonly address: string) {}

  private connection(): dbus.MessageBus {
    if (this.bus && !this.dead) return this.bus;
    this.close();
    const bus = dbus.sessionBus({ busAddress: this.address });
    this.dead = false;
    let fail: (e: Error) => void = () => undefined;
    this.lost = new Promise<never>((_, reject) => (fail = reject));
    this.lost.catch(() => undefined); // observed through Promise.race in call()
    const die = (e: unknown): void => {
      if (this.bus === bus) this.dead = true;
      fail(e instanceof Error ? e : new Error(String(e)));
    };
    bus.on('error', die);
    // The transport's end/close are not forwarded by MessageBus; listen on its connection (internal field).
    const conn = (bus as unknown as { _connection?: { on(ev: string, f: () => void): void } })._connection;
    conn?.on('end', () => die(new Error(`D-Bus connection to ${this.address} closed`)));
    this.bus = bus;
    return bus;
  }

  async call(path: string, iface: string, member: string, signature: string, body: unknown[], timeoutMs: number): Promise<dbus.Message> {
    const bus = this.connection();
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        bus.call(new dbus.Message({ destination: SYSTEMD, path, interface: iface, member, signature, body })),
        this.lost,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`D-Bus ${member} on ${this.address}: no reply in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (!reply) throw new Error(`D-Bus ${member}: empty reply`);
      return reply;
    } catch (e) {
      // A timeout or transport error leaves the connection in an unknown state: start afresh next time.
      if (!(e instanceof dbus.DBusError)) this.dead = true;
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async getProperty(path: string, iface: string, prop: string, timeoutMs: number): Promise<unknown> {
    const reply = await this.call(path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, prop], timeoutMs);
    const v = reply.body[0] as dbus.Variant;
    return v.value;
  }

  /** ActiveState of a unit (systemd loads an unloaded unit on demand for its object path). */
  async activeState(unit: string, timeoutMs = 250): Promise<string> {
    return String(await this.getProperty(unitObjectPath(unit), `${SYSTEMD}.Unit`, 'ActiveState', timeoutMs));
  }

  /**
   * ActiveState of many units in ONE call (Manager.ListUnitsByPatterns, each unit name a pattern of
   * its own, all states): what `systemctl --user list-units NAMES…` asks. Only loaded units are
   * listed and the call loads nothing, so a unit absent from the map is not loaded, hence inactive.
   * (ListUnitsByNames would load every stopped unit from disk on each call.)
   */
  async activeStates(units: readonly string[], timeoutMs = 250): Promise<Map<string, string>> {
    const reply = await this.call('/org/freedesktop/systemd1', `${SYSTEMD}.Manager`, 'ListUnitsByPatterns', 'asas', [[], [...units]], timeoutMs);
    // a(ssssssouso): name, description, load state, active state, sub state, following, unit path, job id, job type, job path
    const rows = reply.body[0] as unknown[][];
    return new Map(rows.map((r) => [String(r[0]), String(r[3])]));
  }

  /**
   * When the unit last began starting (InactiveExitTimestampMonotonic) and last became active
   * (ActiveEnterTimestampMonotonic), in ms of CLOCK_MONOTONIC: the clock of process.hrtime (and of
   * performance.now, at a fixed offset). 0 when it never did.
   */
  async unitStartTimes(unit: string, timeoutMs = 1000): Promise<{ startMs: number; activeMs: number }> {
    const get = async (prop: string): Promise<number> => Number(await this.getProperty(unitObjectPath(unit), `${SYSTEMD}.Unit`, prop, timeoutMs)) / 1000;
    return { startMs: await get('InactiveExitTimestampMonotonic'), activeMs: await get('ActiveEnterTimestampMonotonic') };
  }

  async systemState(timeoutMs = 250): Promise<string> {
    return String(await this.getProperty('/org/freedesktop/systemd1', `${SYSTEMD}.Manager`, 'SystemState', timeoutMs));
  }

  close(): void {
    const bus = this.bus;
    this.bus = undefined;
    if (bus) {
      try {
        bus.disconnect();
      } catch {
        /* already closed */
      }
    }
  }
}
