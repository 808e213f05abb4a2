/**
 * The server half of a unary call: runs the handler inside the caller's trace context (a
 * SERVER span), and answers its result, or its failure as a status that carries the exact
 * TroupeError code (transport/rpc/status.ts).
 */
import type { handleUnaryCall } from '@grpc/grpc-js';
import { statusFromError } from './status.js';
import { traceServerCall } from './trace.js';

/** A grpc-js handler for the method at `path` (e.g. `/troupe.v1.Repo/GetUser`) that runs `handle`. */
export function unaryHandler<Req, Res>(path: string, handle: (request: Req) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    traceServerCall(path, call.metadata, () => handle(call.request)).then(
      (response) => callback(null, response),
      (err: unknown) => callback(statusFromError(err)),
    );
  };
}
