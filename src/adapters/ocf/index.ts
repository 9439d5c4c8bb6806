// OCF resources: Pacemaker's resource agents, called with the OCF API. See ocf-agent.ts.
export {
  DEFAULT_OCF_ROOT, OcfAgent, parseMetadata, parseOcfDuration,
  type MetadataResult, type OcfActionInfo, type OcfAgentOptions, type OcfMetadata, type OcfParameterInfo,
} from './ocf-agent.js';
