// Virtual IP resources (kind "ip", params {address, interface, arpCount}): an address that moves
// with the service, what Pacemaker users run as ocf:heartbeat:IPaddr2.
//
//   start    `ip address add ADDR/PREFIX dev IF`, then gratuitous ARP in the background:
//            `arping -q -U -c N -I IF ADDR`, one a second (IPv4); IPv6: wait for DAD, whose end
//            the kernel announces (ndisc_notify)
//   stop     `ip address del ADDR/PREFIX dev IF` (the background arping is ended first)
//   monitor  `ip -j address show dev IF`: running when ADDR/PREFIX is on IF, stopped otherwise
//   probe    the monitor: it only reads
//
// Why iproute2 and not netlink from the agent: Node has no AF_NETLINK socket, so netlink would need
// a native addon or a hand-built rtnetlink client; `ip` is in every NixOS system, speaks netlink
// itself, and its JSON output (`-j`) is stable. Each call is a few milliseconds.
//
// Gratuitous ARP: a survivor that takes over the address must tell the LAN its MAC, or clients
// and the router keep sending to the dead node's MAC until their neighbour entry times out (seconds
// to minutes). IPaddr2 sends arp_count = 5 unsolicited ARPs in the background (arp_bg = true for
// IPv4) and returns from start at once; so does this driver, with iputils' arping. Linux updates an
// existing neighbour entry from a gratuitous ARP even within its locktime; it does not create one
// (arp_accept = 0), so only hosts that talk to the address are touched.
//
// IPv6: the address goes through duplicate address detection, as with IPaddr2 (nodad = false), and
// start returns once DAD is done (a duplicate: the address is removed again and start fails, as
// IPaddr2's run_send_ua does). The announcement is the kernel's own: with the interface's
// `ndisc_notify` on, which start sets, it sends an unsolicited neighbour advertisement (override
// flag set) when DAD completes; IPaddr2 sends one with resource-agents' send_ua, which Debian and
// NixOS ship only inside resource-agents, and Node cannot send raw ICMPv6. `nodad` would make the
// address usable a second sooner but then the kernel sends no advertisement at all (the address is
// never tentative). ndisc_notify stays on: the kernel then also announces the interface's
// addresses when its link comes up or its MAC changes. arpCount applies to IPv4 only.
//
// Results, decided like IPaddr2 where it fits tsha's scale of failures:
// - the interface does not exist here: start is `notInstalled` (kept off this node only; IPaddr2
//   says OCF_ERR_CONFIGURED, which Pacemaker takes as "nowhere", but the interface is a fact of the
//   node, and another node may have it), monitor and probe are `notInstalled` with state stopped
//   (an address cannot be on a missing interface), stop is ok (nothing to remove);
// - an invalid address or interface name (the configuration check refuses both): `errorFatal`;
// - EPERM from the kernel (the agent lacks CAP_NET_ADMIN): `errorHard`;
// - arping missing while ARPs are wanted: start is `notInstalled` before anything is changed
//   (IPaddr2's check_binary), since a takeover nobody hears of is a failover that does not work.
//
// Every command runs in its own process group with the operation's remaining time; on timeout the
// group is killed and the result is `timeout`. start and stop read the state first, so a running
// address is not added twice and a missing one not removed: both are idempotent.

import { runInGroup } from '../process-group.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { formatInterfaceAddress, type InterfaceAddress, interfaceNameError, parseInterfaceAddress } from '../../config/ip-address.js';
import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../../ports/resource-agent.js';

/** Gratuitous ARPs after a start when the resource does not say (IPaddr2's arp_count default). */
export const DEFAULT_ARP_COUNT = 5;

export interface IpAgentOptions {
  /** argv put before every command, e.g. ['nsenter', '--net=/run/netns/x'] (default: none) */
  commandPrefix?: readonly string[];
  /** iproute2's ip (default "ip", looked up on PATH) */
  ip?: string;
  /** iputils' arping (default "arping", looked up on PATH) */
  arping?: string;
}

