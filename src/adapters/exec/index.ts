// Exec resources: start/stop/monitor shell commands with OCF exit codes. See exec-agent.ts.
export { ExecAgent, OCF, OCF_EXIT_REASON_PREFIX, actionResult, monitorResult, runCommand, runProgram, type CommandOutcome, type ExecAgentOptions } from './exec-agent.js';
