// Translate a tsha scheduler input into a Pacemaker CIB plus crm_simulate injections, and read
// placements back from crm_simulate's "Revised Cluster Status". Used to cross-check tsha's
// placement decisions against real Pacemaker 2.1 on the subset of features both model the same.

import type { SchedulerInput } from '../../src/core/scheduler/types.js';
import type { CompiledConfig, Resource } from '../../src/config/types.js';
import { ruleTypeOf } from '../../src/config/types.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const score = (n: number) => (n >= 1_000_000 ? 'INFINITY' : n <= -1_000_000 ? '-INFINITY' : String(n));

function metaXml(id: string, r: Resource, config: CompiledConfig, overrides: Map<string, { targetRole?: string; managed?: boolean }>): string {
  const o = overrides.get(id);
  const m = { ...r.meta, ...(o?.targetRole ? { targetRole: o.targetRole as typeof r.meta.targetRole } : {}), ...(o?.managed !== undefined ? { managed: o.managed } : {}) };
  const pairs: [string, string][] = [];
  if (m.stickiness) pairs.push(['resource-stickiness', String(m.stickiness)]);
  if (m.migrationThreshold) pairs.push(['migration-threshold', String(m.migrationThreshold)]);
  if (m.failureTimeoutMs) pairs.push(['failure-timeout', `${Math.round(m.failureTimeoutMs / 1000)}s`]);
  if (m.targetRole === 'stopped') pairs.push(['target-role', 'Stopped']);
  if (m.targetRole === 'unpromoted') pairs.push(['target-role', 'Unpromoted']);
  if (!m.managed) pairs.push(['is-managed', 'false']);
  if (m.multipleActive !== undefined && m.multipleActive !== 'stop_start') pairs.push(['multiple-active', m.multipleActive]);
  if (r.type === 'clone') {
    pairs.push(['clone-max', String(r.max)], ['clone-node-max', String(r.maxPerNode)]);
    if (r.interleave) pairs.push(['interleave', 'true']);
    if (r.promotable) pairs.push(['promotable', 'true'], ['promoted-max', String(r.promotedMax)], ['promoted-node-max', String(r.promotedMaxPerNode)]);
  }
  if (pairs.length === 0) return '';
  void config;
  return `<meta_attributes id="${esc(id)}-meta">${pairs.map(([k, v]) => `<nvpair id="${esc(id)}-meta-${k}" name="${k}" value="${esc(v)}"/>`).join('')}</meta_attributes>`;
}

function isPromotableChild(config: CompiledConfig, id: string): boolean {
  return Object.values(config.resources).some((r) => r.type === 'clone' && r.promotable && r.child === id);
}

function primitiveXml(config: CompiledConfig, id: string, ov: Map<string, { targetRole?: string; managed?: boolean }>): string {
  const r = config.resources[id]!;
  const type = isPromotableChild(config, id) ? 'Stateful' : 'Dummy';
  const ops = r.type === 'primitive'
    ? r.operations.filter((o) => o.name === 'monitor' && o.intervalMs > 0).map((o, i) =>
      `<op id="${esc(id)}-mon-${i}" name="monitor" interval="${o.intervalMs / 1000}s" timeout="${o.timeoutMs / 1000}s"${o.role ? ` role="${o.role === 'promoted' ? 'Promoted' : 'Unpromoted'}"` : ''} on-fail="${o.onFail === 'ban' ? 'restart' : o.onFail}"/>`).join('')
    : '';
  return `<primitive id="${esc(id)}" class="ocf" provider="pacemaker" type="${type}">${metaXml(id, r, config, ov)}<operations>${ops}</operations></primitive>`;
}

/**
 * Pacemaker's digest of an empty parameter set: every translated resource is a Dummy or Stateful
 * without parameters. Probes written into the status with it are current, where probes injected
 * with crm_simulate -i carry no digest and make Pacemaker restart the resource ("due to resource
 * definition change"), which hides what a running resource would really do.
 */
const EMPTY_PARAMS_DIGEST = 'f2317cad3d54cec5d7d7aa7d0bf35cf8';

