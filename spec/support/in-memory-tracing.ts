/**
 * An OpenTelemetry SDK for specs: spans kept in memory, the W3C propagator and an
 * AsyncLocalStorage context manager, registered globally (as bin/telemetry.ts does with OTLP),
 * and unregistered again so that the specs after it run untraced.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface InMemoryTracing {
  /** Every span ended since install, in the order they ended. */
  spans(): ReadableSpan[];
  /** Unregisters provider, propagator and context manager. Idempotent. */
  uninstall(): Promise<void>;
}

export function installInMemoryTracing(): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!trace.setGlobalTracerProvider(provider)) throw new Error('a tracer provider is already registered');
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let uninstalled = false;
  return {
    spans: () => exporter.getFinishedSpans(),
    async uninstall() {
      if (uninstalled) return;
      uninstalled = true;
      trace.disable();
      propagation.disable();
      context.disable();
      await provider.shutdown();
    },
  };
}

/** The id of a span's parent, or undefined for a root span. */
export function parentIdOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