interface Outcome {
  code: number | null;
  timedOut: boolean;
  /** the command could not be started (e.g. ENOENT) */
  spawnError?: string;
  stdout: string;
  stderr: string;
}

/** Run argv in its own process group (SIGKILL on timeout), its whole output read: `ip -j` is parsed whole. */
async function run(argv: readonly string[], timeoutMs: number): Promise<Outcome> {
  const o = await runInGroup(argv[0]!, argv.slice(1), { env: { ...process.env, LC_ALL: 'C' }, timeoutMs, keepStderr: 2000 });
  if (o.spawnError) return { code: null, timedOut: false, spawnError: o.spawnError, stdout: o.stdout, stderr: o.spawnError };
  return { code: o.code, timedOut: o.timedOut, stdout: o.stdout, stderr: o.stderr.trim() };
}

/** Is `cmd` an executable file (a path, or a name found on PATH)? */
function executable(cmd: string): boolean {
  const candidates = cmd.includes('/') ? [cmd] : (process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, cmd));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

interface Spec {
  addr: InterfaceAddress;
  ifname: string;
  arpCount: number;
}

type Seen =
  /** `tentative`: IPv6 DAD still running; `dadfailed`: another host has the address */
  | { kind: 'present'; tentative: boolean; dadfailed: boolean }
  /** `ifname`: the interface's kernel name, which arping needs (it does not resolve alternative names) */
  | { kind: 'absent'; ifname: string }
  | { kind: 'noInterface'; reason: string }
  | { kind: 'failed'; result: ActionResult };

const NO_DEVICE = /does not exist|Cannot find device|No such device/i;
const NOT_PERMITTED = /Operation not permitted|Permission denied/i;

export class IpAgent implements ResourceAgent {
  readonly kinds = ['ip'] as const;
  private readonly prefix: readonly string[];
  private readonly ipCmd: string;
  private readonly arpingCmd: string;
  /** background arping of each started resource, ended by its stop and by close() */
  private readonly announcers = new Map<string, ChildProcess>();

  constructor(opts: IpAgentOptions = {}) {
    this.prefix = opts.commandPrefix ?? [];
    this.ipCmd = opts.ip ?? 'ip';
    this.arpingCmd = opts.arping ?? 'arping';
  }

  private spec(res: ResourceRef): Spec | ActionResult {
    const where = (k: string) => `resources.${res.id}.params.${k}`;
    const { address, interface: ifname, arpCount } = res.params;
    if (!address) return { status: 'errorFatal', reason: `${where('address')}: missing` };
    if (!ifname) return { status: 'errorFatal', reason: `${where('interface')}: missing` };
    const parsed = parseInterfaceAddress(address);
    if (!parsed.ok) return { status: 'errorFatal', reason: `${where('address')}: ${parsed.error}` };
    const ifError = interfaceNameError(ifname);
    if (ifError) return { status: 'errorFatal', reason: `${where('interface')}: ${ifError}` };
    const count = arpCount === undefined ? DEFAULT_ARP_COUNT : Number(arpCount);
    if (!Number.isInteger(count) || count < 0) return { status: 'errorFatal', reason: `${where('arpCount')}: ${JSON.stringify(arpCount)} is not a count` };
    return { addr: parsed.value, ifname, arpCount: count };
  }

  private failure(what: string, o: Outcome): ActionResult {
    if (o.timedOut) return { status: 'timeout', reason: `${what}: timed out` };
    if (o.spawnError) return { status: 'notInstalled', reason: `${what}: ${o.spawnError}` };
    const text = o.stderr || `exit ${o.code}`;
    return { status: NOT_PERMITTED.test(text) ? 'errorHard' : 'error', reason: `${what}: ${text}`, ...(o.code !== null ? { exitCode: o.code } : {}) };
  }

