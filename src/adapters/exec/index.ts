// Exec resources: start/stop/monitor shell commands with OCF exit codes. See exec-agent.ts.
export { ExecAgent, OCF, actionResult, monitorResult, runCommand, type CommandOutcome, type ExecAgentOptions } from './exec-agent.js';
