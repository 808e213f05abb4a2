/**
 * The one error type of Troupe.
 *
 * Every failure that crosses a module boundary is a TroupeError with a stable `code`. The
 * protocol's codes (docs/protocol.md) are a subset; the rest are internal and are mapped to a
 * protocol code at the edge (see actors/gateway/error-map.ts) so clients only ever see the
 * codes the contract names. `retriable` says whether the same call may succeed later without
 * any change by the caller; only `retry()` below retries, and only retriable errors.
 */

export type ProtocolErrorCode =
  | 'invalid_argument'
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export type InternalErrorCode =
  /**
   * The caller does not hold the claim for the unit it tried to act on, or (from a repo node) the
   * node does not own the shard of the call's key: nothing was done. Retriable: the unit's
   * current owner may take the same call.
   */
  | 'not_owner'
  /** A write carried a fencing epoch older than the newest seen for its unit. */
  | 'stale_epoch'
  /** A call ran past its deadline; the outcome is unknown. */
  | 'timeout'
  /** The component was closed or is shutting down. */
  | 'closed'
  /** A configuration value or CLI flag is invalid (exit code 2 at the CLI). */
  | 'config';

export type ErrorCode = ProtocolErrorCode | InternalErrorCode;

const RETRIABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['unavailable', 'timeout', 'not_owner']);

export interface TroupeErrorOptions {
  retriable?: boolean;
  /** For `rate_limited`: when the caller may try again. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class TroupeError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: TroupeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TroupeError';
    this.code = code;
    this.retriable = options.retriable ?? RETRIABLE_BY_DEFAULT.has(code);
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isTroupeError(err: unknown, code?: ErrorCode): err is TroupeError {
  return err instanceof TroupeError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a TroupeError; unknown errors become `internal`. */
export function asTroupeError(err: unknown): TroupeError {
  if (err instanceof TroupeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TroupeError('internal', message, { cause: err });
}

export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  attempts?: number;
  /** First backoff in ms; doubles each attempt. Default 50. */
  initialDelayMs?: number;
  /** Upper bound of one backoff in ms. Default 2000. */
  maxDelayMs?: number;
  /** Stop early (rethrowing the last error) when this returns true, e.g. on shutdown. */
  abort?: () => boolean;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (err: TroupeError, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds or fails with an error that is not retriable, waiting an
 * exponentially growing, fully jittered delay between attempts. The last error is rethrown.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const initial = options.initialDelayMs ?? 50;
  const max = options.maxDelayMs ?? 2000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (raw) {
      const err = asTroupeError(raw);
      if (!err.retriable || attempt >= attempts || options.abort?.()) throw err;
      const ceiling = Math.min(max, initial * 2 ** (attempt - 1));
      const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      options.onRetry?.(err, attempt, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
