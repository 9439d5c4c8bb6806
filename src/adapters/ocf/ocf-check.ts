// What `tsha config check` asks the OCF agents installed on the machine it runs on, for every ocf
// resource of a valid configuration (a machine without the agent, such as the NixOS build sandbox,
// checks nothing here):
//   - the agent's meta-data: a parameter it marks required and the resource does not give is an
//     error; a parameter it does not know is a warning (with the closest name it knows); a
//     configured timeout shorter than the one it advises is a warning;
//   - validate-all with the resource's parameters: anything but OCF_SUCCESS is an error, except
//     OCF_ERR_INSTALLED (something the agent needs is missing on this machine only): a warning.

import type { CompiledConfig, PrimitiveResource } from '../../config/types.js';
import { advisedTimeout } from '../../config/compile.js';
import { type ConfigIssue, didYouMean, joinPath } from '../../config/issues.js';
import { OPERATION_KEYS } from '../../config/options.js';
import type { OcfAgent, OcfMetadata } from './ocf-agent.js';

/** validate-all's timeout when the agent's meta-data advises none (Pacemaker's default operation timeout) */
const VALIDATE_TIMEOUT_MS = 20_000;

export interface OcfCheck {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /** resources whose agent is installed here: checked */
  checked: string[];
  /** resources whose agent is not installed here: not checked, with why */
  notInstalled: { resource: string; reason: string }[];
}

export async function checkOcfResources(config: CompiledConfig, agent: OcfAgent): Promise<OcfCheck> {
  const out: OcfCheck = { errors: [], warnings: [], checked: [], notInstalled: [] };
  const primitives = Object.values(config.resources).filter((r): r is PrimitiveResource => r.type === 'primitive' && r.kind === 'ocf');
  await Promise.all(primitives.map(async (r) => {
    const m = await agent.metadata(r.params.agent ?? '');
    if (!m.ok) {
      if (m.status === 'notInstalled') out.notInstalled.push({ resource: r.id, reason: m.reason });
      else out.errors.push({ path: joinPath(joinPath('resources', r.id), 'params.agent'), message: m.reason });
      return;
    }
    out.checked.push(r.id);
    checkAgainstMetadata(r, m.metadata, out);
    const timeoutMs = m.metadata.actions.find((a) => a.name === 'validate-all')?.timeoutMs ?? VALIDATE_TIMEOUT_MS;
    const v = await agent.validate({ id: r.id, kind: r.kind, params: r.params }, { timeoutMs });
    if (v.status === 'ok') return;
    const issue = { path: joinPath(joinPath('resources', r.id), 'params'), message: `${m.metadata.agent} validate-all on this machine: ${v.status}${v.reason ? ` (${v.reason})` : ''}` };
    (v.status === 'notInstalled' ? out.warnings : out.errors).push(issue);
  }));
  const byPath = (a: ConfigIssue, b: ConfigIssue) => a.path.localeCompare(b.path);
  out.errors.sort(byPath);
  out.warnings.sort(byPath);
  out.checked.sort();
  out.notInstalled.sort((a, b) => a.resource.localeCompare(b.resource));
  return out;
}

function checkAgainstMetadata(r: PrimitiveResource, m: OcfMetadata, out: OcfCheck): void {
  const params = joinPath(joinPath('resources', r.id), 'params');
  const known = m.parameters.map((p) => p.name);
  for (const p of m.parameters) {
    if (p.required && r.params[p.name] === undefined) out.errors.push({ path: joinPath(params, p.name), message: `is required by ${m.agent} (its meta-data)` });
  }
  for (const key of Object.keys(r.params)) {
    if (key === 'agent' || known.includes(key)) continue;
    out.warnings.push({ path: joinPath(params, key), message: `${m.agent} has no parameter of this name${didYouMean(key, known)} (its meta-data); it is passed as OCF_RESKEY_${key} all the same` });
  }
  for (const op of r.operations) {
    const advised = advisedTimeout(m.actions, op.name, op.role);
    if (advised === undefined || op.timeoutMs >= advised) continue;
    const key = Object.entries(OPERATION_KEYS).find(([, info]) => info.name === op.name && ('role' in info ? info.role : undefined) === op.role)?.[0] ?? op.name;
    out.warnings.push({
      path: joinPath(joinPath(joinPath(joinPath('resources', r.id), 'operations'), key), 'timeoutMs'),
      message: `${op.timeoutMs} ms is shorter than the ${advised} ms ${m.agent} advises for ${op.name}${op.role ? ` (${op.role})` : ''}`,
    });
  }
}
