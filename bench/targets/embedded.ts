/**
 * `--embedded`: a fresh embedded Troupe server (`troupe dev`, every role in one process, SQLite in
 * a temporary folder) started for the run and stopped after it.
 *
 * It runs with the benchmark's settings (bench/lib/server-process.ts): argon2 far below OWASP's so
 * that registering thousands of users measures messaging rather than password hashing, and the
 * per-connection frame rate limit lifted so that the offered load is measured rather than refused.
 * Everything else is config/default.yaml. A server given with --url keeps its own settings.
 */
import { join, resolve } from 'node:path';
import type { LaunchOptions, RunningTarget, TargetStorage } from '../lib/running-target.js';
import { REPO_ROOT, startTroupeServer, troupeServerEnv, type ServerProcess } from '../lib/server-process.js';
import { troupeWire } from '../lib/troupe-wire.js';
import { chooseTroupeBuild } from './troupe-build.js';

export async function launchEmbedded(options: LaunchOptions): Promise<RunningTarget> {
  const build = chooseTroupeBuild();
  options.progress(`embedded: starting a Troupe server ${build.why}${options.pinServer === undefined ? '' : `, pinned to CPU ${options.pinServer}`}; argon2 at 1 MiB x 1 and no frame rate limit, so setup measures messaging, not password hashing`);
  const server = await startTroupeServer({ useDist: build.useDist, ...(options.pinServer === undefined ? {} : { pinServer: options.pinServer }) });
  options.progress(`embedded: ready at ${server.baseUrl} (pid ${server.pid})`);
  return {
    key: 'embedded',
    label: 'Troupe embedded',
    role: 'subject',
    baseUrls: [server.baseUrl],
    wire: troupeWire,
    stores: true,
    ...sqliteStorage(server),
    serverPids: () => [server.pid],
    stop: () => server.stop(),
  };
}

/**
 * The server's SQLite file: `troupe.sqlite` in its data folder, as the configuration derives it,
 * unless a TROUPE_STORAGE__FILENAME given to the run moved it (relative to the checkout, the
 * server's working folder); none for `:memory:`.
 */
function sqliteStorage(server: ServerProcess): { storage?: TargetStorage } {
  const configured = troupeServerEnv().TROUPE_STORAGE__FILENAME ?? '';
  if (configured === ':memory:' || (configured === '' && server.dataDir === undefined)) return {};
  const filename = configured === '' ? join(server.dataDir!, 'troupe.sqlite') : resolve(REPO_ROOT, configured);
  return { storage: { kind: 'sqlite', filename } };
}