/** The probe history of one online node: 0 running, 8 running promoted (a failed copy probes as running). */
function probes(input: SchedulerInput, node: string): string {
  const { config, snapshot } = input;
  return snapshot.observations.filter((o) => o.node === node && o.role !== 'stopped' && config.resources[o.resource.replace(/:\d+$/, '')] !== undefined).map((o, k) => {
    const base = o.resource.replace(/:\d+$/, '');
    const type = isPromotableChild(config, base) ? 'Stateful' : 'Dummy';
    const rc = o.role === 'promoted' ? 8 : 0;
    const key = `${k + 1}:-1:${rc}:00000000-0000-0000-0000-000000000000`;
    // Anonymous clone instances are recorded under the child's id, as Pacemaker records them.
    return `<lrm_resource id="${esc(base)}" class="ocf" provider="pacemaker" type="${type}">` +
      `<lrm_rsc_op id="${esc(base)}_last_0" operation_key="${esc(base)}_monitor_0" operation="monitor" crm-debug-origin="tsha" crm_feature_set="3.16.1" ` +
      `transition-key="${key}" transition-magic="0:${rc};${key}" call-id="${k + 1}" rc-code="${rc}" op-status="0" interval="0" ` +
      `last-rc-change="1" exec-time="0" queue-time="0" op-digest="${EMPTY_PARAMS_DIGEST}"/></lrm_resource>`;
  }).join('');
}

/**
 * Online nodes as node_state entries whose transient attributes carry the promotion scores an
 * agent would set (master-<child>): tsha's default promotion score 0 becomes 1 (Pacemaker
 * promotes only with a positive score), plus the node's "promotion-<child>" attribute.
 */
function status(input: SchedulerInput): string {
  const { config, snapshot } = input;
  const children = Object.values(config.resources).filter((r) => r.type === 'clone' && r.promotable).map((r) => (r as { child: string }).child);
  return snapshot.nodes.filter((n) => n.state === 'online').map((n) => {
    const i = config.nodes.findIndex((c) => c.name === n.name) + 1;
    const attrs = children.map((c) => {
      const v = Number(n.attributes[`promotion-${c}`] ?? 0);
      return `<nvpair id="ta-${i}-${esc(c)}" name="master-${esc(c)}" value="${1 + v}"/>`;
    }).join('');
    return `<node_state id="${i}" uname="${esc(n.name)}" in_ccm="true" crmd="online" join="member" expected="member">` +
      `<transient_attributes id="${i}"><instance_attributes id="status-${i}">${attrs}</instance_attributes></transient_attributes>` +
      `<lrm id="${i}"><lrm_resources>${probes(input, n.name)}</lrm_resources></lrm></node_state>`;
  }).join('');
}

