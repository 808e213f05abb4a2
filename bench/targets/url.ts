/**
 * `--url URL[,URL...]`: a Troupe that is already running (an embedded server, or the gateways of a
 * cluster), reached through the public API only: its users are registered like anyone's, with its
 * own argon2 settings and rate limits. Nothing is started or stopped. Its CPU and memory are
 * sampled when its process ids are given (--server-pid, e.g. of `npm start` on this machine);
 * otherwise those figures are absent from the report.
 */
import { existsSync } from 'node:fs';
import { TroupeError } from '../../transport/errors.js';
import { pinProcess } from '../lib/pinning.js';
import type { LaunchOptions, RunningTarget } from '../lib/running-target.js';
import { troupeWire } from '../lib/troupe-wire.js';

export async function connectUrl(urls: readonly string[], options: LaunchOptions, serverPids: readonly number[] = []): Promise<RunningTarget> {
  const { progress } = options;
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
  for (const pid of serverPids) {
    if (!existsSync(`/proc/${pid}/stat`)) throw new TroupeError('config', `--server-pid ${pid}: no such process on this machine`);
  }
  if (options.pinServer !== undefined) {
    if (serverPids.length === 0) progress('url: --pin-server does nothing without --server-pid (this run did not start that server)');
    for (const pid of serverPids) await pinProcess(pid, options.pinServer);
  }
  progress(`url: ${baseUrls.join(', ')} ready (its own settings: argon2 and rate limits apply to the run)` +
    `${serverPids.length === 0 ? '; its CPU and RSS are not sampled (--server-pid to sample them)' : `; sampling CPU and RSS of pid ${serverPids.join(', ')}`}`);
  return {
    key: 'url',
    label: `Troupe at ${baseUrls.join(', ')}`,
    role: 'subject',
    baseUrls,
    wire: troupeWire,
    stores: true,
    serverPids: () => [...serverPids],
    stop: () => Promise.resolve(),
  };
}
