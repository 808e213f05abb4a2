/**
 * What the main thread and the SQLite write thread (sqlite-writer.ts, sqlite-write-thread.ts)
 * say to each other: a write is a Store method name, its arguments and the caller's bound
 * fences; the answer is its value or its error, which crosses the thread as plain data and is
 * rebuilt as the same TroupeError (a stale fence as a StaleEpochError), so callers cannot tell
 * the write ran on another thread.
 */
import { TroupeError, type ErrorCode } from '../errors.js';
import { StaleEpochError, type Fence, type Store } from './port.js';

/** Every Store method that writes; everything else is read on the calling thread. */
export const WRITE_METHODS = [
  'createUser',
  'insertRefreshToken',
  'rotateRefreshToken',
  'revokeRefreshFamily',
  'createGroup',
  'getOrCreateDirect',
  'addMembers',
  'removeMember',
  'appendMessages',
  'advanceReadSeq',
] as const satisfies ReadonlyArray<keyof Store>;

export type WriteMethod = (typeof WRITE_METHODS)[number];

export interface OpenRequest {
  type: 'open';
  filename: string;
  busyTimeoutMs: number;
  walAutocheckpointPages: number;
}

export interface WriteRequest {
  type: 'write';
  id: number;
  method: WriteMethod;
  args: unknown[];
  /** The caller's `fencedBy` fences, checked like in the database store. */
  bound: Fence[];
}

export interface CloseRequest {
  type: 'close';
}

export type ThreadRequest = OpenRequest | WriteRequest | CloseRequest;

export type ThreadReply =
  | { type: 'opened' }
  | { type: 'open_failed'; error: WireError }
  | { type: 'done'; id: number; value: unknown }
  | { type: 'failed'; id: number; error: WireError }
  | { type: 'closed' };

/** A TroupeError as plain data. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  retryAfterMs?: number;
  stale?: { unit: string; epoch: number; newest: number };
}

export function toWireError(err: unknown): WireError {
  if (err instanceof StaleEpochError) {
    return { code: err.code, message: err.message, retriable: err.retriable, stale: { unit: err.unit, epoch: err.epoch, newest: err.newest } };
  }
  if (err instanceof TroupeError) {
    return { code: err.code, message: err.message, retriable: err.retriable, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message, retriable: false };
}

export function fromWireError(wire: WireError): TroupeError {
  if (wire.stale !== undefined) {
    const err = new StaleEpochError('', wire.stale.unit, wire.stale.epoch, wire.stale.newest);
    err.message = wire.message;
    return err;
  }
  return new TroupeError(wire.code, wire.message, { retriable: wire.retriable, retryAfterMs: wire.retryAfterMs });
}
