/**
 * Starts a module of this folder on a worker thread, from the compiled build or the TypeScript
 * sources alike. Under tsx (`npm run dev`, the specs) a worker does not inherit the loader, so
 * the thread registers tsx before importing its entry.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** `name` without extension, resolved beside this file (.ts under tsx, .js when compiled). */
export function threadEntry(name: string): URL {
  return new URL(`./${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
}

/** Starts `entry` with `workerData` (worker_threads') on a new thread. */
export function startThread(entry: URL, workerData?: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  // tsx/esm/api's `import` build (its package.json exports), resolved here because the worker's
  // evaluated bootstrap has no module of its own to resolve from.
  const tsxPackage = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = new URL('./dist/esm/api/index.mjs', tsxPackage).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
