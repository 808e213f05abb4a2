/**
 * Starts a TypeScript module on a worker thread. A worker does not inherit the tsx loader the
 * specs run under, so the worker's first act is to register tsx, then import the entry (the same
 * bootstrap as transport/store/sqlite-writer.ts uses for its write thread).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

const tsxPackage = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'));
/** tsx/esm/api's `import` build (its package.json exports). */
const TSX_API = new URL('./dist/esm/api/index.mjs', tsxPackage).href;

export function startTsWorker(entry: URL, options: WorkerOptions = {}): Worker {
  const bootstrap = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