  /** Is the address on the interface? One `ip -j address show dev IF`. */
  private async read(res: ResourceRef, s: Spec, timeoutMs: number): Promise<Seen> {
    const o = await run([...this.prefix, this.ipCmd, '-j', 'address', 'show', 'dev', s.ifname], timeoutMs);
    if (o.code !== 0 || o.timedOut || o.spawnError) {
      if (!o.timedOut && !o.spawnError && NO_DEVICE.test(o.stderr)) {
        return { kind: 'noInterface', reason: `interface ${JSON.stringify(s.ifname)} does not exist on this node (resources.${res.id}.params.interface)` };
      }
      return { kind: 'failed', result: this.failure(`ip address show dev ${s.ifname}`, o) };
    }
    let links: { ifname?: string; addr_info?: { family?: string; local?: string; prefixlen?: number; tentative?: boolean; dadfailed?: boolean }[] }[];
    try {
      links = JSON.parse(o.stdout) as typeof links;
    } catch {
      return { kind: 'failed', result: { status: 'error', reason: `ip -j address show dev ${s.ifname}: output is not JSON` } };
    }
    const family = s.addr.family === 4 ? 'inet' : 'inet6';
    const found = links.flatMap((l) => l.addr_info ?? []).find((a) => a.family === family && a.local === s.addr.address && a.prefixlen === s.addr.prefix);
    if (found) return { kind: 'present', tentative: found.tentative === true, dadfailed: found.dadfailed === true };
    return { kind: 'absent', ifname: links[0]?.ifname ?? s.ifname };
  }

