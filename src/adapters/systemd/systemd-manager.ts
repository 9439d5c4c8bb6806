// A thin client of org.freedesktop.systemd1.Manager over a SharedBus: load and read units, run
// StartUnit/StopUnit jobs to completion, ResetFailedUnit, Reload.
//
// The JobRemoved race (RECIPES.md §1): systemd may emit JobRemoved for a job before the
// StartUnit/StopUnit reply carrying that job's path reaches us. So the signal match and Subscribe()
// are in place before the first job call (they are connect hooks), and while any job call still
// awaits its reply, every JobRemoved is kept in `finished`, keyed by job path. When the reply
// arrives the caller first looks there, and only then waits. The map is emptied whenever no job
// call awaits a reply, so it never grows beyond the jobs that finished during those calls.
// Two callers may receive the same job path (StartUnit on a unit whose start job is pending returns
// that job), so a finished entry is not consumed by the first reader and waiters are lists.

import type { Message } from 'dbus-next';
import type { SharedBus} from './bus-connection.js';
import { BusCallTimeoutError, BusDroppedError, type Connected } from './bus-connection.js';

export const SYSTEMD_NAME = 'org.freedesktop.systemd1';
export const SYSTEMD_PATH = '/org/freedesktop/systemd1';
const MANAGER_IFACE = 'org.freedesktop.systemd1.Manager';
const UNIT_IFACE = 'org.freedesktop.systemd1.Unit';
const SERVICE_IFACE = 'org.freedesktop.systemd1.Service';
const PROPS_IFACE = 'org.freedesktop.DBus.Properties';

/** systemd's job results (JobRemoved's last argument). */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped' | 'invalid' | 'unsupported' | 'once' | (string & {});

export type JobOutcome =
  | { kind: 'finished'; result: JobResult; job: string }
  /** the operation deadline passed first; nothing is left waiting for this job */
  | { kind: 'timeout'; job: string | null }
  /** the bus connection died: whether and how the job finished is unknown */
  | { kind: 'dropped'; job: string | null };

export interface UnitState {
  path: string;
  /** loaded | not-found | bad-setting | error | masked | merged | stub */
  loadState: string;
  /** active | reloading | inactive | failed | activating | deactivating | maintenance */
  activeState: string;
  subState: string;
  /** LoadError's message when the unit could not be loaded */
  loadError: string | null;
  /** services only: Result= (success, exit-code, signal, timeout, core-dump, watchdog, start-limit-hit, …) */
  result: string | null;
  /** services only: 0 when no main process */
  mainPid: number;
  /** services only: the last STATUS= sent via sd_notify */
  statusText: string | null;
  /** services only: NRestarts */
  restarts: number;
}

type Waiter = (o: JobOutcome) => void;

export class SystemdManager {
  private readonly finished = new Map<string, JobResult>();
  private readonly waiters = new Map<string, Waiter[]>();
  private awaitingReply = 0;
  /** unique bus name of the manager; JobRemoved from anyone else is ignored */
  private managerOwner: string | null = null;
  /** jobs whose JobRemoved arrived before the StartUnit/StopUnit reply (the race, counted) */
  jobsFinishedBeforeReply = 0;

  constructor(readonly bus: SharedBus) {
    bus.onConnect((conn) => this.subscribe(conn));
    bus.onSignal((msg) => this.onSignal(msg));
    bus.onDrop((err) => this.failAllWaiters(err));
  }

  /** jobs waited on right now; 0 whenever no operation is in progress (tests check it) */
  get pendingWaiters(): number {
    let n = 0;
    for (const w of this.waiters.values()) n += w.length;
    return n;
  }

  /** finished jobs remembered for replies still in flight; 0 whenever no job call is in progress */
  get rememberedJobs(): number {
    return this.finished.size;
  }

