// Fence agents (fence-agents stdin protocol) behind the Fencer port.
export { FenceAgentFencer, runFenceAgent, fenceStdin, levelsFor, type FenceAgentOptions } from './fence-agent.js';
