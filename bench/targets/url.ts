/**
 * `--url URL[,URL...]`: a Troupe that is already running (an embedded server, or the gateways of a
 * cluster), reached through the public API only: its users are registered like anyone's, with its
 * own argon2 settings and rate limits. Nothing is started or stopped, and its CPU and memory
 * cannot be read from here, so those figures are absent from the report.
 */
import { TroupeError } from '../../transport/errors.js';
import type { RunningTarget } from '../lib/running-target.js';
import { troupeWire } from '../lib/troupe-wire.js';

export async function connectUrl(urls: readonly string[], progress: (line: string) => void): Promise<RunningTarget> {
  const baseUrls = urls.map((url) => url.replace(/\/+$/, ''));
  for (const url of baseUrls) {
    let status: number;
    try {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      status = res.status;
    } catch (err) {
      throw new TroupeError('unavailable', `--url ${url}: nothing answers there (${(err as Error).message})`, { cause: err });
    }
    if (status !== 200) throw new TroupeError('unavailable', `--url ${url}: GET /readyz answered ${status}, not ready`);
  }
  progress(`url: ${baseUrls.join(', ')} ready (its own settings: argon2 and rate limits apply to the run)`);
  return {
    key: 'url',
    label: `Troupe at ${baseUrls.join(', ')}`,
    role: 'subject',
    baseUrls,
    wire: troupeWire,
    stores: true,
    serverPids: () => [],
    stop: () => Promise.resolve(),
  };
}
