// OCF resources (kind "ocf"): the resource agents Pacemaker runs (Debian's resource-agents,
// pacemaker-resource-agents, or an operator's own), called as Pacemaker's executor calls them:
//
//   <OCF_ROOT>/resource.d/<provider>/<type> ACTION        ACTION: start stop monitor promote demote
//                                                                 meta-data validate-all
//   OCF_ROOT, OCF_RA_VERSION_MAJOR/MINOR, OCF_RESOURCE_INSTANCE, OCF_RESOURCE_PROVIDER, OCF_RESOURCE_TYPE,
//   OCF_RESKEY_<param> for every param but agent, OCF_RESKEY_CRM_meta_name (the action),
//   OCF_RESKEY_CRM_meta_interval (ms; 0 for a probe and every non-recurring action),
//   OCF_RESKEY_CRM_meta_timeout (ms), OCF_RESKEY_CRM_meta_on_node, OCF_EXIT_REASON_PREFIX,
//   and for a clone's child OCF_RESKEY_CRM_meta_clone (the instance number), clone_max,
//   clone_node_max, globally_unique=false, promotable, promoted_max, promoted_node_max (and the
//   older master_max, master_node_max that agents such as drbd still read).
//
// OCF_RESOURCE_INSTANCE is the primitive's id, also for an instance of a clone ("web", not "web:1"):
// tsha's clones are anonymous, and Pacemaker gives an anonymous clone's instances the primitive's id
// with the number in CRM_meta_clone. It also keeps the probe at agent start (which knows no instance
// number) and the actions after it on the same state: agents derive files from the instance name
// (ocf:heartbeat:Dummy's default state file is Dummy-<instance>.state).
//
// Exit codes, as Pacemaker reads them (Pacemaker Administration, "OCF Return Codes", and the
// "Role Implications of OCF Return Codes" for monitors):
//   0 OCF_SUCCESS            start/stop/promote/demote ok; monitor: running (unpromoted)
//   1 OCF_ERR_GENERIC        soft: error (monitor: failed), retried here
//   2 OCF_ERR_ARGS           hard: errorHard, not on this node
//   3 OCF_ERR_UNIMPLEMENTED  hard: errorHard
//   4 OCF_ERR_PERM           hard: errorHard
//   5 OCF_ERR_INSTALLED      hard: notInstalled (not on this node); a probe or monitor: not running here
//   6 OCF_ERR_CONFIGURED     fatal: errorFatal, nowhere
//   7 OCF_NOT_RUNNING        monitor: stopped; stop: ok (the port's "already stopped"); others: error
//   8 OCF_RUNNING_PROMOTED   monitor: running, promoted
//   9 OCF_FAILED_PROMOTED    monitor: failed (soft)
//   190 OCF_DEGRADED, 191 OCF_DEGRADED_PROMOTED   monitor: as 0 and 8 (Pacemaker treats them as success)
//   other codes, signals     soft: error
// A missing or non-executable script is notInstalled (stop: ok, nothing of it can run here). A
// timeout kills the agent's whole process group (SIGTERM, then SIGKILL), as exec resources do.
//
// meta-data is read once per agent and kept: the <actions> element's timeouts are what the agent's
// author advises, and they become the timeouts of the operations the configuration leaves without
// one (ocfAdvice, applied where the configuration is compiled: the agent at start and reload,
// `tsha config check`). validate-all is run by `tsha config check` for every OCF resource whose
// agent is installed on the machine it runs on.

import { access, constants } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../../ports/resource-agent.js';
import { parseOcfAgent } from '../../config/ocf.js';
import type { AdvisedOperations, CompiledConfig } from '../../config/index.js';
import { type CommandOutcome, OCF, OCF_EXIT_REASON_PREFIX, actionResult, monitorResult, runProgram } from '../exec/index.js';
import { primitiveOf } from '../../config/types.js';

export const DEFAULT_OCF_ROOT = '/usr/lib/ocf';
export const OCF_DEGRADED = 190;
export const OCF_DEGRADED_PROMOTED = 191;
/** Pacemaker's timeout for meta-data when the agent says nothing */
const META_DATA_TIMEOUT_MS = 5000;

