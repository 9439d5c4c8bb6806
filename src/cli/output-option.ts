// `-o, --output text|json`: one declaration for every command that prints a report.

import { Option } from 'commander';

export type Output = 'text' | 'json';

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text');
}
