// `tsha config check FILE [--output text|json]`: validate a configuration file as the agent will
// at start, and as the NixOS module does at build time. Exit 0 with a one-screen summary, or exit
// 1 with every error (`path: reason`) and their count.
// `tsha config options [--output text|json]`: every option of the table, its type and default.

import { outputOption, type Output } from '../output-option.js';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { validateText } from '../../config/parse.js';
import type { ValidationResult } from '../../config/validate.js';
import { summarize } from '../../config/summary.js';
import { listOptions } from '../../config/option-list.js';
import { rawConfigSpec } from '../../config/options.js';
import { renderErrors, renderSummary } from '../format/config-summary.js';
import { checkOcfResources, OcfAgent, ocfAdvice } from '../../adapters/ocf/index.js';
import { loggerFor } from '../logging.js';


export function register(program: Command): void {
  const config = program.command('config').description('check and describe tsha configuration files');

  const sections = Object.entries(rawConfigSpec.fields)
    .map(([key, spec]) => `  ${key.padEnd(17)} ${spec.doc.split(/(?<=\.) /)[0]}`)
    .join('\n');
  config
    .command('check')
    .description('validate a configuration file (JSON, as written by the NixOS module) and summarize it')
    .argument('<file>', 'configuration file')
    .addOption(outputOption())
    .option('--ocf-root <dir>', 'OCF_ROOT of the OCF resource agents to check ocf resources with (default: $OCF_ROOT or /usr/lib/ocf)')
    .addHelpText(
      'after',
      `\nTop-level options (every option, its type and default: tsha config options):\n${sections}\n\n` +
        'OCF resources whose agent is installed on this machine are checked against it too: the parameters its\n' +
        'meta-data requires and knows, its advised timeouts (they fill the timeouts left unset), and validate-all.\n\n' +
        'Exit status: 0 valid, 1 invalid or unreadable (every error is listed as "path: reason").',
    )
    .action(async (file: string, opts: { output: Output; ocfRoot?: string }, command: Command) => {
      const log = loggerFor(command);
      process.exitCode = await check(file, opts.output, log, opts.ocfRoot);
    });

  config
    .command('options')
    .description('list every configuration option with its type, default and description')
    .addOption(outputOption())
    .action((opts: { output: Output }) => {
      const rows = listOptions().map(({ path, type, default: dflt, doc }) => ({ path, type, default: dflt, doc }));
      if (opts.output === 'json') process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else for (const r of rows) process.stdout.write(`${r.path}\n    ${r.type}; default: ${r.default}\n    ${r.doc}\n`);
    });
}

/**
 * A configuration's text checked as the agent on this machine would take it: validated, the
 * timeouts it leaves unset filled by the advice of the OCF agents installed here, and each ocf
 * resource checked against its agent (required parameters, validate-all). `tsha config check` and
 * `tsha plan` both read a file this way.
 */
export async function checkWithOcfAgents(text: string, ocfRoot?: string): Promise<{ syntax: string } | { result: ValidationResult; notInstalled: { resource: string; reason: string }[] }> {
  let result = validateText(text);
  if ('syntax' in result) return { syntax: result.syntax };
  if (!result.ok || !Object.values(result.config.resources).some((r) => r.type === 'primitive' && r.kind === 'ocf')) return { result, notInstalled: [] };
  const ocf = new OcfAgent(ocfRoot ? { ocfRoot } : {});
  const advice = await ocfAdvice(result.config, ocf);
  if (advice.read.length > 0) result = validateText(text, { advised: advice.advised });
  if ('syntax' in result || !result.ok) return 'syntax' in result ? { syntax: result.syntax } : { result, notInstalled: [] };
  const checked = await checkOcfResources(result.config, ocf);
  const warnings = [...result.warnings, ...checked.warnings];
  return { result: checked.errors.length > 0 ? { ok: false, errors: checked.errors, warnings } : { ...result, warnings }, notInstalled: checked.notInstalled };
}

async function check(file: string, output: Output, log: ReturnType<typeof loggerFor>, ocfRoot?: string): Promise<number> {
  const fail = (message: string) => {
    if (output === 'json') process.stdout.write(JSON.stringify({ ok: false, file, errors: [{ path: '(file)', message }], warnings: [] }, null, 2) + '\n');
    else process.stdout.write(`${file}: ${message}\n${file}: 1 error\n`);
    return 1;
  };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return fail(`cannot read the file: ${(err as Error).message}`);
  }
  const checked = await checkWithOcfAgents(text, ocfRoot);
  if ('syntax' in checked) return fail(checked.syntax);
  const result = checked.result;
  for (const n of checked.notInstalled) log.info({ resource: n.resource, reason: n.reason }, 'OCF agent not installed here: not checked against it');
  log.debug({ file, ok: result.ok, errors: result.ok ? 0 : result.errors.length, warnings: result.warnings.length }, 'configuration checked');
  if (!result.ok) {
    if (output === 'json') process.stdout.write(JSON.stringify({ ok: false, file, errors: result.errors, warnings: result.warnings }, null, 2) + '\n');
    else process.stdout.write(renderErrors(file, result.errors, result.warnings));
    return 1;
  }
  const summary = summarize(result.config, result.quorumReason, result.warnings);
  for (const w of result.warnings) log.warn({ path: w.path }, w.message);
  if (output === 'json') process.stdout.write(JSON.stringify({ ok: true, file, summary, config: result.config }, null, 2) + '\n');
  else process.stdout.write(renderSummary(file, summary));
  return 0;
}
