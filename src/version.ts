// tsha's version, read from package.json: the one place it is written. The file is found by walking
// up from this module, which sits at src/ when run from source and at dist/src/ when built (the
// npm and Nix packages install package.json beside dist/).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tsha' && typeof pkg.version === 'string') return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error(`tsha: no package.json of tsha above ${fileURLToPath(import.meta.url)}`);
  }
}

export const VERSION = readVersion();
