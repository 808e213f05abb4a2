/**
 * A gRPC service as a server hosts it: its full name (for health checks), the method table
 * ts-proto generated (`RepoService`, `HealthService`), and the handlers.
 */
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

export interface RpcService {
  /** Full name, e.g. `troupe.v1.Repo`; the health service answers for it under this name. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}
