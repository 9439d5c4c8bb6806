// Primitives: kind parameters, operations, storage, statefulness.

import { ADDRESS, KIND_PARAMS, OPERATION_KEYS, type RawPrimitive, type ResourceKindName } from '../options.js';
import { kindMigrates, migrationText } from '../drivers.js';
import { OCF_PARAM_NAME, OCF_RESERVED_PREFIX, ocfAgentProblem } from '../ocf.js';
import type { ResourceKind } from '../types.js';
import { didYouMean, joinPath } from '../issues.js';
import { type Model, cloneOf, inPromotableClone, isPromotableClone } from './model.js';
import { checkVirtualIp } from './virtual-ip.js';

const UNIT_SUFFIX = /\.(service|socket|target|mount|automount|swap|timer|path)$/;
const UNIT_NAME = /^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\.[a-z]+$/;
const SIMPLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** What a failed stop may lead to: the resource may still run, so never anything that starts it elsewhere unfenced. */
const STOP_ON_FAIL: readonly string[] = ['fence', 'block'];

/** A microVM's readiness checks (src/adapters/microvm): a TCP address and a shell command. */
function checkReadiness(ctx: Model['ctx'], p: Record<string, string>, paramPath: (k: string) => string): void {
  const tcp = p.readyTcp;
  if (tcp !== undefined) {
    const m = ADDRESS.exec(tcp);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535) ctx.error(paramPath('readyTcp'), `${JSON.stringify(tcp)} is not an address "host:port" (IPv4, [IPv6] or a DNS name, port 1–65535)`);
  }
  if (p.readyCommand !== undefined && p.readyCommand.trim() === '') ctx.error(paramPath('readyCommand'), 'is empty (leave it out, or give a shell command that exits 0 once the guest is up)');
}

