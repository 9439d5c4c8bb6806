// Reading the configuration file: JSON text → raw value, with line and column on a syntax error.

import { readFile } from 'node:fs/promises';
import { ConfigError, validate, type ValidateOptions, type ValidationResult } from './validate.js';
import { type ConfigIssue, joinPath } from './issues.js';
import type { CompiledConfig } from './types.js';
import type { AdvisedOperations } from './compile.js';

export type ParseResult =
  | { ok: true; value: unknown; /** keys that appear twice in one object: JSON.parse would silently keep the last */ duplicates: ConfigIssue[] }
  | { ok: false; message: string; line: number | null; column: number | null };

export function parseConfigText(text: string): ParseResult {
  try {
    const value = JSON.parse(text) as unknown;
    return { ok: true, value, duplicates: duplicateKeys(text) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = positionOf(message, text);
    if (position === null) return { ok: false, message, line: null, column: null };
    const before = text.slice(0, position);
    const line = before.split('\n').length;
    const column = position - before.lastIndexOf('\n');
    // the position is said as line and column; V8's quote of the text around it is left out
    const said = message.replace(/\s*in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '').replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, '');
    return { ok: false, message: said, line, column };
  }
}

/**
 * V8 says "... at position N" (and sometimes "(line L column C)"); the end of input has no position,
 * and "Unexpected token 'x', "…" is not valid JSON" has none either: then the text is scanned.
 */
function positionOf(message: string, text: string): number | null {
  const m = /at position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  if (/end of (JSON )?input/i.test(message)) return text.length;
  return syntaxErrorAt(text);
}

/** Where the JSON grammar (RFC 8259) first fails in `text`, or null when it does not (or nests too deep to scan). */
export function syntaxErrorAt(text: string): number | null {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = (): void => {
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else {
          i++;
          fail();
        }
      } else i++;
    }
    fail();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return str();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    const n = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 1000));
    if (!n) fail();
    i += n![0].length;
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return null;
  } catch (e) {
    if (e instanceof SyntaxAt) return e.at;
    return null; // nested deeper than the stack: V8's message stands alone
  }
}

class SyntaxAt {
  constructor(readonly at: number) {}
}

/**
 * Keys that appear more than once in one object of a valid JSON text, with their paths. A typo
 * fixed by adding a second key instead of editing the first must not pass silently.
 */
export function duplicateKeys(text: string): ConfigIssue[] {
  type Frame = { kind: 'object'; path: string; keys: Set<string>; key: string; expectKey: boolean } | { kind: 'array'; path: string; index: number };
  const issues: ConfigIssue[] = [];
  const stack: Frame[] = [];
  const here = (): string => {
    const top = stack.at(-1);
    if (!top) return '';
    return top.kind === 'object' ? joinPath(top.path, top.key) : `${top.path}[${top.index}]`;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) issues.push({ path: joinPath(top.path, key), message: 'this key appears more than once in the same object (JSON keeps only the last)' });
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = j;
    } else if (ch === '{') stack.push({ kind: 'object', path: here(), keys: new Set(), key: '', expectKey: true });
    else if (ch === '[') stack.push({ kind: 'array', path: here(), index: 0 });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',') {
      const top = stack.at(-1);
      if (top?.kind === 'object') top.expectKey = true;
      else if (top?.kind === 'array') top.index++;
    }
  }
  return issues;
}

/** Parse and validate configuration text: JSON syntax errors and duplicate keys are issues too. */
export function validateText(text: string, opts: ValidateOptions = {}): ValidationResult | { ok: false; syntax: string; errors: ConfigIssue[]; warnings: ConfigIssue[] } {
  const parsed = parseConfigText(text);
  if (!parsed.ok) {
    const where = parsed.line !== null ? ` at line ${parsed.line}, column ${parsed.column}` : '';
    const message = `not valid JSON${where}: ${parsed.message}`;
    return { ok: false, syntax: message, errors: [{ path: '(file)', message }], warnings: [] };
  }
  const result = validate(parsed.value, opts);
  if (parsed.duplicates.length === 0) return result;
  return { ok: false, errors: [...parsed.duplicates, ...(result.ok ? [] : result.errors)], warnings: result.warnings };
}

export interface LoadOptions {
  /**
   * The operation timeouts the installed agents advise for this configuration (OCF meta-data):
   * asked once the file is valid, and the file is compiled again with them. Undefined: none.
   */
  advise?: (config: CompiledConfig) => Promise<AdvisedOperations | undefined>;
}

/** Read, parse and validate a configuration file; throws ConfigError with every issue. */
export async function loadConfig(file: string, opts: LoadOptions = {}): Promise<CompiledConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${(err as Error).message}` }]);
  }
  const result = validateText(text);
  if (!result.ok) throw new ConfigError(file, result.errors);
  const advised = await opts.advise?.(result.config);
  if (!advised) return result.config;
  // the advice fills only timeouts the file leaves unset: what was valid stays valid
  const advisedResult = validateText(text, { advised });
  if (!advisedResult.ok) throw new ConfigError(file, advisedResult.errors);
  return advisedResult.config;
}
