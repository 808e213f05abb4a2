/**
 * The package's root folder (where package.json, web/ and spec/ live), found from a module of bin/
 * whether it runs from the sources (bin/…) or from the build (dist/bin/…).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'spec'))) return dir;
    if (dirname(dir) === dir) throw new Error(`package root not found above ${from}`);
  }
}
