/**
 * A helper process of a measurement (the wakeup floor's ping-pong peers, the hop floor's bare
 * clients and servers), forked from the sources or from dist/ like the bench itself, talking
 * over Node's IPC channel in typed messages. The parent asks for the next message of a type and
 * gets it, or an error naming the child when it exits, reports a failure or stays silent past
 * the timeout: a measurement never waits forever on a helper.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface IpcChildOptions<From> {
  /** What the child is called in errors. */
  name: string;
  /** The default longest wait for a message. */
  timeoutMs: number;
  /** A message that reports the child failed: its text, else undefined. */
  failure?: (message: From) => string | undefined;
  /** Sent by stop(); default SIGTERM. */
  stopSignal?: NodeJS.Signals;
}

export class IpcChild<From extends { type: string }, To> {
  private readonly inbox: From[] = [];
  private wake: (() => void) | undefined;
  private exit: string | undefined;

  private constructor(readonly child: ChildProcess, private readonly options: IpcChildOptions<From>) {
    child.on('message', (message: From) => {
      this.inbox.push(message);
      this.wake?.();
    });
    child.once('exit', (code, signal) => {
      this.exit = `${options.name} exited (${signal ?? `status ${code}`})`;
      this.wake?.();
    });
  }

  /** Forks `script` (a .js path; its .ts sibling, through tsx, when `fromSources`). */
  static start<From extends { type: string }, To>(script: string, fromSources: boolean, args: string[], options: IpcChildOptions<From>): IpcChild<From, To> {
    const path = fromSources ? script.replace(/\.js$/, '.ts') : script;
    return new IpcChild<From, To>(fork(path, args, { execArgv: fromSources ? ['--import', 'tsx'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), options);
  }

  send(message: To): void {
    this.child.send(message as object);
  }

  /** The next message of `type`, sending `message` first when given. */
  async next<T extends From['type']>(type: T, message?: To, timeoutMs = this.options.timeoutMs): Promise<Extract<From, { type: T }>> {
    if (message !== undefined) this.send(message);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const m of this.inbox) {
        const failure = this.options.failure?.(m);
        if (failure !== undefined) throw new Error(`${this.options.name}: ${failure}`);
      }
      const index = this.inbox.findIndex((m) => m.type === type);
      if (index !== -1) return this.inbox.splice(index, 1)[0] as Extract<From, { type: T }>;
      if (this.exit !== undefined) throw new Error(this.exit);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.options.name} did not answer ${type} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill(this.options.stopSignal ?? 'SIGTERM');
    await exited;
  }
}