export interface OcfAgentOptions {
  /** OCF_ROOT: resource.d/<provider>/<type> lies under it (default: $OCF_ROOT, else /usr/lib/ocf) */
  ocfRoot?: string;
  /** after SIGTERM on timeout, SIGKILL follows after this long (default 2000 ms) */
  killGraceMs?: number;
  /** extra environment for every action */
  env?: NodeJS.ProcessEnv;
  /** this node's name (OCF_RESKEY_CRM_meta_on_node) */
  node?: string;
}

/** One <action> of the agent's meta-data. */
export interface OcfActionInfo {
  name: string;
  timeoutMs?: number;
  intervalMs?: number;
  role?: 'promoted' | 'unpromoted';
}

export interface OcfParameterInfo {
  name: string;
  required: boolean;
}

export interface OcfMetadata {
  /** "ocf:heartbeat:Dummy" */
  agent: string;
  parameters: OcfParameterInfo[];
  actions: OcfActionInfo[];
}

export type MetadataResult = { ok: true; metadata: OcfMetadata } | { ok: false; status: ActionResult['status']; reason: string };

type Script = { ok: true; path: string; provider: string; type: string } | { ok: false; result: ActionResult };

export class OcfAgent implements ResourceAgent {
  readonly kinds = ['ocf'] as const;
  readonly ocfRoot: string;
  private readonly killGraceMs: number;
  private readonly extraEnv: NodeJS.ProcessEnv;
  private readonly node: string | undefined;
  private readonly metadataCache = new Map<string, Promise<MetadataResult>>();

  constructor(opts: OcfAgentOptions = {}) {
    this.ocfRoot = opts.ocfRoot ?? process.env.OCF_ROOT ?? DEFAULT_OCF_ROOT;
    this.killGraceMs = opts.killGraceMs ?? 2000;
    this.extraEnv = opts.env ?? {};
    this.node = opts.node;
  }

  /** The agent's script, when params.agent names one and it is installed here. */
  private async script(res: ResourceRef): Promise<Script> {
    const name = parseOcfAgent(res.params.agent ?? '');
    if (!name) return { ok: false, result: { status: 'errorFatal', reason: `resources.${primitiveOf(res.id)}.params.agent: ${JSON.stringify(res.params.agent ?? '')} is not "provider:type"` } };
    const path = join(this.ocfRoot, 'resource.d', name.provider, name.type);
    try {
      await access(path, constants.X_OK);
    } catch {
      return { ok: false, result: { status: 'notInstalled', exitCode: OCF.ERR_INSTALLED, reason: `ocf:${name.provider}:${name.type} is not installed here (${path} is not an executable file)` } };
    }
    return { ok: true, path, ...name };
  }

  private env(res: ResourceRef, s: { provider: string; type: string }, action: string, op: OperationOptions): NodeJS.ProcessEnv {
    const meta: Record<string, string | number | boolean | undefined> = {
      name: action,
      interval: action === 'monitor' ? (op.intervalMs ?? 0) : 0,
      timeout: op.timeoutMs,
      on_node: this.node,
    };
    const c = res.clone;
    if (c) {
      const instance = /:(\d+)$/.exec(res.id)?.[1];
      Object.assign(meta, {
        clone: instance, clone_max: c.max, clone_node_max: c.maxPerNode, globally_unique: false, promotable: c.promotable,
        ...(c.promotable ? { promoted_max: c.promotedMax, promoted_node_max: c.promotedMaxPerNode, master_max: c.promotedMax, master_node_max: c.promotedMaxPerNode } : {}),
      });
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.extraEnv,
      OCF_ROOT: this.ocfRoot,
      OCF_RA_VERSION_MAJOR: '1',
      OCF_RA_VERSION_MINOR: '1',
      OCF_RESOURCE_INSTANCE: primitiveOf(res.id),
      OCF_RESOURCE_PROVIDER: s.provider,
      OCF_RESOURCE_TYPE: s.type,
      OCF_EXIT_REASON_PREFIX,
    };
    for (const [k, v] of Object.entries(res.params)) if (k !== 'agent') env[`OCF_RESKEY_${k}`] = v;
    for (const [k, v] of Object.entries(meta)) if (v !== undefined) env[`OCF_RESKEY_CRM_meta_${k}`] = String(v);
    return env;
  }

