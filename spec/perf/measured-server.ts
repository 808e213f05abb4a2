/**
 * The parent's handle on server-process.ts: starts the embedded server in its own process on a
 * data folder, asks it for memory figures or a heap snapshot, and stops it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemoryFigures, ServerRequest } from './server-process.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Children run the TypeScript sources, as the measuring script does. */
export const NODE_ARGS = ['--import', 'tsx'];

export interface MeasuredServerOptions {
  dataDir: string;
  /** Configuration overrides (dotted keys), over the measurement's own. */
  overrides: Record<string, unknown>;
  /** Set: the server writes a CPU profile (`--cpu-prof`) of each of its threads here on exit. */
  cpuProfileDir?: string;
}

export class MeasuredServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(options: MeasuredServerOptions): Promise<MeasuredServer> {
    const config = { 'gateway.port': 0, 'gateway.host': '127.0.0.1', 'logging.level': 'error', dataDir: options.dataDir, ...options.overrides };
    const profile = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir];
    const child = fork(join(HERE, 'server-process.ts'), [JSON.stringify(config)], { execArgv: [...NODE_ARGS, '--expose-gc', ...profile] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
    });
    return new MeasuredServer(child, port);
  }

  /** Memory (after full GCs) and CPU time of the server process. */
  measure(): Promise<MemoryFigures> {
    return this.ask<MemoryFigures>({ measure: true });
  }

  /** Writes a heap snapshot of the server to `path` (after a GC). */
  async snapshot(path: string): Promise<void> {
    await this.ask({ snapshot: path });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ stop: true } satisfies ServerRequest);
    await exited;
  }

  private ask<T>(request: ServerRequest): Promise<T> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`the server exited with ${code}`));
      this.child.once('exit', onExit);
      this.child.once('message', (m: T) => {
        this.child.off('exit', onExit);
        resolve(m);
      });
      this.child.send(request);
    });
  }
}
