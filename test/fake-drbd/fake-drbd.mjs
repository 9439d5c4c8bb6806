// FAKE DRBD 9 for tests: this machine's kernel has no DRBD module, so `drbdsetup` and `drbdadm` on
// the PATH of the agents under test are this program (the executables beside it run it). It models,
// per resource, what tsha's DRBD driver reads and does: each node's role (Primary/Secondary), local
// disk state (UpToDate, Outdated, Inconsistent, Diskless), per-peer connection state (Connected,
// Connecting, StandAlone), the peer's role and disk as that node sees them (DUnknown once the
// connection is lost), and the fence-peer handler DRBD runs with `fencing resource-and-stonith`.
// No data is replicated: there is no block device at all.
//
// State: one JSON file in $FAKE_DRBD_STATE (a directory shared by every node of a test), updated
// under a lock file (O_EXCL, the holder's PID inside; a dead holder's lock is taken over). The
// node a command runs as: $__DRBD_NODE__ (as real drbdadm reads it), else $TSHA_NODE.
//
// What it refuses, as real DRBD 9 does, with DRBD's messages and exit codes:
//   primary while a connected peer is Primary      (-1) Multiple primaries not allowed by config, 11
//   primary with an Outdated/Inconsistent/Diskless (-2) Need access to UpToDate data, 17
//   primary while a peer's disk is DUnknown and the fence-peer handler did not outdate it
//                                                  (-7) Refusing to be Primary while peer is not outdated, 11
//   outdate while Primary                          (-2) Need access to UpToDate data, 17
//   outdate while Connected                        (-6) Refusing to be Outdated while Connected, 11
// The fence-peer handler's exit code is taken as DRBD's kernel takes it (conn_try_outdate_peer):
// 3 peer disk Inconsistent, 4 and 7 peer disk Outdated, 5 peer disk Outdated when the local disk
// is UpToDate, 6 "peer is primary": the LOCAL disk becomes Outdated; anything else: the helper is
// broken, nothing changes. A Primary that loses a connection with fencing set runs the handler
// too (DRBD freezes its I/O until it answers): `fake-drbdctl cut` and `power-off` do that.
//
// Usage: fake-drbd.mjs drbdsetup|drbdadm|ctl ARGS… (see README.md).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SS = {
  twoPrimaries: { code: -1, text: 'Multiple primaries not allowed by config', exit: 11 },
  noUpToDate: { code: -2, text: 'Need access to UpToDate data', exit: 17 },
  connectedOutdates: { code: -6, text: 'Refusing to be Outdated while Connected', exit: 11 },
  primaryNop: { code: -7, text: 'Refusing to be Primary while peer is not outdated', exit: 11 },
};

class DrbdError extends Error {
  constructor(message, exit) {
    super(message);
    this.exit = exit;
  }
}

const now = () => performance.timeOrigin + performance.now();