export function toCib(input: SchedulerInput): { xml: string; args: string[] } {
  const { config, snapshot } = input;
  const inside = new Set<string>();
  for (const r of Object.values(config.resources)) {
    if (r.type === 'group') r.members.forEach((m) => inside.add(m));
    if (r.type === 'clone') inside.add(r.child);
  }
  const ov = new Map((snapshot.overrides ?? []).map((o) => [o.resource, o]));
  const resXml = (id: string): string => {
    const r = config.resources[id]!;
    if (r.type === 'primitive') return primitiveXml(config, id, ov);
    if (r.type === 'group') return `<group id="${esc(id)}">${metaXml(id, r, config, ov)}${r.members.map((m) => primitiveXml(config, m, ov)).join('')}</group>`;
    return `<clone id="${esc(id)}">${metaXml(id, r, config, ov)}${resXml(r.child)}</clone>`;
  };
  const resources = Object.keys(config.resources).filter((id) => !inside.has(id)).map(resXml).join('');
  let n = 0;
  const loc = config.constraints.location.map((c) => {
    const id = `loc${++n}`;
    const role = c.role === 'promoted' ? ' role="Promoted"' : '';
    if (c.node !== null) return `<rsc_location id="${id}" rsc="${esc(c.resource)}" node="${esc(c.node)}" score="${score(c.score)}"${role}/>`;
    const r = c.rule!;
    // Pacemaker's operation names are tsha's; type="number" where tsha compares numbers.
    const type = r.value !== undefined ? ` type="${ruleTypeOf(r)}"` : '';
    return `<rsc_location id="${id}" rsc="${esc(c.resource)}"><rule id="${id}-r" score="${score(c.score)}"${role}><expression id="${id}-e" attribute="${esc(r.attribute)}" operation="${r.op}"${r.value !== undefined ? ` value="${esc(r.value)}"` : ''}${type}/></rule></rsc_location>`;
  });
  for (const b of snapshot.bans) loc.push(`<rsc_location id="ban${++n}" rsc="${esc(b.resource)}" node="${esc(b.node)}" score="${score(b.score)}"/>`);
  const col = config.constraints.colocation.map((c) =>
    `<rsc_colocation id="col${++n}" rsc="${esc(c.resource)}" with-rsc="${esc(c.with)}" score="${score(c.score)}"${c.withRole ? ' with-rsc-role="Promoted"' : ''}${c.role ? ' rsc-role="Promoted"' : ''}/>`);
  const ord = config.constraints.order.map((o) =>
    `<rsc_order id="ord${++n}" first="${esc(o.first)}" first-action="${o.firstAction}" then="${esc(o.then)}" then-action="${o.thenAction}" kind="${o.kind === 'mandatory' ? 'Mandatory' : 'Optional'}" symmetrical="${o.symmetric}"/>`);
  const nodes = config.nodes.map((c, i) => {
    const s = snapshot.nodes.find((x) => x.name === c.name);
    const attrs = { ...c.attributes, ...(s?.attributes ?? {}) };
    const pairs = Object.entries(attrs).map(([k, v]) => `<nvpair id="n${i}-${esc(k)}" name="${esc(k)}" value="${esc(v)}"/>`);
    if (s?.standby) pairs.push(`<nvpair id="n${i}-standby" name="standby" value="on"/>`);
    if (s?.maintenance) pairs.push(`<nvpair id="n${i}-maint" name="maintenance" value="true"/>`);
    return `<node id="${i + 1}" uname="${esc(c.name)}">${pairs.length ? `<instance_attributes id="n${i}-ia">${pairs.join('')}</instance_attributes>` : ''}</node>`;
  });
  const props = [
    ['stonith-enabled', 'false'], ['no-quorum-policy', snapshot.quorate ? 'stop' : config.noQuorumPolicy],
    ['maintenance-mode', String(config.maintenanceMode)], ['start-failure-is-fatal', 'true'],
  ].map(([k, v]) => `<nvpair id="o-${k}" name="${k}" value="${v}"/>`).join('');
  const xml = `<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="${snapshot.quorate ? 1 : 0}"><configuration>` +
    `<crm_config><cluster_property_set id="cib-bootstrap-options">${props}</cluster_property_set></crm_config>` +
    `<nodes>${nodes.join('')}</nodes><resources>${resources}</resources>` +
    `<constraints>${[...loc, ...col, ...ord].join('')}</constraints></configuration><status>${status(input)}</status></cib>\n`;
  const args: string[] = [];
  // Current state as probe results: 0 running, 8 running promoted; failed copies as a failed monitor.
  // On online nodes the probes are in the status (probes()); elsewhere they are injected.
  const online = new Set(snapshot.nodes.filter((n) => n.state === 'online').map((n) => n.name));
  for (const o of snapshot.observations) {
    if (o.role === 'stopped') continue;
    const rid = o.resource;
    const inStatus = online.has(o.node) && config.resources[rid.replace(/:\d+$/, '')] !== undefined;
    if (!inStatus) args.push('-i', `${rid}_monitor_0@${o.node}=${o.role === 'promoted' ? 8 : 0}`);
    if (o.role === 'failed') args.push('-i', `${inStatus ? rid.replace(/:\d+$/, '') : rid}_monitor_10000@${o.node}=1`);
  }
  return { xml, args };
}

/** Placements from crm_simulate's revised status: resource → sorted "node[:Role]" list. */
export function revisedPlacements(output: string): Map<string, string[]> {
  const at = output.indexOf('Revised Cluster Status:');
  const lines = output.slice(at).split('\n');
  const out = new Map<string, string[]>();
  let clone: string | null = null;
  for (const line of lines) {
    const prim = /^\s+\* (\S+)\s+\(ocf:pacemaker:\w+\):\s+(Started|Promoted|Unpromoted|Stopped|FAILED)\s*(\S+)?/.exec(line);
    const cloneHead = /^\s+\* Clone Set: (\S+) \[/.exec(line);
    const cloneRole = /^\s+\* (Started|Promoted|Unpromoted)(?: \([^)]*\))?: \[ (.*) \]/.exec(line);
    if (cloneHead) { clone = cloneHead[1]!; continue; }
    if (cloneRole && clone) {
      const role = cloneRole[1] === 'Promoted' ? ':Promoted' : '';
      const l = out.get(clone) ?? [];
      l.push(...cloneRole[2]!.split(' ').filter(Boolean).map((n) => `${n}${role}`));
      out.set(clone, [...new Set(l)].sort());
      continue;
    }
    if (/^\s{0,4}\* (Resource Group|Clone Set)/.test(line) === false && /^\s{4}\* /.test(line) && !/^\s{6}/.test(line)) clone = null;
    // active on several nodes (multiple-active=block): "Started (blocked) [ n1 n2 ]"
    const several = /\[ (.*) \]\s*$/.exec(line);
    if (prim && prim[2] !== 'Stopped') out.set(prim[1]!, several ? several[1]!.split(' ').filter(Boolean).sort() : [prim[3]!]);
  }
  return out;
}
