// raw → validate() → compiled (STYLE.md practice 10). Three stages:
//   1. structure: every option checked against the options table, defaults applied (spec.ts);
//   2. rules: what relates several options (rules.ts), run on every section that is intact;
//   3. compile: the CompiledConfig everything downstream reads (compile.ts).
// Every problem of stages 1 and 2 is reported at once, each as `path: reason`. validate() never
// throws, whatever JSON value it is given.

import { checkSections, INVALID, type CheckContext } from './spec.js';
import { type ConfigIssue, IssueCollector, formatIssue } from './issues.js';
import { rawConfigSpec, type RawConfig } from './options.js';
import { applyRules, cloneOf } from './rules/index.js';
import { type AdvisedOperations, compile } from './compile.js';
import type { CompiledConfig, QuorumMode } from './types.js';

export type ValidationResult =
  | { ok: true; config: CompiledConfig; warnings: ConfigIssue[]; quorumReason: string }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

class CheckCollector extends IssueCollector implements CheckContext {
  readonly mapKeys = new Map<string, string[]>();
  readonly incompleteMaps = new Set<string>();
  errorCount(): number {
    return this.errors.length;
  }
}

export const INTERNAL_ERROR_PREFIX = 'internal error while validating';

export interface ValidateOptions {
  /** operation timeouts the installed agents advise, for the operations the configuration leaves without one */
  advised?: AdvisedOperations;
}

export function validate(raw: unknown, opts: ValidateOptions = {}): ValidationResult {
  const ctx = new CheckCollector();
  try {
    const sections = checkSections(rawConfigSpec, raw, ctx);
    if (sections === INVALID) return { ok: false, errors: ctx.errors, warnings: ctx.warnings };
    const model = applyRules(sections, ctx);
    if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors, warnings: ctx.warnings };
    const quorum = model.quorum;
    if (!quorum || !quorum.ok) {
      // Unreachable when there are no errors; kept so a gap in the rules is a clear message, not a crash.
      return { ok: false, errors: [{ path: 'nodes', message: 'the quorum mode could not be derived' }], warnings: ctx.warnings };
    }
    const promotableChildren = new Set<string>();
    for (const id of model.resourceIds) {
      const clone = cloneOf(model, id);
      if (clone !== null && (sections as RawConfig).clones[clone]?.promotable) promotableChildren.add(id);
    }
    const config = compile(sections as RawConfig, quorum.mode as QuorumMode, promotableChildren, opts.advised);
    return { ok: true, config, warnings: ctx.warnings, quorumReason: quorum.reason };
  } catch (err) {
    // A bug in a rule must not crash `tsha config check`; the property test asserts this never happens.
    const detail = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    return { ok: false, errors: [...ctx.errors, { path: '(root)', message: `${INTERNAL_ERROR_PREFIX}: ${detail}` }], warnings: ctx.warnings };
  }
}

/** Invalid configuration, with every issue found. Thrown by loadConfig() for the daemon's start. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string | null,
    readonly issues: ConfigIssue[],
  ) {
    super(`${file ? `${file}: ` : ''}invalid configuration (${issues.length} error${issues.length === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
  }
}

/** validate() for callers that cannot go on without a configuration: throws ConfigError. */
export function compileOrThrow(raw: unknown, file: string | null = null): CompiledConfig {
  const result = validate(raw);
  if (!result.ok) throw new ConfigError(file, result.errors);
  return result.config;
}