function stateDir() {
  const d = process.env.FAKE_DRBD_STATE;
  if (!d) throw new DrbdError('FAKE drbd: $FAKE_DRBD_STATE (the shared state directory) is not set', 20);
  return d;
}
const stateFile = () => path.join(stateDir(), 'state.json');

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Runs fn(state) under the lock and writes the state back (atomic rename) unless fn returns `write: false`. */
function locked(fn) {
  const lock = path.join(stateDir(), 'lock');
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(lock, 'utf8'));
      } catch {
        continue;
      }
      if (holder > 0 && !alive(holder)) {
        // the holder died: take the lock over (rename is atomic, so only one taker wins)
        try {
          fs.renameSync(lock, `${lock}.stale.${process.pid}`);
          fs.rmSync(`${lock}.stale.${process.pid}`, { force: true });
        } catch {
          /* someone else took it over */
        }
        continue;
      }
      if (Date.now() > deadline) throw new DrbdError(`FAKE drbd: state lock ${lock} held by ${holder} for 10 s`, 20);
      sleepMs(2);
    }
  }
  try {
    const st = fs.existsSync(stateFile()) ? JSON.parse(fs.readFileSync(stateFile(), 'utf8')) : { resources: {}, history: [] };
    const out = fn(st);
    if (out?.write !== false) {
      fs.writeFileSync(`${stateFile()}.tmp`, JSON.stringify(st, null, 1));
      fs.renameSync(`${stateFile()}.tmp`, stateFile());
    }
    // a refusal that is recorded in the history is thrown once the state is written
    if (out?.error) throw out.error;
    return out?.value;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function self() {
  const n = process.env.__DRBD_NODE__ || process.env.TSHA_NODE;
  if (!n) throw new DrbdError('FAKE drbd: neither $__DRBD_NODE__ nor $TSHA_NODE names this node', 20);
  return n;
}

function resourceOf(st, name) {
  const r = st.resources[name];
  if (!r) throw new DrbdError(`'${name}' not defined in your config (for this host).`, 10);
  return r;
}

function record(st, res, node, event, detail = {}) {
  const n = st.resources[res]?.nodes[node];
  st.history.push({ t: now(), resource: res, node, event, role: n?.role, disk: n?.disk, ...detail });
}

const linkKey = (a, b) => [a, b].sort().join('|');

/** How node `me` sees peer `p` of resource r. */
function connection(r, me, p) {
  const mine = r.nodes[me];
  const peer = r.nodes[p];
  let state;
  if (mine.standalone?.[p]) state = 'StandAlone';
  else if (!peer.up || peer.gone || r.cut[linkKey(me, p)]) state = 'Connecting';
  else state = 'Connected';
  const connected = state === 'Connected';
  return {
    state,
    peerRole: connected ? peer.role : 'Unknown',
    peerDisk: connected ? peer.disk : (mine.seen?.[p] ?? 'DUnknown'),
  };
}

function peersOf(r, me) {
  return Object.keys(r.nodes).filter((n) => n !== me).sort((a, b) => r.nodes[a].nodeId - r.nodes[b].nodeId);
}

/** The JSON `drbdsetup status RES --json` prints for one resource, in DRBD 9's shape. */
function statusJson(name, r, me) {
  const mine = r.nodes[me];
  return {
    name,
    'node-id': mine.nodeId,
    role: mine.role,
    suspended: Boolean(mine.suspended),
    'write-ordering': 'flush',
    devices: [{
      volume: 0, minor: r.minor, 'disk-state': mine.disk, client: mine.disk === 'Diskless', quorum: true, size: 102400,
      read: 0, written: 0, 'al-writes': 0, 'bm-writes': 0, 'upper-pending': 0, 'lower-pending': 0,
    }],
    connections: peersOf(r, me).map((p) => {
      const c = connection(r, me, p);
      return {
        'peer-node-id': r.nodes[p].nodeId, name: p, 'connection-state': c.state, congested: false, 'peer-role': c.peerRole,
        'ap-in-flight': 0, 'rs-in-flight': 0,
        peer_devices: [{
          volume: 0, 'replication-state': c.state === 'Connected' ? 'Established' : 'Off', 'peer-disk-state': c.peerDisk, 'peer-client': false,
          'resync-suspended': 'no', received: 0, sent: 0, 'out-of-sync': 0, pending: 0, unacked: 0,
          'has-sync-details': false, 'has-online-verify-details': false, 'percent-in-sync': 100,
        }],
      };
    }),
  };
}

function statusText(name, r, me) {
  const mine = r.nodes[me];
  const lines = [`${name} role:${mine.role}${mine.suspended ? ' suspended:fencing' : ''}`, `  disk:${mine.disk}`];
  for (const p of peersOf(r, me)) {
    const c = connection(r, me, p);
    lines.push(c.state === 'Connected' ? `  ${p} role:${c.peerRole}` : `  ${p} connection:${c.state}`);
    lines.push(`    ${c.state === 'Connected' ? 'replication:Established ' : ''}peer-disk:${c.peerDisk}`);
  }
  return `${lines.join('\n')}\n`;
}

function stateChangeFailed(name, ss) {
  return new DrbdError(`${name}: State change failed: (${ss.code}) ${ss.text}`, ss.exit);
}

function needUp(name, r, me) {
  if (!r.nodes[me]) throw new DrbdError(`'${name}' not defined in your config (for this host).`, 10);
  if (!r.nodes[me].up) throw new DrbdError(`${name}: No such resource`, 10);
}

/** The environment DRBD gives the fence-peer handler of `me` for its peer `p` (drbd.conf(5), crm-fence-peer.9.sh). */
function handlerEnv(name, r, me, p) {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/', TERM: 'linux', LANG: 'C' };
  const c = connection(r, me, p);
  let mask = 0;
  if (r.nodes[me].disk === 'UpToDate') mask |= 1 << r.nodes[me].nodeId;
  for (const q of peersOf(r, me)) if (connection(r, me, q).peerDisk === 'UpToDate') mask |= 1 << r.nodes[q].nodeId;
  Object.assign(env, {
    DRBD_RESOURCE: name, DRBD_CONF: stateFile(), DRBD_MY_NODE_ID: String(r.nodes[me].nodeId), DRBD_PEER_NODE_ID: String(r.nodes[p].nodeId),
    DRBD_MY_ADDRESS: r.nodes[me].address.replace(/:\d+$/, ''), DRBD_MY_AF: 'ipv4', DRBD_PEER_ADDRESS: r.nodes[p].address.replace(/:\d+$/, ''), DRBD_PEER_AF: 'ipv4',
    DRBD_CSTATE: c.state, DRBD_MINOR_0: String(r.minor), DRBD_VOLUME: '0', UP_TO_DATE_NODES: `0x${mask.toString(16).padStart(8, '0')}`,
  });
  for (const n of Object.keys(r.nodes)) env[`DRBD_NODE_ID_${r.nodes[n].nodeId}`] = n;
  return env;
}

/** Runs the fence-peer handler of `me` for peer `p` (outside the lock) and applies its exit code; returns the code. */
function runFencePeer(name, me, p) {
  const prep = locked((st) => {
    const r = resourceOf(st, name);
    if (!r.handlers?.fencePeer) return { write: false, value: null };
    record(st, name, me, 'fence-peer-start', { peer: p });
    return { value: { cmd: r.handlers.fencePeer.replaceAll('{node}', me), env: handlerEnv(name, r, me, p) } };
  });
  if (!prep) return null;
  const t0 = now();
  const res = spawnSync('/bin/sh', ['-c', prep.cmd], { env: prep.env, encoding: 'utf8', timeout: (Number(process.env.FAKE_DRBD_HANDLER_TIMEOUT_S) || 120) * 1000 });
  const code = res.status ?? 1;
  process.stderr.write(`${name} ${p}: fence-peer helper returned ${code}${res.stderr ? `: ${res.stderr.trim().split('\n').at(-1)}` : ''}\n`);
  locked((st) => {
    const r = resourceOf(st, name);
    const mine = r.nodes[me];
    mine.seen ??= {};
    let outcome = 'broken';
    if (code === 3) [mine.seen[p], outcome] = ['Inconsistent', 'peer is inconsistent or worse'];
    else if (code === 4) [mine.seen[p], outcome] = ['Outdated', 'peer was fenced'];
    else if (code === 5 && mine.disk === 'UpToDate') [mine.seen[p], outcome] = ['Outdated', 'peer is unreachable, assumed to be dead'];
    else if (code === 5) outcome = 'peer unreachable, doing nothing since disk != UpToDate';
    else if (code === 6) [mine.disk, outcome] = ['Outdated', 'peer is active'];
    else if (code === 7) [mine.seen[p], outcome] = ['Outdated', 'peer was stonithed'];
    const settled = ['Outdated', 'Inconsistent'].includes(mine.seen[p]) || code === 6;
    if (settled) delete mine.suspended;
    record(st, name, me, 'fence-peer-done', { peer: p, exit: code, outcome, ms: Math.round(now() - t0), stdout: res.stdout?.trim().slice(-500), stderr: res.stderr?.trim().slice(-500) });
  });
  return code;
}

const fenced = (r) => r.fencing === 'resource-only' || r.fencing === 'resource-and-stonith';

function promote(name, force) {
  const me = self();
  // first pass: the checks that need no handler, and the peers whose disk is unknown
  const unknown = locked((st) => {
    const r = resourceOf(st, name);
    needUp(name, r, me);
    const mine = r.nodes[me];
    if (mine.role === 'Primary') return { write: false, value: [] };
    for (const p of peersOf(r, me)) if (connection(r, me, p).peerRole === 'Primary') throw stateChangeFailed(name, SS.twoPrimaries);
    if (mine.disk !== 'UpToDate' && !(force && mine.disk !== 'Diskless')) throw stateChangeFailed(name, SS.noUpToDate);
    return { write: false, value: fenced(r) && !force ? peersOf(r, me).filter((p) => connection(r, me, p).peerDisk === 'DUnknown') : [] };
  });
  for (const p of unknown) runFencePeer(name, me, p);
  locked((st) => {
    const r = resourceOf(st, name);
    needUp(name, r, me);
    const mine = r.nodes[me];
    if (mine.role === 'Primary') return { write: false };
    for (const p of peersOf(r, me)) if (connection(r, me, p).peerRole === 'Primary') throw stateChangeFailed(name, SS.twoPrimaries);
    if (mine.disk !== 'UpToDate' && !(force && mine.disk !== 'Diskless')) {
      record(st, name, me, 'primary-refused', { reason: SS.noUpToDate.text });
      return { error: stateChangeFailed(name, SS.noUpToDate) };
    }
    if (fenced(r) && !force && peersOf(r, me).some((p) => connection(r, me, p).peerDisk === 'DUnknown')) {
      record(st, name, me, 'primary-refused', { reason: SS.primaryNop.text });
      return { error: stateChangeFailed(name, SS.primaryNop) };
    }
    if (force) mine.disk = 'UpToDate';
    mine.role = 'Primary';
    record(st, name, me, 'primary');
  });
}

function drbdsetupStatus(args) {
  const json = args.includes('--json');
  const names = args.filter((a) => !a.startsWith('-'));
  const me = self();
  const out = locked((st) => {
    const want = names.length > 0 ? names : Object.keys(st.resources).filter((n) => st.resources[n].nodes[me]?.up).sort();
    const rs = want.map((n) => {
      const r = st.resources[n];
      if (!r || !r.nodes[me] || !r.nodes[me].up) throw new DrbdError(`${n}: No such resource`, 10);
      return [n, r];
    });
    return { write: false, value: json ? `${JSON.stringify(rs.map(([n, r]) => statusJson(n, r, me)), null, 2)}\n` : rs.map(([n, r]) => statusText(n, r, me)).join('\n') };
  });
  process.stdout.write(out);
}

function drbdadm(args) {
  const force = args.includes('--force');
  const rest = args.filter((a) => a !== '--force' && a !== '--');
  const [cmd, name] = rest;
  if (!cmd || !name) throw new DrbdError('USAGE: drbdadm (FAKE) up|down|primary|secondary|outdate|status RESOURCE', 20);
  const me = self();
  const setup = { up: 'new-resource', down: 'down', primary: 'primary', secondary: 'secondary', outdate: 'outdate' }[cmd];
  try {
    switch (cmd) {
      case 'status':
        return drbdsetupStatus([name]);
      case 'up':
        return locked((st) => {
          const r = resourceOf(st, name);
          const mine = r.nodes[me];
          if (!mine) throw new DrbdError(`'${name}' not defined in your config (for this host).`, 10);
          if (mine.up) return { write: false };
          Object.assign(mine, { up: true, role: 'Secondary', seen: {}, standalone: {} });
          delete mine.suspended;
          // peers that see this node again forget what they assumed about its disk; an Outdated disk
          // that connects to an UpToDate one is resynced (at once: nothing is replicated here)
          for (const p of peersOf(r, me)) {
            if (r.nodes[p].seen) delete r.nodes[p].seen[me];
            resync(r, me, p);
          }
          record(st, name, me, 'up');
        });
      case 'down':
        return locked((st) => {
          const r = resourceOf(st, name);
          const mine = r.nodes[me];
          if (!mine?.up) return { write: false };
          Object.assign(mine, { up: false, role: 'Secondary' });
          record(st, name, me, 'down');
        });
      case 'primary':
        return promote(name, force);
      case 'secondary':
        return locked((st) => {
          const r = resourceOf(st, name);
          needUp(name, r, me);
          r.nodes[me].role = 'Secondary';
          record(st, name, me, 'secondary');
        });
      case 'outdate':
        return locked((st) => {
          const r = resourceOf(st, name);
          const mine = r.nodes[me];
          if (!mine) throw new DrbdError(`'${name}' not defined in your config (for this host).`, 10);
          if (mine.up && mine.role === 'Primary') {
            record(st, name, me, 'outdate-refused', { reason: SS.noUpToDate.text });
            return { error: stateChangeFailed(name, SS.noUpToDate) };
          }
          if (mine.up && peersOf(r, me).some((p) => connection(r, me, p).state === 'Connected')) throw stateChangeFailed(name, SS.connectedOutdates);
          if (mine.disk === 'UpToDate' || mine.disk === 'Consistent') mine.disk = 'Outdated';
          record(st, name, me, 'outdate');
        });
      default:
        throw new DrbdError(`drbdadm (FAKE): unknown command '${cmd}'`, 20);
    }
  } catch (e) {
    if (e instanceof DrbdError && e.exit !== 20) throw new DrbdError(`${e.message}\nCommand 'drbdsetup ${setup ?? cmd} ${name}' terminated with exit code ${e.exit}`, e.exit);
    throw e;
  }
}

/** Two nodes that (re)connect: an Outdated side resyncs from an UpToDate one. */
function resync(r, a, b) {
  const [x, y] = [r.nodes[a], r.nodes[b]];
  if (connection(r, a, b).state !== 'Connected') return;
  if (x.disk === 'UpToDate' && y.disk === 'Outdated') y.disk = 'UpToDate';
  else if (y.disk === 'UpToDate' && x.disk === 'Outdated') x.disk = 'UpToDate';
}

/** Primaries that lose a peer with fencing set run the fence-peer handler (I/O frozen until it answers). */
function afterLoss(name, pairs) {
  for (const [me, p] of pairs) runFencePeer(name, me, p);
}

function ctl(args) {
  const [cmd, ...rest] = args;
  const opt = (k) => {
    const i = rest.indexOf(`--${k}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  switch (cmd) {
    case 'init': {
      // init RES --nodes n1=10.0.0.1:7789,n2=… [--fencing P] [--fence-peer CMD] [--unfence-peer CMD] [--disk n2=Outdated,…] [--minor N]
      const name = rest[0];
      const nodes = (opt('nodes') ?? '').split(',').filter(Boolean);
      if (!name || nodes.length < 1) throw new DrbdError('fake-drbdctl init RES --nodes NAME=ADDR:PORT,…', 20);
      const disks = Object.fromEntries((opt('disk') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=')));
      fs.mkdirSync(stateDir(), { recursive: true });
      return locked((st) => {
        st.resources[name] = {
          minor: Number(opt('minor') ?? 0), fencing: opt('fencing') ?? 'dont-care',
          handlers: { ...(opt('fence-peer') ? { fencePeer: opt('fence-peer') } : {}), ...(opt('unfence-peer') ? { unfencePeer: opt('unfence-peer') } : {}) },
          cut: {},
          nodes: Object.fromEntries(nodes.map((spec, i) => {
            const [n, address = `127.0.0.${i + 1}:7789`] = spec.split('=');
            return [n, { nodeId: i, address, up: false, gone: false, role: 'Secondary', disk: disks[n] ?? 'UpToDate', seen: {}, standalone: {} }];
          })),
        };
      });
    }
    case 'cut':
    case 'heal': {
      const [name, a, b] = rest;
      const lost = locked((st) => {
        const r = resourceOf(st, name);
        if (!r.nodes[a] || !r.nodes[b]) throw new DrbdError(`fake-drbdctl ${cmd}: ${a} and ${b} must be nodes of ${name}`, 20);
        const before = [[a, b], [b, a]].filter(([x, y]) => r.nodes[x].up && connection(r, x, y).state === 'Connected');
        if (cmd === 'cut') r.cut[linkKey(a, b)] = true;
        else {
          delete r.cut[linkKey(a, b)];
          for (const [x, y] of [[a, b], [b, a]]) if (r.nodes[x].seen) delete r.nodes[x].seen[y];
          resync(r, a, b);
        }
        record(st, name, a, cmd, { peer: b });
        if (cmd !== 'cut' || !fenced(r)) return { value: [] };
        const pairs = before.filter(([x]) => r.nodes[x].role === 'Primary');
        for (const [x] of pairs) r.nodes[x].suspended = true;
        return { value: pairs };
      });
      return afterLoss(name, lost);
    }
    case 'power-off':
    case 'power-on': {
      // the node's side of every resource: gone (a powered-off machine) or back (still down until `drbdadm up`)
      const node = rest[0];
      const lost = locked((st) => {
        const out = [];
        for (const [name, r] of Object.entries(st.resources)) {
          const n = r.nodes[node];
          if (!n) continue;
          if (cmd === 'power-off') {
            const before = peersOf(r, node).filter((p) => r.nodes[p].up && r.nodes[p].role === 'Primary' && connection(r, p, node).state === 'Connected');
            Object.assign(n, { gone: true, up: false, role: 'Secondary' });
            delete n.suspended;
            if (fenced(r)) for (const p of before) {
              r.nodes[p].suspended = true;
              out.push([name, p, node]);
            }
          } else n.gone = false;
          record(st, name, node, cmd);
        }
        return { value: out };
      });
      for (const [name, me, p] of lost) runFencePeer(name, me, p);
      return;
    }
    case 'set': {
      // set RES NODE disk=Outdated role=Primary …
      const [name, node, ...kvs] = rest;
      return locked((st) => {
        const n = resourceOf(st, name).nodes[node];
        if (!n) throw new DrbdError(`fake-drbdctl set: no node ${node} in ${name}`, 20);
        for (const kv of kvs) {
          const [k, v] = kv.split('=');
          n[k] = v === 'true' ? true : v === 'false' ? false : v;
        }
        record(st, name, node, 'set', { set: kvs.join(' ') });
      });
    }
    case 'freeze':
    case 'thaw': {
      // freeze NODE: every drbdadm/drbdsetup command run as NODE waits until thaw NODE
      const node = rest[0];
      return locked((st) => {
        st.frozen = { ...st.frozen, [node]: cmd === 'freeze' };
        st.history.push({ t: now(), node, event: cmd });
      });
    }
    case 'show':
      return process.stdout.write(`${JSON.stringify(locked((st) => ({ write: false, value: st })), null, 2)}\n`);
    default:
      throw new DrbdError('fake-drbdctl (FAKE DRBD control) init|cut|heal|power-off|power-on|freeze|thaw|set|show …', 20);
  }
}

/** A node's commands wait while it is frozen (`fake-drbdctl freeze`): its DRBD stuck, its agent up. */
function waitWhileFrozen() {
  const me = self();
  const frozen = () => {
    try {
      return JSON.parse(fs.readFileSync(stateFile(), 'utf8')).frozen?.[me] === true;
    } catch {
      return false;
    }
  };
  while (frozen()) sleepMs(20);
}

function main() {
  const [tool, ...args] = process.argv.slice(2);
  try {
    if (tool === 'drbdsetup' || tool === 'drbdadm') waitWhileFrozen();
    if (tool === 'drbdsetup') {
      if (args[0] === 'status') return drbdsetupStatus(args.slice(1));
      if (['primary', 'secondary', 'outdate'].includes(args[0] ?? '')) return drbdadm(args);
      throw new DrbdError(`drbdsetup (FAKE): unsupported command '${args[0] ?? ''}'`, 20);
    }
    if (tool === 'drbdadm') return drbdadm(args);
    if (tool === 'ctl') return ctl(args);
    throw new DrbdError(`fake-drbd.mjs: unknown tool ${tool}`, 20);
  } catch (e) {
    if (!(e instanceof DrbdError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = e.exit;
  }
}

main();
