// The public surface of src/config: raw → validate() → CompiledConfig.
export * from './types.js';
export { validate, compileOrThrow, ConfigError, type ValidateOptions, type ValidationResult } from './validate.js';
export type { AdvisedOperation, AdvisedOperations } from './compile.js';
export { loadConfig, parseConfigText, validateText, duplicateKeys, type LoadOptions, type ParseResult } from './parse.js';
export { type ConfigIssue, formatIssue } from './issues.js';
export { rawConfigSpec, type RawConfig, DEFAULT_TIMING } from './options.js';
export { deriveQuorumMode, type QuorumDerivation, type QuorumInput } from './quorum-mode.js';
export { summarize, type ConfigSummary } from './summary.js';
export { listOptions, type OptionRow } from './option-list.js';
export { describeConfigChange } from './diff.js';
