// Virtual IP resources: an address added to and removed from an interface with iproute2, announced
// with gratuitous ARP. See ip-agent.ts.
export { DEFAULT_ARP_COUNT, IpAgent, type IpAgentOptions } from './ip-agent.js';