  async monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    const s = this.spec(res);
    if (!('addr' in s)) return { ...s, state: 'stopped', running: false };
    const seen = await this.read(res, s, op.timeoutMs);
    switch (seen.kind) {
      case 'present':
        // a duplicate found by DAD: the kernel does not use the address (another host answers for it)
        if (seen.dadfailed) return { status: 'error', state: 'failed', running: false, reason: `${formatInterfaceAddress(s.addr)} on ${s.ifname}: duplicate address detected (another host has it)` };
        if (seen.tentative) return { status: 'ok', state: 'starting', running: true, role: 'started' };
        return { status: 'ok', state: 'running', running: true, role: 'started' };
      case 'absent':
        return { status: 'ok', state: 'stopped', running: false };
      case 'noInterface':
        return { status: 'notInstalled', state: 'stopped', running: false, reason: seen.reason };
      case 'failed':
        // the address may be there: a monitor that could not look says "maybe running"
        return { ...seen.result, state: 'running', running: true };
    }
  }

  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.monitor(res, op);
  }

  async start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const s = this.spec(res);
    if (!('addr' in s)) return s;
    const deadline = Date.now() + op.timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const announce = s.addr.family === 4 && s.arpCount > 0;
    if (announce && !executable(this.arpingCmd)) {
      return { status: 'notInstalled', reason: `${this.arpingCmd} (iputils) not found: gratuitous ARP for resources.${res.id} cannot be sent (set params.arpCount = "0" to start without it)` };
    }
    const seen = await this.read(res, s, left());
    if (seen.kind === 'present' && !seen.tentative && !seen.dadfailed) return { status: 'ok', reason: 'already running' };
    if (seen.kind === 'present') return s.addr.family === 6 ? this.awaitDad(res, s, left) : { status: 'ok', reason: 'already running' };
    if (seen.kind === 'noInterface') return { status: 'notInstalled', reason: seen.reason };
    if (seen.kind === 'failed') return seen.result;
    const cidr = formatInterfaceAddress(s.addr);
    if (s.addr.family === 6) {
      // the kernel announces the address when DAD completes only with ndisc_notify on
      const n = await run([...this.prefix, '/bin/sh', '-c', 'echo 1 > "/proc/sys/net/ipv6/conf/$1/ndisc_notify"', 'sh', seen.ifname], left());
      if (n.code !== 0 || n.timedOut || n.spawnError) return this.failure(`ndisc_notify on ${seen.ifname}`, n);
    }
    const add = [...this.prefix, this.ipCmd, 'address', 'add', cidr, 'dev', s.ifname];
    const o = await run(add, left());
    if (o.code !== 0 || o.timedOut || o.spawnError) {
      if (!o.timedOut && NO_DEVICE.test(o.stderr)) return { status: 'notInstalled', reason: `interface ${JSON.stringify(s.ifname)} does not exist on this node (resources.${res.id}.params.interface)` };
      // "File exists": added meanwhile by someone else; what counts is that it is there now
      if (!/File exists/.test(o.stderr)) return this.failure(`ip address add ${cidr} dev ${s.ifname}`, o);
    }
    if (announce) await this.announce(res.id, s, seen.ifname);
    if (s.addr.family === 6) return this.awaitDad(res, s, left);
    return { status: 'ok' };
  }

  /** IPv6: until duplicate address detection is done (ok), found a duplicate (removed, error), or the time is up. */
  private async awaitDad(res: ResourceRef, s: Spec, left: () => number): Promise<ActionResult> {
    const cidr = formatInterfaceAddress(s.addr);
    for (;;) {
      const seen = await this.read(res, s, left());
      if (seen.kind === 'failed') return seen.result;
      if (seen.kind !== 'present') return { status: 'error', reason: `${cidr} vanished from ${s.ifname} during duplicate address detection` };
      if (seen.dadfailed) {
        await run([...this.prefix, this.ipCmd, 'address', 'del', cidr, 'dev', s.ifname], left());
        return { status: 'error', reason: `${cidr} on ${s.ifname}: duplicate address detected (another host has it); removed again` };
      }
      if (!seen.tentative) return { status: 'ok' };
      if (left() <= 100) return { status: 'timeout', reason: `${cidr} on ${s.ifname}: duplicate address detection still running` };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Gratuitous ARP in the background; resolves once arping runs (its first ARP goes out at once). */
  private announce(id: string, s: Spec, ifname: string): Promise<void> {
    this.silence(id);
    const argv = [...this.prefix, this.arpingCmd, '-q', '-U', '-c', String(s.arpCount), '-I', ifname, s.addr.address];
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
    this.announcers.set(id, child);
    // arping stops by itself after arpCount seconds; this bounds a hung one
    const bound = setTimeout(() => killGroup(child), (s.arpCount + 2) * 1000);
    bound.unref();
    child.once('exit', () => {
      clearTimeout(bound);
      if (this.announcers.get(id) === child) this.announcers.delete(id);
    });
    return new Promise((resolve) => {
      child.once('spawn', () => resolve());
      child.once('error', () => resolve()); // checked on PATH before; a start that added the address stays ok
    });
  }

  private silence(id: string): void {
    const child = this.announcers.get(id);
    if (!child) return;
    this.announcers.delete(id);
    killGroup(child);
  }

  async stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    this.silence(res.id);
    const s = this.spec(res);
    if (!('addr' in s)) return s;
    const deadline = Date.now() + op.timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const seen = await this.read(res, s, left());
    if (seen.kind === 'absent') return { status: 'ok', reason: 'already stopped' };
    if (seen.kind === 'noInterface') return { status: 'ok', reason: seen.reason };
    if (seen.kind === 'failed') return seen.result;
    const cidr = formatInterfaceAddress(s.addr);
    const o = await run([...this.prefix, this.ipCmd, 'address', 'del', cidr, 'dev', s.ifname], left());
    if (o.code !== 0 || o.timedOut || o.spawnError) {
      // "Address not found" (older kernels: "Cannot assign requested address"): removed meanwhile; what counts is that it is gone now
      if (!o.timedOut && /Cannot assign requested address|Address not found/i.test(o.stderr)) return { status: 'ok', reason: 'already stopped' };
      return this.failure(`ip address del ${cidr} dev ${s.ifname}`, o);
    }
    return { status: 'ok' };
  }

  async close(): Promise<void> {
    for (const id of [...this.announcers.keys()]) this.silence(id);
  }
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}