export function checkPrimitive(m: Model, id: string, r: RawPrimitive): void {
  const { ctx } = m;
  const base = joinPath('resources', id);
  const paramPath = (k: string) => joinPath(joinPath(base, 'params'), k);
  const spec = KIND_PARAMS[r.kind as ResourceKindName];
  const known: readonly string[] = [...spec.required, ...spec.optional];
  for (const key of spec.required) {
    if (!r.params[key]) ctx.error(paramPath(key), `is required for a ${r.kind} resource (${spec.doc})`);
  }
  if (!spec.extra) {
    for (const key of Object.keys(r.params)) {
      if (!known.includes(key)) ctx.error(paramPath(key), `unknown parameter for a ${r.kind} resource${didYouMean(key, known)} (${spec.doc})`);
    }
  }
  const p = r.params;
  switch (r.kind) {
    case 'systemd':
      if (p.unit && !UNIT_SUFFIX.test(p.unit)) {
        ctx.error(paramPath('unit'), `${JSON.stringify(p.unit)} must end in a startable unit suffix: .service, .socket, .target, .mount, .automount, .swap, .timer or .path`);
      } else if (p.unit && (!UNIT_NAME.test(p.unit) || /@\./.test(p.unit))) {
        ctx.error(paramPath('unit'), `${JSON.stringify(p.unit)} is not a valid unit name${/@\./.test(p.unit) ? ' (a template needs an instance: name@instance.service)' : ''}`);
      }
      break;
    case 'lxc':
    case 'microvm':
      if (p.name && !SIMPLE_NAME.test(p.name)) ctx.error(paramPath('name'), `${JSON.stringify(p.name)} is not a valid ${r.kind} name (letters, digits, "_", "." and "-")`);
      if (r.kind === 'microvm') {
        checkReadiness(ctx, p, paramPath);
        break;
      }
      if (p.configPath !== undefined && !p.configPath.startsWith('/')) ctx.error(paramPath('configPath'), `${JSON.stringify(p.configPath)} must be an absolute path (LXC's lxcpath)`);
      if (p.healthCommand !== undefined && !p.healthCommand.trim()) ctx.error(paramPath('healthCommand'), 'is empty (leave it out for no health command)');
      break;
    case 'ip':
      checkVirtualIp(m, id, r);
      break;
    case 'ocf': {
      const problem = p.agent ? ocfAgentProblem(p.agent) : null;
      if (problem) ctx.error(paramPath('agent'), problem);
      for (const key of Object.keys(p)) {
        if (key === 'agent') continue;
        if (key === 'provider' || key === 'type') {
          const example = p.agent && !p.agent.includes(':') ? (key === 'provider' ? `${p[key]}:${p.agent}` : `${p.agent}:${p[key]}`) : 'heartbeat:IPaddr2';
          ctx.error(paramPath(key), `not an agent parameter: provider and type go together in agent, e.g. agent = "${example}"`);
        } else if (!OCF_PARAM_NAME.test(key)) {
          ctx.error(paramPath(key), `${JSON.stringify(key)} is not a valid OCF parameter name (letters, digits and "_", not starting with a digit: it is passed as OCF_RESKEY_<name>)`);
        } else if (key.startsWith(OCF_RESERVED_PREFIX)) {
          ctx.error(paramPath(key), `parameters named ${OCF_RESERVED_PREFIX}* are set by tsha itself (the operation's interval, timeout, clone instance)`);
        }
      }
      break;
    }
  }
  if (r.meta.allowMigrate === true && !kindMigrates(r.kind as ResourceKind)) {
    ctx.error(joinPath(joinPath(base, 'meta'), 'allowMigrate'), `a ${r.kind} resource cannot live-migrate: ${migrationText()}`);
  }

  // Operations
  const promotable = inPromotableClone(m, id);
  for (const [key, op] of Object.entries(r.operations)) {
    if (!op) continue;
    const path = joinPath(joinPath(base, 'operations'), key);
    const info = OPERATION_KEYS[key as keyof typeof OPERATION_KEYS];
    if (info.name !== 'monitor' && op.intervalMs !== null) ctx.error(joinPath(path, 'intervalMs'), 'only monitors have an interval');
    if ('role' in info || info.name === 'promote' || info.name === 'demote') {
      if (!promotable) ctx.error(path, `only resources in a promotable clone have a ${key} operation`);
    }
    if ((info.name === 'migrate_to' || info.name === 'migrate_from') && r.meta.allowMigrate !== true) {
      ctx.error(path, 'needs meta.allowMigrate = true');
    }
    if (op.onFail === 'fence' && m.fencingEnabled === false) ctx.error(joinPath(path, 'onFail'), '"fence" needs fencing.enabled = true');
    if (op.onFail === 'ignore' && promotable) {
      ctx.error(
        joinPath(path, 'onFail'),
        '"ignore" is not available in a promotable clone: the failure record does not keep the role the resource failed in, so tsha cannot take it as still running in that role',
      );
    }
    if (info.name === 'stop' && op.onFail !== null && !STOP_ON_FAIL.includes(op.onFail)) {
      ctx.error(
        joinPath(path, 'onFail'),
        `${JSON.stringify(op.onFail)} cannot follow a failed stop: the resource may still be running there, so the node is fenced ("fence") or the resource left alone ("block")`,
      );
    }
  }
  if ((r.meta.targetRole === 'promoted' || r.meta.targetRole === 'unpromoted') && !promotable) {
    ctx.error(joinPath(joinPath(base, 'meta'), 'targetRole'), `${JSON.stringify(r.meta.targetRole)} applies to resources in a promotable clone only`);
  }

  // Storage
  const st = r.storage;
  if (st) {
    const sp = joinPath(base, 'storage');
    const need = st.type === 'drbd' ? ['resource'] : ['pool', 'image'];
    const allowed = st.type === 'drbd' ? ['resource', 'volume'] : ['pool', 'image', 'cephConf', 'user', 'keyring', 'blocklistExpirySeconds'];
    for (const key of need) if (st[key as keyof typeof st] === null) ctx.error(joinPath(sp, key), `is required for ${st.type} storage`);
    for (const key of ['resource', 'volume', 'pool', 'image', 'cephConf', 'user', 'keyring', 'blocklistExpirySeconds'] as const) {
      if (st[key] !== null && !allowed.includes(key)) ctx.error(joinPath(sp, key), `does not apply to ${st.type} storage (${st.type} takes ${allowed.join(', ')})`);
    }
    const clone = cloneOf(m, id);
    if (st.type === 'drbd' && (clone === null || !isPromotableClone(m, clone))) {
      ctx.error(sp, 'DRBD runs on every node with one primary: put this resource in a clone with promotable = true');
    } else if (st.type === 'rbd' && clone !== null && !isPromotableClone(m, clone)) {
      ctx.error(sp, `RBD storage is held by one node at a time: it cannot be in the non-promotable clone ${JSON.stringify(clone)}`);
    }
  }
}
