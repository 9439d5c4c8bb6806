#!/usr/bin/env node
// `tsha`: one program, several commands. Each command lives in src/cli/commands/<name>.ts and
// registers itself on the program; this file only wires them and maps errors to exit codes.
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { installLogging } from './logging.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tsha')
    .description('High-availability failover agent for NixOS clusters (a Pacemaker alternative)')
    .version(VERSION)
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace', 'info')
    .showHelpAfterError();
  installLogging(program);
  registerCommands(program);
  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`tsha: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
