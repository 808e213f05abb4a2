/**
 * The embedded server as a child process of spec/perf/measure-memory.ts, so that its memory is
 * measured apart from the clients'. It is forked with `--expose-gc`, takes its configuration
 * overrides (dotted keys) as one JSON argument, and answers on the IPC channel:
 * - once listening: `{ port }`;
 * - `{ measure: true }` → full GCs, then `MemoryFigures`;
 * - `{ snapshot: path }` → a GC, then a heap snapshot written to `path`, then `{ snapshot: path }`;
 * - `{ stop: true }` → drains the server and exits.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { startEmbedded } from '../../bin/embedded.js';
import { loadConfig } from '../../config/load.js';

/** What the server answers to `measure`: bytes, and CPU time since it started. */
export interface MemoryFigures {
  rss: number;
  /** V8's heap as committed (used, free and the young generation's spaces). */
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** User + system CPU time of the whole process (every thread), in microseconds. */
  cpuMicros: number;
}

export type ServerRequest = { measure: true } | { snapshot: string } | { stop: true };

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const config = await loadConfig({ overrides, env: {} });
const server = await startEmbedded(config);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('server-process.ts needs node --expose-gc');
const collect = gc;

/**
 * Memory once garbage is gone: two full GCs a moment apart, so objects freed by finalizers or
 * weak callbacks of the first go too and V8 can hand emptied pages back before RSS is read.
 */
const SETTLE_MS = Number(process.env.MEASURE_SETTLE_MS ?? 100);

async function measure(): Promise<MemoryFigures> {
  collect();
  await sleep(SETTLE_MS);
  collect();
  const usage = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { rss: usage.rss, heapTotal: usage.heapTotal, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers, cpuMicros: cpu.user + cpu.system };
}

process.on('message', (message: ServerRequest) => {
  if ('measure' in message) {
    void measure().then((figures) => process.send?.(figures));
  } else if ('snapshot' in message) {
    collect();
    writeHeapSnapshot(message.snapshot);
    process.send?.({ snapshot: message.snapshot });
  } else {
    void server.stop().finally(() => process.exit(0));
  }
});
process.send?.({ port: server.port });
