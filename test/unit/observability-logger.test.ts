import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { componentLogger, createLogger, LogLevelError, parseLogLevel } from '../../src/observability/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('child loggers carry component and node on every line', () => {
    const { lines, destination } = capture();
    const log = componentLogger(createLogger({ level: 'info', destination }), { component: 'mesh', node: 'n1' });
    log.info({ peer: 'n2' }, 'connected');
    log.debug('not shown at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, component: 'mesh', node: 'n1', peer: 'n2', msg: 'connected' });
    expect(typeof lines[0]!.time).toBe('string');
  });

  it('parses levels case-insensitively and names the choices on a bad one', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(() => parseLogLevel('loud')).toThrow(LogLevelError);
    expect(() => parseLogLevel('loud')).toThrow(/invalid log level "loud": use one of fatal, error, warn, info, debug, trace, silent/);
  });
});
