/**
 * The OpenTelemetry SDK of a Troupe process, wired here and nowhere else: actors and transports
 * use only @opentelemetry/api (actors/runtime/tracing.ts, transport/rpc/trace.ts), which stays a
 * no-op until this registers a tracer provider.
 *
 * With `telemetry.otlpEndpoint` set, spans are batched and exported over OTLP/HTTP, the W3C
 * trace-context propagator writes `traceparent` into record headers and gRPC metadata, and an
 * AsyncLocalStorage context manager keeps the active span across awaits (so a store call made
 * inside a span carries it to the repo role). Empty: nothing is registered, nothing is paid.
 */
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from '../actors/runtime/logger.js';
import type { TroupeConfig } from '../config/types.js';

/** Longest an export (and the flush at shutdown) may take: a dead collector must not hold a drain. */
const EXPORT_TIMEOUT_MS = 5_000;

export interface Telemetry {
  /** Whether this process exports spans. */
  readonly enabled: boolean;
  /** Flushes the spans still buffered and unregisters the SDK. Idempotent; never rejects. */
  shutdown(): Promise<void>;
}

const OFF: Telemetry = { enabled: false, shutdown: () => Promise.resolve() };

/**
 * Registers the SDK when `telemetry.otlpEndpoint` is set; `role` names the service by default
 * (`troupe-<role>`). Call once per process, before the roles start; await `shutdown()` last on
 * the stop path. A provider registered earlier (by a test, say) is left in place.
 */
export function startTelemetry(config: TroupeConfig, role: string, logger: Logger): Telemetry {
  const url = config.telemetry.otlpEndpoint;
  if (url === '') return OFF;
  const serviceName = config.telemetry.serviceName === '' ? `troupe-${role}` : config.telemetry.serviceName;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName, 'service.instance.id': config.node.id }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS }), { exportTimeoutMillis: EXPORT_TIMEOUT_MS })],
  });
  if (!trace.setGlobalTracerProvider(provider)) {
    logger.warn('a tracer provider is already registered; telemetry.otlpEndpoint is not used', { otlpEndpoint: url });
    void provider.shutdown();
    return OFF;
  }
  const ownsContext = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const ownsPropagator = propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // Export failures reach the process's log instead of vanishing.
  diag.setLogger(
    {
      error: (message) => logger.warn(`opentelemetry: ${message}`),
      warn: (message) => logger.warn(`opentelemetry: ${message}`),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  logger.info('tracing to OTLP', { otlpEndpoint: url, serviceName });

  let stopping: Promise<void> | null = null;
  return {
    enabled: true,
    shutdown() {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, EXPORT_TIMEOUT_MS + 1_000)));
          await Promise.race([provider.shutdown(), timeout]);
        } catch (err) {
          logger.warn('could not flush the last spans', { error: (err as Error).message });
        } finally {
          clearTimeout(timer);
          trace.disable();
          if (ownsContext) context.disable();
          if (ownsPropagator) propagation.disable();
          diag.disable();
        }
      })();
      return stopping;
    },
  };
}
