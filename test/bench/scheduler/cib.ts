// Renders a Workload as a Pacemaker CIB (configuration + status) that `crm_verify -x` accepts and
// `crm_simulate -S -x` schedules. Everything is ocf:pacemaker:Dummy without parameters, with one
// 10 s monitor; stonith-enabled=false (tsha's config has fencing disabled too: like with like).
//
// The status section is what a settled cluster's CIB looks like: every online node is a member
// (in_ccm, crmd online, join member); each running primitive has a successful start and recurring
// monitor in its node's resource history; with `probes: true` (the default) every other
// (primitive, node) pair has a probe that found it stopped (monitor_0, rc 7), as Pacemaker records
// after its startup probes. Without those entries Pacemaker would first schedule a probe of every
// resource on every node. The lost node keeps its history but is out of the membership with
// expected=member, which Pacemaker reads as unclean.
//
// History entries carry the operation digests Pacemaker computes for this resource definition
// (calibrated once per machine from crm_simulate itself, see pacemaker.ts); a wrong digest would
// make Pacemaker restart every resource "due to resource definition change".

import type { Workload } from './workload.js';
import { INFINITY } from '../../../src/config/types.js';

export interface CibOptions {
  /** Pacemaker's CRM feature set (crm_simulate refuses history newer than its own) */
  featureSet: string;
  /** op-digest of a parameterless Dummy's start/stop/probe */
  digestOneShot: string;
  /** op-digest of its recurring monitor (interval and timeout as in the workload) */
  digestMonitor: string;
  /** record a stopped-probe for every (primitive, node) pair that is not running (default true) */
  probes?: boolean;
}

/** Values seen with Debian 12's Pacemaker 2.1.5; pacemaker.ts calibrates the real ones. */
export const PACEMAKER_2_1_5: CibOptions = {
  featureSet: '3.16.1',
  digestOneShot: 'f2317cad3d54cec5d7d7aa7d0bf35cf8',
  digestMonitor: '4811cef7f7f94e3a35a70be7916cb2fd',
};

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const score = (n: number): string => (n >= INFINITY ? 'INFINITY' : n <= -INFINITY ? '-INFINITY' : String(n));

const seconds = (ms: number): string => `${ms / 1000}s`;

