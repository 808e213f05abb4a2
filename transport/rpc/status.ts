/**
 * TroupeErrors across gRPC: the server answers a failure with the closest gRPC status and puts
 * the exact TroupeError code (and its retry hints) in trailing metadata; the client rebuilds
 * the same TroupeError from them, message included. Only the message crosses, never a stack.
 *
 * A status without `troupe-code` did not come from a Troupe handler: it is gRPC's own verdict
 * on the call. Then DEADLINE_EXCEEDED, UNAVAILABLE (connection refused, reset, no route) and
 * CANCELLED (the server shut down under the call) become `unavailable`, which callers may
 * retry; anything else is `internal`.
 */
import { Metadata, status as Status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { asTroupeError, type ErrorCode, TroupeError } from '../errors.js';

/** Trailing metadata key with the TroupeError code. */
export const TROUPE_CODE_KEY = 'troupe-code';
const RETRIABLE_KEY = 'troupe-retriable';
const RETRY_AFTER_KEY = 'troupe-retry-after-ms';

/** The gRPC status each code travels as; the exact code rides in `troupe-code`. */
const STATUS_OF_CODE: Readonly<Record<ErrorCode, Status>> = {
  invalid_argument: Status.INVALID_ARGUMENT,
  bad_request: Status.INVALID_ARGUMENT,
  unauthenticated: Status.UNAUTHENTICATED,
  forbidden: Status.PERMISSION_DENIED,
  not_found: Status.NOT_FOUND,
  conflict: Status.ALREADY_EXISTS,
  too_large: Status.OUT_OF_RANGE,
  rate_limited: Status.RESOURCE_EXHAUSTED,
  unavailable: Status.UNAVAILABLE,
  internal: Status.INTERNAL,
  not_owner: Status.FAILED_PRECONDITION,
  stale_epoch: Status.FAILED_PRECONDITION,
  timeout: Status.DEADLINE_EXCEEDED,
  closed: Status.UNAVAILABLE,
  config: Status.INTERNAL,
};

/** Whether `value` is one of the stable TroupeError codes (from the wire, say). */
export function isTroupeErrorCode(value: string): value is ErrorCode {
  return Object.prototype.hasOwnProperty.call(STATUS_OF_CODE, value);
}

/** Server side: the status to answer `err` with (its TroupeError as `errorForCaller` gives it). */
export function statusFromError(err: unknown): Partial<StatusObject> {
  const error = errorForCaller(err);
  const metadata = new Metadata();
  metadata.set(TROUPE_CODE_KEY, error.code);
  metadata.set(RETRIABLE_KEY, error.retriable ? '1' : '0');
  if (error.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_KEY, String(error.retryAfterMs));
  return { code: STATUS_OF_CODE[error.code], details: error.message, metadata };
}

/**
 * The TroupeError a server sends back for `err` (in a status, or in a per-item outcome): a
 * `closed` store on the server means the node is shutting down, so the caller sees
 * `unavailable` (retriable, maybe on another node), not `closed`, which the client port
 * reserves for its own close().
 */
export function errorForCaller(err: unknown): TroupeError {
  const error = asTroupeError(err);
  return error.code === 'closed' ? new TroupeError('unavailable', `server shutting down: ${error.message}`) : error;
}

function firstString(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Client side: the TroupeError a failed call means. `call` names the call and its target for
 * failures gRPC itself reported (answers from a handler keep their own message).
 */
export function errorFromStatus(err: ServiceError, call: string): TroupeError {
  const code = firstString(err.metadata, TROUPE_CODE_KEY);
  if (code !== undefined && isTroupeErrorCode(code)) {
    const retriable = firstString(err.metadata, RETRIABLE_KEY);
    const retryAfter = firstString(err.metadata, RETRY_AFTER_KEY);
    return new TroupeError(code, err.details, {
      ...(retriable === undefined ? {} : { retriable: retriable === '1' }),
      ...(retryAfter === undefined ? {} : { retryAfterMs: Number(retryAfter) }),
    });
  }
  const name = Status[err.code] ?? String(err.code);
  if (err.code === Status.DEADLINE_EXCEEDED || err.code === Status.UNAVAILABLE || err.code === Status.CANCELLED) {
    return new TroupeError('unavailable', `${call}: ${name}: ${err.details}`);
  }
  return new TroupeError('internal', `${call}: ${name}: ${err.details}`);
}
