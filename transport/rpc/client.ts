/**
 * Unary gRPC calls to other nodes, with the safety a cluster needs (ISSUE 4, "role-to-role
 * calls"):
 *
 * - **Deadline.** Every call, retries included, ends within `deadlineMs`; a call that runs out
 *   of time fails with `unavailable` (its outcome on the server is unknown).
 * - **Retries.** Only calls the caller marks idempotent are retried, only after `unavailable`,
 *   up to `attempts` in all, with short exponential backoff (cockatiel), each attempt asking
 *   `target()` anew, so a shard that moved to another node is followed. A call that is not
 *   idempotent is sent exactly once: after a lost answer, a second try could apply it twice.
 * - **Re-routing.** A target that answers `not_owner` did nothing (it does not own the call's
 *   key): the call is sent again, idempotent or not, to whatever `target()` names once the
 *   caller's route has moved (`awaitRoute`) or a short pause has passed, for as long as the
 *   deadline allows. If the key has no owner for a moment (a shard between two owners),
 *   `target()` is asked again after the same waits. A call still refused when the deadline
 *   passes fails with `unavailable`; `not_owner` itself never reaches the caller.
 * - **Circuit breaker per target** (transport/rpc/breakers.ts): only failures to reach a
 *   target count (an error the server answered is a healthy server); while a breaker is open,
 *   calls to that target fail with `unavailable` at once and are not retried.
 * - **Errors** are TroupeErrors rebuilt from the status (transport/rpc/status.ts).
 * - **Tracing**: each attempt is a CLIENT span whose context travels in the call's metadata.
 */
import { Metadata } from '@grpc/grpc-js';
import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { asTroupeError, TroupeError } from '../errors.js';
import { BreakerPool, BrokenCircuitError } from './breakers.js';
import { ChannelPool } from './channels.js';
import type { RpcObserver, RpcOutcome } from './observer.js';
import { errorFromStatus } from './status.js';
import { traceClientCall } from './trace.js';

/** A unary method as ts-proto's `outputServices=grpc-js` describes it (e.g. `RepoService.getUser`). */
export interface UnaryMethod<Req, Res> {
  readonly path: string;
  requestSerialize(value: Req): Buffer;
  responseDeserialize(value: Buffer): Res;
}

export interface RpcClientOptions {
  /** Longest a call may take, all attempts together. */
  deadlineMs: number;
  /** Attempts in all of an idempotent call that fails with `unavailable` (1 = no retry). */
  attempts: number;
  /** Consecutive failures to reach one target that open its breaker. */
  breakerFailures: number;
  /** How long an open breaker refuses before it lets one trial call through. */
  breakerHalfOpenMs: number;
  observer?: RpcObserver;
}

/** First and largest pause between attempts of an idempotent call. */
const RETRY_INITIAL_MS = 25;
const RETRY_MAX_MS = 250;
/** First and largest wait for the route to move after a `not_owner` refusal. */
const REROUTE_INITIAL_MS = 10;
const REROUTE_MAX_MS = 200;

/**
 * Resolves once the caller's route for the call's key may name another node than `refused`
 * (undefined: the key had no owner), or after `withinMs` at the latest.
 */
export type AwaitRoute = (refused: string | undefined, withinMs: number) => Promise<void>;

type Answer<T> = { ok: true; value: T } | { ok: false; error: TroupeError };

const methodNames = new Map<string, string>();

/** `GetUser` of `/troupe.v1.Repo/GetUser`, computed once per path. */
function methodName(path: string): string {
  let name = methodNames.get(path);
  if (name === undefined) {
    name = path.slice(path.lastIndexOf('/') + 1);
    methodNames.set(path, name);
  }
  return name;
}

