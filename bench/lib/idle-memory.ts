/**
 * Memory per idle connection: the server's resident memory before and after `count` WebSockets
 * are opened and ready, divided by `count`. No GC is forced in the server: both readings follow
 * a 2 s settle, which is what an operator's RSS graph would show.
 */
import { closeAll, openMany, type ReadySignal } from './clients.js';
import type { ServerProcess } from './server-process.js';
import { sleep } from './wait-until.js';

export interface IdleMemoryResult {
  server: string;
  connections: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  perConnectionKiB: number;
  /** How long opening every connection took, until the last was ready. */
  openMs: number;
}

export interface IdleMemoryOptions {
  count: number;
  urlOf(i: number): string;
  readyOn: ReadySignal;
  progress(line: string): void;
}

const SETTLE_MS = 2000;
const CONNECT_CONCURRENCY = 100;
/** Below the ~28,000 ephemeral ports one source address has towards one server port. */
const PER_SOURCE_ADDRESS = 25_000;

export async function measureIdleMemory(server: ServerProcess, options: IdleMemoryOptions): Promise<IdleMemoryResult> {
  await sleep(SETTLE_MS);
  const rssBeforeKiB = await server.rssKiB();
  const started = Date.now();
  const sockets = await openMany({
    count: options.count,
    urlOf: options.urlOf,
    readyOn: options.readyOn,
    concurrency: CONNECT_CONCURRENCY,
    perSourceAddress: PER_SOURCE_ADDRESS,
    progressEvery: 1000,
    onProgress: (ready) => options.progress(`  ${server.name}: ${ready}/${options.count} connections ready`),
  });
  const openMs = Date.now() - started;
  try {
    await sleep(SETTLE_MS);
    const rssAfterKiB = await server.rssKiB();
    return {
      server: server.name,
      connections: options.count,
      rssBeforeKiB,
      rssAfterKiB,
      perConnectionKiB: (rssAfterKiB - rssBeforeKiB) / options.count,
      openMs,
    };
  } finally {
    await closeAll(sockets);
  }
}
