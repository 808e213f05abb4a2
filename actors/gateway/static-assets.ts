/**
 * The bundled browser client (web/) as the HTTP API serves it: files read once at start-up by
 * bin/ and answered from memory, so a request never touches the disk and only files that were
 * there at start-up can ever be served (no path ever reaches the file system).
 */
import { TroupeError } from '../../transport/errors.js';
import type { HttpResponse } from '../../transport/http/port.js';
import { shownId } from '../ids.js';

export interface StaticAsset {
  /** The full Content-Type header, e.g. `text/javascript; charset=utf-8`. */
  contentType: string;
  /** The file's text (the client is text files only: HTML, JavaScript, CSS, SVG). */
  body: string;
}

/** By file name inside web/, e.g. `index.html`, `app.js`. */
export type StaticAssets = ReadonlyMap<string, StaticAsset>;

/** The page every other file hangs from; `GET /` answers it. */
export const INDEX_ASSET = 'index.html';

/**
 * `no-cache`: the browser revalidates, so a restarted server's new client is picked up at once.
 * `nosniff`: the declared type is the only one a browser may use. The policy keeps the page to
 * its own scripts, styles and server (WebSocket included), whatever a message contains.
 */
const ASSET_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * The response for one file, or `not_found` for any name the map does not hold (the name is
 * repeated cut and escaped: it is whatever the client put in the path).
 */
export function assetResponse(assets: StaticAssets, name: string): HttpResponse {
  const asset = assets.get(name);
  if (asset === undefined) throw new TroupeError('not_found', `no file ${shownId(name)} in the web client`);
  return { status: 200, contentType: asset.contentType, body: asset.body, headers: ASSET_HEADERS };
}
