// Reading the configuration file: JSON text → raw value, with line and column on a syntax error.

import { readFile } from 'node:fs/promises';
import { ConfigError, compileOrThrow } from './validate.js';
import type { CompiledConfig } from './types.js';

export type ParseResult = { ok: true; value: unknown } | { ok: false; message: string; line: number | null; column: number | null };

export function parseConfigText(text: string): ParseResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = positionOf(message, text);
    if (position === null) return { ok: false, message, line: null, column: null };
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    return { ok: false, message: message.replace(/\s*in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, ''), line, column };
  }
}

/** V8 says "... at position N" (and sometimes "(line L column C)"); the end of input has no position. */
function positionOf(message: string, text: string): number | null {
  const m = /at position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  if (/end of (JSON )?input/i.test(message)) return text.length;
  return null;
}

/** Read, parse and validate a configuration file; throws ConfigError with every issue. */
export async function loadConfig(file: string): Promise<CompiledConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${(err as Error).message}` }]);
  }
  const parsed = parseConfigText(text);
  if (!parsed.ok) {
    const where = parsed.line !== null ? `line ${parsed.line}, column ${parsed.column}: ` : '';
    throw new ConfigError(file, [{ path: '(file)', message: `not valid JSON: ${where}${parsed.message}` }]);
  }
  return compileOrThrow(parsed.value, file);
}
