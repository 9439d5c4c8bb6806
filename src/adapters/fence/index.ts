// Fence agents (fence-agents stdin protocol) behind the Fencer port, and the non-destructive
// preflight of `tsha fence check`.
export { FenceAgentFencer } from './fencer.js';
export {
  runFenceAgent, runFenceAgentAction, fenceStdin, levelsFor, plugFor, parsePlugList, unfence,
  type FenceAgentAction, type FenceAgentOptions, type FenceAgentRun,
} from './fence-agent.js';
export { checkFencing, type FenceCheckReport, type FenceCheckRow, type FenceCheckNode } from './fence-check.js';
