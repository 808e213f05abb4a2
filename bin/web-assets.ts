/**
 * Reads the bundled browser client (web/) into memory for the gateway to serve (see
 * actors/gateway/static-assets.ts). web/ sits at the repository root: one level up from this
 * file in the sources (bin/web-assets.ts) and two from the compiled one (dist/bin/web-assets.js),
 * since tsc does not copy it.
 *
 * Only regular files directly in web/ with a known text type are taken: the map is the complete
 * list of what can be served, so a stray file of another kind is never exposed.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StaticAsset, StaticAssets } from '../actors/gateway/static-assets.js';
import { INDEX_ASSET } from '../actors/gateway/static-assets.js';
import { TroupeError } from '../transport/errors.js';

const WEB_DIR_CANDIDATES = ['../web/', '../../web/'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export interface WebAssets {
  /** The folder the files came from, or null when no web/ with an index.html was found. */
  dir: string | null;
  assets: StaticAssets;
}

/** The client's files; an empty map (and `dir: null`) when the client is not installed. */
export async function loadWebAssets(candidates: readonly string[] = WEB_DIR_CANDIDATES): Promise<WebAssets> {
  const dir = candidates.find((candidate) => existsSync(join(candidate, INDEX_ASSET)));
  if (dir === undefined) return { dir: null, assets: new Map() };
  const assets = new Map<string, StaticAsset>();
  try {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const contentType = CONTENT_TYPES[extname(entry.name)];
      if (!entry.isFile() || contentType === undefined) continue;
      assets.set(entry.name, { contentType, body: await readFile(join(dir, entry.name), 'utf8') });
    }
  } catch (err) {
    throw new TroupeError('internal', `cannot read the web client in ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return { dir, assets };
}