  private async subscribe(conn: Connected): Promise<void> {
    const t = 5_000;
    const owner = await conn.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetNameOwner', signature: 's', body: [SYSTEMD_NAME] }, t);
    this.managerOwner = String(owner.body[0]);
    await conn.addMatch(`type='signal',sender='${SYSTEMD_NAME}',path='${SYSTEMD_PATH}',interface='${MANAGER_IFACE}',member='JobRemoved'`, t);
    await conn.addMatch(`type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${SYSTEMD_NAME}'`, t);
    // Signals are only emitted once some client subscribed (org.freedesktop.systemd1(5)).
    await conn.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'Subscribe' }, t);
  }

  private onSignal(msg: Message): void {
    if (msg.interface === 'org.freedesktop.DBus' && msg.member === 'NameOwnerChanged' && msg.body[0] === SYSTEMD_NAME) {
      // The manager reconnected to the bus (or restarted): its subscription and our view of its
      // jobs are gone. Start over on a fresh connection; waiters settle by reading unit state.
      this.bus.drop(new Error('systemd changed its bus name owner'));
      return;
    }
    if (msg.path !== SYSTEMD_PATH || msg.interface !== MANAGER_IFACE || msg.member !== 'JobRemoved') return;
    if (this.managerOwner && msg.sender !== this.managerOwner) return;
    const [, job, , result] = msg.body as [number, string, string, string];
    const waiting = this.waiters.get(job);
    if (waiting) {
      this.waiters.delete(job);
      for (const w of waiting) w({ kind: 'finished', result, job });
    }
    if (this.awaitingReply > 0) this.finished.set(job, result);
  }

  private failAllWaiters(_err: BusDroppedError): void {
    const all = [...this.waiters.entries()];
    this.waiters.clear();
    for (const [job, ws] of all) for (const w of ws) w({ kind: 'dropped', job });
  }

  /** Run StartUnit/StopUnit(unit, "replace") and wait for its JobRemoved, at most until `deadline`. */
  async runJob(method: 'StartUnit' | 'StopUnit' | 'RestartUnit', unit: string, deadline: number): Promise<JobOutcome> {
    // Subscription first: the connect hooks add the match and Subscribe() before any job exists.
    try {
      await this.bus.ensureConnected(remaining(deadline));
    } catch (e) {
      return connectFailure(e);
    }
    let job: string;
    this.awaitingReply++;
    try {
      const reply = await this.bus.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: method, signature: 'ss', body: [unit, 'replace'] }, remaining(deadline));
      job = String(reply.body[0]);
      const early = this.finished.get(job);
      if (early !== undefined) {
        this.jobsFinishedBeforeReply++;
        return { kind: 'finished', result: early, job };
      }
    } catch (e) {
      if (e instanceof BusCallTimeoutError) return { kind: 'timeout', job: null };
      if (e instanceof BusDroppedError) return { kind: 'dropped', job: null };
      throw e;
    } finally {
      this.awaitingReply--;
      if (this.awaitingReply === 0) this.finished.clear();
    }
    return new Promise<JobOutcome>((resolve) => {
      const waiter: Waiter = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
      const timer = setTimeout(() => {
        const ws = this.waiters.get(job);
        if (ws) {
          const rest = ws.filter((w) => w !== waiter);
          if (rest.length) this.waiters.set(job, rest);
          else this.waiters.delete(job);
        }
        resolve({ kind: 'timeout', job });
      }, remaining(deadline));
      const ws = this.waiters.get(job);
      if (ws) ws.push(waiter);
      else this.waiters.set(job, [waiter]);
    });
  }

  /** LoadUnit: loads the unit if needed (a stopped unit may have been garbage-collected). */
  async loadUnit(unit: string, deadline: number): Promise<string> {
    const reply = await this.bus.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'LoadUnit', signature: 's', body: [unit] }, remaining(deadline));
    return String(reply.body[0]);
  }

  /**
   * The few properties a monitor needs, each with Properties.Get: GetAll on the Unit and Service
   * interfaces returns some 300 properties (dependency lists, exec command lines, cgroup settings),
   * and decoding them is most of what a monitor costs an idle agent.
   */
  async unitState(unit: string, deadline: number): Promise<UnitState> {
    const path = await this.loadUnit(unit, deadline);
    const isService = unit.endsWith('.service');
    const get = (iface: string, name: string): Promise<unknown> => this.getProperty(path, iface, name, deadline);
    const [loadState, activeState, subState, result, mainPid, statusText, restarts] = await Promise.all([
      get(UNIT_IFACE, 'LoadState'),
      get(UNIT_IFACE, 'ActiveState'),
      get(UNIT_IFACE, 'SubState'),
      isService ? get(SERVICE_IFACE, 'Result') : undefined,
      isService ? get(SERVICE_IFACE, 'MainPID') : undefined,
      isService ? get(SERVICE_IFACE, 'StatusText') : undefined,
      isService ? get(SERVICE_IFACE, 'NRestarts') : undefined,
    ]);
    const loadError = String(loadState) === 'loaded' ? undefined : ((await get(UNIT_IFACE, 'LoadError')) as [string, string] | undefined);
    return {
      path,
      loadState: String(loadState ?? ''),
      activeState: String(activeState ?? ''),
      subState: String(subState ?? ''),
      loadError: loadError && loadError[0] ? `${loadError[0]}: ${loadError[1]}` : null,
      result: result === undefined ? null : String(result),
      mainPid: Number(mainPid ?? 0),
      statusText: statusText === undefined ? null : String(statusText),
      restarts: Number(restarts ?? 0),
    };
  }

  /**
   * ActiveState of a loaded unit in one call (Manager.ListUnitsByPatterns with the unit's name as
   * the pattern, what `systemctl list-units NAME` asks): a recurring monitor of a healthy unit needs
   * nothing else. Null when the name is not a plain pattern (fnmatch would read `\x2d`, `*`, `[` as
   * pattern syntax) or the unit is not loaded (stopped and collected, or absent): the caller then
   * reads the whole state.
   */
  async listedState(unit: string, deadline: number): Promise<{ loadState: string; activeState: string; subState: string } | null> {
    if (/[*?[\]\\]/.test(unit)) return null;
    const reply = await this.bus.call(
      { destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'ListUnitsByPatterns', signature: 'asas', body: [[], [unit]] },
      remaining(deadline),
    );
    for (const row of reply.body[0] as unknown[][]) {
      if (row[0] === unit) return { loadState: String(row[2]), activeState: String(row[3]), subState: String(row[4]) };
    }
    return null;
  }

  /**
   * Unit.ConditionResult: false when a Condition*= of the unit failed at its last start, which
   * systemd then skipped (the start job still ends "done", the unit stays inactive).
   */
  async conditionResult(unit: string, deadline: number): Promise<boolean> {
    const path = await this.loadUnit(unit, deadline);
    return Boolean(await this.getProperty(path, UNIT_IFACE, 'ConditionResult', deadline));
  }

  /** KillUnit(unit, "all", signal): the signal to every process of the unit, whatever job runs. */
  async killUnit(unit: string, signal: number, deadline: number): Promise<void> {
    await this.bus.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'KillUnit', signature: 'ssi', body: [unit, 'all', signal] }, remaining(deadline));
  }

  async resetFailedUnit(unit: string, deadline: number): Promise<void> {
    await this.bus.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'ResetFailedUnit', signature: 's', body: [unit] }, remaining(deadline));
  }

  /** Reload unit files (daemon-reload); the reply comes once the reload finished. */
  async reload(deadline: number): Promise<void> {
    await this.bus.call({ destination: SYSTEMD_NAME, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member: 'Reload' }, remaining(deadline));
  }

  private async getProperty(path: string, iface: string, name: string, deadline: number): Promise<unknown> {
    const reply = await this.bus.call({ destination: SYSTEMD_NAME, path, interface: PROPS_IFACE, member: 'Get', signature: 'ss', body: [iface, name] }, remaining(deadline));
    return (reply.body[0] as { value: unknown }).value;
  }

  close(): void {
    this.bus.close();
  }
}

export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

function connectFailure(e: unknown): JobOutcome {
  if (e instanceof BusCallTimeoutError) return { kind: 'timeout', job: null };
  return { kind: 'dropped', job: null };
}
