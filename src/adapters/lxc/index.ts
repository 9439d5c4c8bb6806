// LXC containers as resources, through LXC's command-line tools. See lxc-agent.ts for the semantics.
export { LxcAgent, DEFAULT_LXC_PATH, type LxcAgentOptions } from './lxc-agent.js';
export { runTool, parseInfo, monitorListening, cgroupWithin, type Info, type LxcState, type ToolOutcome } from './lxc-tools.js';
