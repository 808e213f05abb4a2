/**
 * A node's gRPC server: the services it was given plus the standard health service, on a
 * plaintext port (role-to-role traffic stays inside the cluster's network).
 *
 * Draining: `setServing(false)` turns the health of the server and of every service to
 * NOT_SERVING, so probes and balancers stop sending work while calls go on being answered;
 * `close(graceMs)` then lets the calls in flight finish for up to `graceMs` before cutting
 * the rest off.
 */
import {
  type handleUnaryCall,
  type MethodDefinition,
  Server,
  ServerCredentials,
  type StatusObject,
  status as Status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { TroupeError } from '../errors.js';
import { MAX_MESSAGE_BYTES } from './channels.js';
import { HealthStatuses } from './health.js';
import type { RpcService } from './service.js';

/** What the server logs: handler failures that are bugs (`internal`) and forced shutdowns. */
export interface RpcLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface RpcServerOptions {
  /** Address to listen on, e.g. `0.0.0.0` or `127.0.0.1`. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  services: readonly RpcService[];
  logger?: RpcLogger;
}

export interface RpcServer {
  /** The bound port. */
  readonly port: number;
  /** Health of the server and every service: SERVING or NOT_SERVING (draining). */
  setServing(serving: boolean): void;
  /** Stops taking calls, waits up to `graceMs` for those in flight, then cancels the rest. */
  close(graceMs: number): Promise<void>;
}

/** Wraps each unary handler so that answers with status INTERNAL are logged. */
function loggingInternal(service: RpcService, logger: RpcLogger): UntypedServiceImplementation {
  const wrapped: UntypedServiceImplementation = { ...service.implementation };
  for (const [key, method] of Object.entries(service.definition) as Array<[string, MethodDefinition<unknown, unknown>]>) {
    const handler = service.implementation[key];
    if (method.requestStream || method.responseStream || handler === undefined) continue;
    const unary = handler as handleUnaryCall<unknown, unknown>;
    wrapped[key] = ((call, callback) =>
      unary(call, (err: Partial<StatusObject> | null, ...rest) => {
        if (err?.code === Status.INTERNAL) logger.warn('rpc handler failed', { method: method.path, error: err.details });
        callback(err, ...rest);
      })) satisfies handleUnaryCall<unknown, unknown>;
  }
  return wrapped;
}

function listenAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts a server hosting `services` and the health service; resolves once it listens. */
export async function startRpcServer(options: RpcServerOptions): Promise<RpcServer> {
  const server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
  const health = new HealthStatuses(options.services.map((s) => s.name));
  for (const service of [...options.services, health.service()]) {
    const implementation = options.logger === undefined ? service.implementation : loggingInternal(service, options.logger);
    server.addService(service.definition, implementation);
  }
  const address = listenAddress(options.host, options.port);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new TroupeError('unavailable', `rpc server cannot listen on ${address}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });

  let closing: Promise<void> | undefined;
  return {
    port,
    setServing: (serving) => health.setServing(serving),
    close: (graceMs) => {
      closing ??= new Promise<void>((resolve) => {
        health.setServing(false);
        health.endWatches();
        const force = setTimeout(() => {
          options.logger?.warn('rpc server calls outlived the grace period; cancelling them', { graceMs });
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}