function isUnavailable(err: unknown): boolean {
  return err instanceof TroupeError && err.code === 'unavailable';
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class RpcClient {
  private readonly channels: ChannelPool;
  private readonly breakers: BreakerPool;
  private readonly retries: RetryPolicy | undefined;
  /** Failures that another attempt cannot help: an open breaker, a deadline used up. */
  private readonly final = new WeakSet<TroupeError>();
  private closed = false;

  constructor(private readonly options: RpcClientOptions) {
    this.channels = new ChannelPool(options.breakerHalfOpenMs);
    const observer = options.observer;
    this.breakers = new BreakerPool({
      failures: options.breakerFailures,
      halfOpenMs: options.breakerHalfOpenMs,
      ...(observer === undefined ? {} : { onState: (target, state) => observer.onBreakerState(target, state) }),
    });
    this.retries =
      options.attempts > 1
        ? retry(
            handleWhen((err) => isUnavailable(err) && !this.final.has(err as TroupeError)),
            { maxAttempts: options.attempts - 1, backoff: new ExponentialBackoff({ initialDelay: RETRY_INITIAL_MS, maxDelay: RETRY_MAX_MS }) },
          )
        : undefined;
  }

  /**
   * Calls `method` on the node `target()` names (`host:port`; it throws a TroupeError when no
   * node serves the key). After a `not_owner` refusal, `awaitRoute` (default: a plain pause)
   * says when to ask `target()` again. Rejects with TroupeErrors only, never `not_owner`.
   */
  async call<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, target: () => string, idempotent: boolean, awaitRoute?: AwaitRoute): Promise<Res> {
    if (this.closed) throw new TroupeError('closed', `rpc ${methodName(method.path)}: client closed`);
    const deadline = Date.now() + this.options.deadlineMs;
    const routed = (): Promise<Res> => this.routed(method, request, target, deadline, awaitRoute);
    if (!idempotent || this.retries === undefined) return routed();
    return this.retries.execute(routed);
  }

  /** Closes every channel. Later calls fail with `closed`. */
  async close(): Promise<void> {
    this.closed = true;
    this.channels.close();
  }

  /**
   * One attempt, sent again while nodes refuse it with `not_owner` (a refusal means nothing was
   * done, so this is safe for any call), waiting between refusals for the route to move, with
   * a growing bound in case the route was right and its node had not started serving the key.
   */
  private async routed<Req, Res>(
    method: UnaryMethod<Req, Res>,
    request: Req,
    target: () => string,
    deadline: number,
    awaitRoute: AwaitRoute | undefined,
  ): Promise<Res> {
    let refusal: TroupeError | undefined;
    let refused: string | undefined;
    for (let refusals = 0; ; refusals++) {
      if (refusal !== undefined) {
        const left = deadline - Date.now();
        if (left <= 0) {
          const name = methodName(method.path);
          throw this.finalError(
            new TroupeError('unavailable', `rpc ${name}: no owner of its key took it within the deadline of ${this.options.deadlineMs} ms (last: ${refusal.message})`, { cause: refusal }),
          );
        }
        const bound = Math.min(left, REROUTE_MAX_MS, REROUTE_INITIAL_MS * 2 ** Math.min(refusals - 1, 8));
        await (awaitRoute === undefined ? pause(bound) : awaitRoute(refused, bound));
        if (this.closed) throw new TroupeError('closed', `rpc ${methodName(method.path)}: client closed`);
      }
      let address: string;
      try {
        address = target();
      } catch (err) {
        // After a refusal the key may have no owner for a moment (between two owners): wait for one.
        if (refusal === undefined || !isUnavailable(err)) throw err;
        refusal = err as TroupeError;
        continue;
      }
      try {
        return await this.attempt(method, request, address, deadline);
      } catch (err) {
        if (!(err instanceof TroupeError) || err.code !== 'not_owner') throw err;
        refusal = err;
        refused = address;
      }
    }
  }

  private async attempt<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, target: string, deadline: number): Promise<Res> {
    const name = methodName(method.path);
    // A retry may come due after close(): it must not open a channel again.
    if (this.closed) throw new TroupeError('closed', `rpc ${name}: client closed`);
    if (Date.now() >= deadline) {
      throw this.finalError(new TroupeError('unavailable', `rpc ${name} to ${target}: deadline of ${this.options.deadlineMs} ms passed`));
    }
    const started = performance.now();
    let answer: Answer<Res>;
    try {
      answer = await this.breakers.get(target).execute(() =>
        this.send(method, request, target, deadline).then(
          (value): Answer<Res> => ({ ok: true, value }),
          (err: unknown): Answer<Res> => {
            // Only failures to reach the target count against its breaker.
            if (isUnavailable(err)) throw err;
            return { ok: false, error: asTroupeError(err) };
          },
        ),
      );
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        this.observe(target, name, 'breaker_open', started);
        throw this.finalError(new TroupeError('unavailable', `rpc ${name} to ${target}: circuit breaker open`, { cause: err }));
      }
      this.observe(target, name, 'unavailable', started);
      const error = asTroupeError(err);
      throw Date.now() >= deadline ? this.finalError(error) : error;
    }
    this.observe(target, name, answer.ok ? 'ok' : 'error', started);
    if (answer.ok) return answer.value;
    throw answer.error;
  }

  private send<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, target: string, deadline: number): Promise<Res> {
    const client = this.channels.get(target);
    const metadata = new Metadata();
    return traceClientCall(method.path, target, metadata, () =>
      new Promise<Res>((resolve, reject) => {
        client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, { deadline }, (err, value) => {
          if (err) reject(errorFromStatus(err, `rpc ${methodName(method.path)} to ${target}`));
          else if (value === undefined) reject(new TroupeError('internal', `rpc ${methodName(method.path)} to ${target}: empty answer`));
          else resolve(value);
        });
      }),
    );
  }

  private finalError(error: TroupeError): TroupeError {
    this.final.add(error);
    return error;
  }

  private observe(target: string, method: string, outcome: RpcOutcome, started: number): void {
    this.options.observer?.onCall(target, method, outcome, (performance.now() - started) / 1000);
  }
}
