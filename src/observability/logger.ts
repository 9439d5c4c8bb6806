// Structured logs: pino, JSON lines on stderr (stdout belongs to command output). One root logger
// per process, created from `--log-level`; every part of the program logs through a child that
// names it: `logger.child({ component: 'mesh', node: 'n1' })`.

import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type { Logger };

/** A log level that pino does not know. */
export class LogLevelError extends Error {
  override readonly name = 'LogLevelError';
  constructor(readonly given: string) {
    super(`invalid log level ${JSON.stringify(given)}: use one of ${LOG_LEVELS.join(', ')}`);
  }
}

export function parseLogLevel(value: string): LogLevel {
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new LogLevelError(value);
}

export interface LoggerOptions {
  level: LogLevel;
  /** where JSON lines go; default stderr (fd 2), written synchronously so nothing is lost on exit */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino({ level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A child logger for one part of the program; every line it writes carries these fields. */
export function componentLogger(parent: Logger, fields: { component: string; node?: string }): Logger {
  return parent.child(fields);
}
