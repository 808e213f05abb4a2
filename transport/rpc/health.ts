/**
 * The standard gRPC health service (proto/grpc/health/v1/health.proto) of one server: the
 * serving status of the server as a whole (service "") and of each service it hosts. `Check`
 * answers the status now (NOT_FOUND for a service it does not host); `Watch` streams it now
 * and at every change, and SERVICE_UNKNOWN for a service it does not host, as the protocol
 * says. A draining node turns every status to NOT_SERVING so that balancers and probes stop
 * sending it work while its calls finish.
 */
import { type ServerWritableStream, status as Status } from '@grpc/grpc-js';
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthServer,
  HealthService,
} from '../../proto/gen/grpc/health/v1/health.js';
import type { RpcService } from './service.js';

type Watcher = ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

export class HealthStatuses {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Set<Watcher>();

  /** Starts with `""` and every name in `services` SERVING. */
  constructor(services: readonly string[]) {
    for (const name of ['', ...services]) this.statuses.set(name, ServingStatus.SERVING);
  }

  /** Turns the server and every service SERVING or NOT_SERVING; watchers hear of changes. */
  setServing(serving: boolean): void {
    const next = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    for (const [name, current] of this.statuses) {
      if (current === next) continue;
      this.statuses.set(name, next);
      for (const watcher of this.watchers) {
        if (watcher.request.service === name) watcher.write({ status: next });
      }
    }
  }

  /** Ends every Watch stream, so that a graceful shutdown does not wait for them. */
  endWatches(): void {
    for (const watcher of this.watchers) watcher.end();
    this.watchers.clear();
  }

  /** The `grpc.health.v1.Health` service answering from these statuses. */
  service(): RpcService {
    const implementation: HealthServer = {
      check: (call, callback) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) callback({ code: Status.NOT_FOUND, details: `unknown service ${call.request.service}` });
        else callback(null, { status });
      },
      watch: (call) => {
        call.write({ status: this.statuses.get(call.request.service) ?? ServingStatus.SERVICE_UNKNOWN });
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
      },
    };
    return { name: 'grpc.health.v1.Health', definition: HealthService, implementation };
  }
}
