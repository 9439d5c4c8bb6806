// OCF resources: Pacemaker's resource agents, called with the OCF API. See ocf-agent.ts.
export {
  DEFAULT_OCF_ROOT, OcfAgent, ocfAdvice, parseMetadata, parseOcfDuration,
  type MetadataResult, type OcfActionInfo, type OcfAdvice, type OcfAgentOptions, type OcfMetadata, type OcfParameterInfo,
} from './ocf-agent.js';
export { checkOcfResources, type OcfCheck } from './ocf-check.js';