export function renderCib(w: Workload, opts: CibOptions): string {
  const probes = opts.probes ?? true;
  const out: string[] = [];
  const nodeId = new Map(w.nodes.map((n, i) => [n.name, String(i + 1)]));
  const dc = w.nodes.find((n) => n.name !== w.lostNode)!;

  out.push(
    `<cib crm_feature_set="${opts.featureSet}" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0" ` +
      `have-quorum="1" dc-uuid="${nodeId.get(dc.name)}">`,
    '  <configuration>',
    '    <crm_config>',
    '      <cluster_property_set id="cib-bootstrap-options">',
    '        <nvpair id="cib-bootstrap-options-stonith-enabled" name="stonith-enabled" value="false"/>',
    '        <nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="stop"/>',
    '        <nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="bench"/>',
    ...(probes
      ? []
      : ['        <nvpair id="cib-bootstrap-options-enable-startup-probes" name="enable-startup-probes" value="false"/>']),
    '      </cluster_property_set>',
    '    </crm_config>',
    '    <nodes>',
  );
  for (const n of w.nodes) {
    const id = nodeId.get(n.name)!;
    out.push(
      `      <node id="${id}" uname="${esc(n.name)}">`,
      `        <instance_attributes id="nodes-${id}">`,
      ...Object.entries(n.attributes).map(
        ([k, v]) => `          <nvpair id="nodes-${id}-${esc(k)}" name="${esc(k)}" value="${esc(v)}"/>`,
      ),
      '        </instance_attributes>',
      '      </node>',
    );
  }
  out.push('    </nodes>', '    <resources>');

  const primitive = (id: string, indent: string): string[] => [
    `${indent}<primitive id="${esc(id)}" class="ocf" provider="pacemaker" type="Dummy">`,
    `${indent}  <operations>`,
    `${indent}    <op id="${esc(id)}-monitor-${w.monitorIntervalMs}" name="monitor" interval="${seconds(w.monitorIntervalMs)}" timeout="${seconds(w.opTimeoutMs)}"/>`,
    `${indent}  </operations>`,
    `${indent}</primitive>`,
  ];
  for (const c of w.clones) {
    out.push(
      `      <clone id="${esc(c.id)}">`,
      `        <meta_attributes id="${esc(c.id)}-meta">`,
      `          <nvpair id="${esc(c.id)}-meta-clone-max" name="clone-max" value="${c.max}"/>`,
      `          <nvpair id="${esc(c.id)}-meta-clone-node-max" name="clone-node-max" value="1"/>`,
      '        </meta_attributes>',
      ...primitive(c.child, '        '),
      '      </clone>',
    );
  }
  for (const g of w.groups) {
    out.push(`      <group id="${esc(g.id)}">`, ...g.members.flatMap((m) => primitive(m, '        ')), '      </group>');
  }
  for (const p of w.standalone) out.push(...primitive(p, '      '));
  out.push('    </resources>', '    <constraints>');

  for (const l of w.location) {
    if (l.node !== null) {
      out.push(`      <rsc_location id="${esc(l.id)}" rsc="${esc(l.resource)}" node="${esc(l.node)}" score="${score(l.score)}"/>`);
    } else if (l.rule !== null) {
      out.push(
        `      <rsc_location id="${esc(l.id)}" rsc="${esc(l.resource)}">`,
        `        <rule id="${esc(l.id)}-rule" score="${score(l.score)}">`,
        `          <expression id="${esc(l.id)}-expr" attribute="${esc(l.rule.attribute)}" operation="${l.rule.op}" value="${esc(l.rule.value)}"/>`,
        '        </rule>',
        '      </rsc_location>',
      );
    }
  }
  for (const c of w.colocation) {
    out.push(`      <rsc_colocation id="${esc(c.id)}" rsc="${esc(c.resource)}" with-rsc="${esc(c.with)}" score="${score(c.score)}"/>`);
  }
  for (const o of w.order) {
    out.push(
      `      <rsc_order id="${esc(o.id)}" first="${esc(o.first)}" first-action="start" then="${esc(o.then)}" then-action="start" ` +
        `kind="${o.kind === 'mandatory' ? 'Mandatory' : 'Optional'}" symmetrical="true"/>`,
    );
  }
  out.push(
    '    </constraints>',
    '    <rsc_defaults>',
    '      <meta_attributes id="rsc-options">',
    `        <nvpair id="rsc-options-resource-stickiness" name="resource-stickiness" value="${w.stickiness}"/>`,
    '      </meta_attributes>',
    '    </rsc_defaults>',
    '  </configuration>',
    '  <status>',
  );

  // Resource history per node. Anonymous clone instances are recorded under the child's id.
  const runningOn = new Map<string, Set<string>>(w.nodes.map((n) => [n.name, new Set<string>()]));
  for (const r of w.running) runningOn.get(r.node)!.add(r.primitive);
  const op = (rsc: string, operation: string, interval: number, rc: number, call: number, digest: string): string => {
    const id = interval > 0 ? `${rsc}_${operation}_${interval}` : `${rsc}_last_0`;
    const tk = `${call}:1:${rc}:7e57be9c-0000-4000-8000-000000000001`;
    return (
      `            <lrm_rsc_op id="${esc(id)}" operation_key="${esc(rsc)}_${operation}_${interval}" operation="${operation}" ` +
      `crm-debug-origin="tsha-bench" crm_feature_set="${opts.featureSet}" transition-key="${tk}" ` +
      `transition-magic="0:${rc};${tk}" exit-reason="" call-id="${call}" rc-code="${rc}" op-status="0" interval="${interval}" ` +
      `last-rc-change="1700000000" exec-time="1" queue-time="0" op-digest="${digest}"/>`
    );
  };
  for (const n of w.nodes) {
    const id = nodeId.get(n.name)!;
    const lost = n.name === w.lostNode;
    out.push(
      lost
        ? `    <node_state id="${id}" uname="${esc(n.name)}" in_ccm="false" crmd="offline" join="down" expected="member" crm-debug-origin="tsha-bench">`
        : `    <node_state id="${id}" uname="${esc(n.name)}" in_ccm="true" crmd="online" join="member" expected="member" crm-debug-origin="tsha-bench">`,
      `      <lrm id="${id}">`,
      '        <lrm_resources>',
    );
    const here = runningOn.get(n.name)!;
    let call = 1;
    for (const p of w.primitives) {
      const on = here.has(p);
      if (!on && !probes) continue;
      out.push(`          <lrm_resource id="${esc(p)}" class="ocf" provider="pacemaker" type="Dummy">`);
      if (on) {
        out.push(op(p, 'start', 0, 0, call++, opts.digestOneShot));
        out.push(op(p, 'monitor', w.monitorIntervalMs, 0, call++, opts.digestMonitor));
      } else {
        out.push(op(p, 'monitor', 0, 7, call++, opts.digestOneShot));
      }
      out.push('          </lrm_resource>');
    }
    out.push('        </lrm_resources>', '      </lrm>', '    </node_state>');
  }
  out.push('  </status>', '</cib>', '');
  return out.join('\n');
}
