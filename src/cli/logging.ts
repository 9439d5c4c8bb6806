// Wires the global `--log-level` option: a preAction hook validates it and gives every command a
// pino logger (loggerFor(command) inside an action).

import type { Command } from 'commander';
import { createLogger, LogLevelError, parseLogLevel, type Logger } from '../observability/logger.js';

const loggers = new WeakMap<Command, Logger>();

export function installLogging(program: Command): void {
  program.hook('preAction', (root, action) => {
    const given = String(root.opts<{ logLevel?: string }>().logLevel ?? 'info');
    let level;
    try {
      level = parseLogLevel(given);
    } catch (err) {
      if (err instanceof LogLevelError) root.error(`error: option '--log-level <level>': ${err.message}`, { exitCode: 2, code: 'tsha.logLevel' });
      throw err;
    }
    const logger = createLogger({ level }).child({ command: action.name() });
    loggers.set(action, logger);
  });
}

/** The logger of the running command (set by the preAction hook). */
export function loggerFor(command: Command): Logger {
  const logger = loggers.get(command);
  if (!logger) throw new Error(`no logger for command ${command.name()}: installLogging() was not called on the program`);
  return logger;
}