  private async run(res: ResourceRef, action: string, op: OperationOptions): Promise<CommandOutcome | ActionResult> {
    const s = await this.script(res);
    if (!s.ok) return s.result;
    return runProgram(s.path, [action], this.env(res, s, action, op), op.timeoutMs, this.killGraceMs);
  }

  async start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const o = await this.run(res, 'start', op);
    return isOutcome(o) ? actionResult(o, 'start') : o;
  }

  async stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const o = await this.run(res, 'stop', op);
    if (isOutcome(o)) return actionResult(o, 'stop');
    // an agent that is not installed here cannot have started anything here
    return o.status === 'notInstalled' ? { status: 'ok', reason: o.reason ?? 'not installed' } : o;
  }

  async monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    const o = await this.run(res, 'monitor', op);
    if (!isOutcome(o)) return { ...o, state: 'stopped', running: false };
    const degraded = o.code === OCF_DEGRADED ? OCF.SUCCESS : o.code === OCF_DEGRADED_PROMOTED ? OCF.RUNNING_PROMOTED : null;
    const m = monitorResult(degraded === null ? o : { ...o, code: degraded });
    if (degraded !== null) return { ...m, exitCode: o.code!, reason: `degraded${o.output ? `: ${o.output}` : ''}` };
    return m;
  }

  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    return this.monitor(res, { timeoutMs: op.timeoutMs, intervalMs: 0 });
  }

  // promote, demote and validate-all succeed with 0 only: 7 from them is a failure, as from start

  async promote(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const o = await this.run(res, 'promote', op);
    return isOutcome(o) ? actionResult(o, 'start') : o;
  }

  async demote(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const o = await this.run(res, 'demote', op);
    return isOutcome(o) ? actionResult(o, 'start') : o;
  }

  /** validate-all: whether the agent accepts the resource's parameters on this node. */
  async validate(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const o = await this.run(res, 'validate-all', op);
    return isOutcome(o) ? actionResult(o, 'start') : o;
  }

  /** The agent's meta-data, read once per agent (params.agent) and kept; a failed read is tried again next time (an agent installed later). */
  metadata(agent: string): Promise<MetadataResult> {
    let m = this.metadataCache.get(agent);
    if (!m) {
      m = this.readMetadata(agent);
      this.metadataCache.set(agent, m);
      void m.then((r) => {
        if (!r.ok) this.metadataCache.delete(agent);
      });
    }
    return m;
  }

  private async readMetadata(agent: string): Promise<MetadataResult> {
    const s = await this.script({ id: 'meta-data', kind: 'ocf', params: { agent } });
    if (!s.ok) return { ok: false, status: s.result.status, reason: s.result.reason ?? s.result.status };
    const env = { ...process.env, ...this.extraEnv, OCF_ROOT: this.ocfRoot, OCF_RA_VERSION_MAJOR: '1', OCF_RA_VERSION_MINOR: '1', OCF_RESOURCE_INSTANCE: 'meta-data', OCF_RESOURCE_PROVIDER: s.provider, OCF_RESOURCE_TYPE: s.type };
    const text = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(s.path, ['meta-data'], { env, timeout: META_DATA_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
    const label = `ocf:${s.provider}:${s.type}`;
    if (text.code !== 0) return { ok: false, status: 'error', reason: `${label} meta-data: exit ${text.code}${text.stderr.trim() ? `: ${text.stderr.trim().split('\n').at(-1)}` : ''}` };
    const metadata = parseMetadata(label, text.stdout);
    if (!metadata) return { ok: false, status: 'error', reason: `${label} meta-data: no <resource-agent> element in its output` };
    return { ok: true, metadata };
  }

  async close(): Promise<void> {}
}

function isOutcome(o: CommandOutcome | ActionResult): o is CommandOutcome {
  return 'timedOut' in o;
}

/**
 * The parts of an agent's meta-data XML that tsha uses: the parameters (name, required) and the
 * actions with their advised timeouts and intervals. The format is flat and machine-written
 * (OCF resource agent API, ra-api-1.dtd), so attributes are read with a small scanner, not a full
 * XML parser.
 */
export function parseMetadata(agent: string, xml: string): OcfMetadata | null {
  if (!/<resource-agent[\s>]/.test(xml)) return null;
  const attrs = (tag: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const m of tag.matchAll(/([A-Za-z_][\w-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) out[m[1]!] = unescapeXml(m[3] ?? m[4] ?? '');
    return out;
  };
  const section = (name: string): string => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1] ?? '';
  const parameters: OcfParameterInfo[] = [];
  for (const m of section('parameters').matchAll(/<parameter\s([^>]*)>/g)) {
    const a = attrs(m[1]!);
    if (a.name) parameters.push({ name: a.name, required: a.required === '1' || a.required === 'true' });
  }
  const actions: OcfActionInfo[] = [];
  for (const m of section('actions').matchAll(/<action\s([^>]*?)\/?>/g)) {
    const a = attrs(m[1]!);
    if (!a.name) continue;
    const info: OcfActionInfo = { name: a.name };
    const timeout = a.timeout !== undefined ? parseOcfDuration(a.timeout) : null;
    if (timeout !== null) info.timeoutMs = timeout;
    const interval = a.interval !== undefined ? parseOcfDuration(a.interval) : null;
    if (interval !== null) info.intervalMs = interval;
    const role = a.role?.toLowerCase();
    if (role === 'promoted' || role === 'master') info.role = 'promoted';
    else if (role === 'unpromoted' || role === 'slave') info.role = 'unpromoted';
    actions.push(info);
  }
  return { agent, parameters, actions };
}

/**
 * A duration as Pacemaker reads one (crm_get_msec): a number with an optional unit, ms/msec, us/usec,
 * s/sec, m/min, h/hr; a bare number is seconds. null when it is none.
 */
export function parseOcfDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$/i.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' || unit === 'msec' ? 1 : unit === 'us' || unit === 'usec' ? 0.001 : unit === 's' || unit === 'sec' ? 1000 : unit === 'm' || unit === 'min' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

export interface OcfAdvice {
  /** for validate()'s `advised`: the meta-data actions of the resource's agent; undefined when none was read */
  advised: AdvisedOperations;
  /** the agents whose meta-data was read, with the timeouts they advise */
  read: { agent: string; actions: OcfActionInfo[] }[];
  /** the agents whose meta-data could not be read here (not installed, failed): their operations keep the default */
  unread: { agent: string; reason: string }[];
}

/**
 * The operation timeouts the OCF agents of a configuration advise, from their meta-data (read once
 * per agent by `agent`). A configuration compiled with them gives every operation the operator left
 * without a timeout the agent's advised one.
 */
export async function ocfAdvice(config: CompiledConfig, agent: OcfAgent): Promise<OcfAdvice> {
  const names = new Set<string>();
  for (const r of Object.values(config.resources)) if (r.type === 'primitive' && r.kind === 'ocf' && r.params.agent) names.add(r.params.agent);
  const byAgent = new Map<string, OcfActionInfo[]>();
  const unread: OcfAdvice['unread'] = [];
  await Promise.all([...names].map(async (name) => {
    const m = await agent.metadata(name);
    if (m.ok) byAgent.set(name, m.metadata.actions);
    else unread.push({ agent: name, reason: m.reason });
  }));
  return {
    advised: (r) => (r.kind === 'ocf' && r.params.agent ? byAgent.get(r.params.agent) : undefined),
    read: [...byAgent].map(([a, actions]) => ({ agent: a, actions })).sort((x, y) => x.agent.localeCompare(y.agent)),
    unread: unread.sort((x, y) => x.agent.localeCompare(y.agent)),
  };
}
