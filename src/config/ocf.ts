// How an OCF resource names its agent and parameters: params.agent = "provider:type" (the script
// <OCF_ROOT>/resource.d/<provider>/<type>, which Pacemaker shows as ocf:<provider>:<type>), every
// other param is an agent parameter the agent reads as OCF_RESKEY_<name>. One parser for the
// configuration check, the labels in `tsha status` and `tsha config check`, and the driver.

/** A provider or type: a file name under resource.d, never a path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;
/** What a shell agent can read from its environment. */
export const OCF_PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Parameters the driver sets itself (Pacemaker's meta attributes as the agent sees them). */
export const OCF_RESERVED_PREFIX = 'CRM_meta_';

export interface OcfAgentName {
  provider: string;
  type: string;
}

export function parseOcfAgent(agent: string): OcfAgentName | null {
  const parts = agent.split(':');
  if (parts.length !== 2 || !NAME.test(parts[0]!) || !NAME.test(parts[1]!)) return null;
  return { provider: parts[0]!, type: parts[1]! };
}

/** Why params.agent is not a "provider:type" name, or null when it is one. */
export function ocfAgentProblem(agent: string): string | null {
  if (parseOcfAgent(agent)) return null;
  const parts = agent.split(':');
  const quoted = JSON.stringify(agent);
  if (parts.length === 3 && parts[0] === 'ocf' && parseOcfAgent(`${parts[1]}:${parts[2]}`)) {
    return `${quoted}: write "${parts[1]}:${parts[2]}" (provider:type; the kind already says ocf)`;
  }
  if (parts.length === 1 && NAME.test(agent)) {
    return `${quoted} names no provider: write "provider:type", e.g. "heartbeat:${agent}" for the script <OCF_ROOT>/resource.d/heartbeat/${agent}`;
  }
  return `${quoted} is not an OCF agent name: write "provider:type", e.g. "heartbeat:IPaddr2" (letters, digits, ".", "_", "+" and "-" on each side)`;
}

/** "ocf:heartbeat:IPaddr2", as Pacemaker shows it; an invalid name is shown as given. */
export function ocfLabel(agent: string | undefined): string {
  const name = agent === undefined ? null : parseOcfAgent(agent);
  return name ? `ocf:${name.provider}:${name.type}` : `ocf:${agent ?? '?'}`;
}
