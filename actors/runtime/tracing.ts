/**
 * Spans and trace context of Troupe's hops (docs/architecture.md): a message is followed
 * from the sender's frame on a gateway, through its upstream record, the conversation actor and
 * the durable write, to the downstream records that deliver it, under one trace id.
 *
 * Only @opentelemetry/api is used here; an SDK (exporter, context manager, W3C propagator) is
 * registered by bin/telemetry.ts, and only when configured. Until then the API is a no-op and
 * so is this file: `startSpan` answers undefined without allocating, so a hot path checks that
 * and skips every other tracing step (no headers, no attribute objects, no closures).
 *
 * Trace context crosses the log in record headers (`traceparent`, `tracestate`, whatever the
 * registered propagator writes), and gRPC in call metadata (transport/rpc/trace.ts).
 */
import {
  type Context,
  context,
  type Link,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type { LogHeaders } from '../../transport/log/port.js';

export { ROOT_CONTEXT, SpanKind, type Context, type Span };

/** The span names of a message's hops, one place so specs and dashboards agree. */
export const SPAN_GATEWAY_SEND = 'gateway.frame send';
export const SPAN_CONVERSATION_SEND = 'conversation.send';
export const SPAN_REPO_APPEND = 'repo.append';
export const SPAN_GATEWAY_DELIVER = 'gateway.deliver';
export const SPAN_TASK_FANOUT = 'task.fanout';

/** The W3C header a trace context travels in: a record without it carries no trace. */
export const TRACEPARENT_HEADER = 'traceparent';

const TRACER_NAME = 'troupe';

/**
 * The API's no-op provider, the delegate of a global proxy that has no SDK behind it. Read
 * from a fresh proxy because the API does not export it; if a later API version stopped
 * sharing one instance, `troupeTracer()` would only lose its shortcut (spans would then be the
 * API's non-recording ones), never correctness.
 */
const NOOP_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

let cachedProvider: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;

/**
 * Troupe's tracer, or undefined when no SDK is registered. The tracer is looked up again when
 * the global provider changes (a spec registers one, then `trace.disable()`), so spans never go
 * to a provider that was unregistered; otherwise this is two property reads.
 */
export function troupeTracer(): Tracer | undefined {
  const registered = trace.getTracerProvider();
  const provider = registered instanceof ProxyTracerProvider ? registered.getDelegate() : registered;
  if (provider === NOOP_PROVIDER) return undefined;
  if (provider !== cachedProvider || cachedTracer === undefined) {
    cachedProvider = provider;
    cachedTracer = provider.getTracer(TRACER_NAME);
  }
  return cachedTracer;
}

/** Whether spans are being made at all (an SDK is registered). */
export function isTracing(): boolean {
  return troupeTracer() !== undefined;
}

/**
 * Starts a span, child of the span in `parent` (default: the active context). Undefined when
 * no SDK is registered: the caller then does no further tracing work.
 */
export function startSpan(name: string, kind: SpanKind, parent?: Context, links?: Link[]): Span | undefined {
  const tracer = troupeTracer();
  if (tracer === undefined) return undefined;
  return tracer.startSpan(name, links === undefined ? { kind } : { kind, links }, parent ?? context.active());
}

/** `parent` (default: the active context) with `span` as its current span. */
export function contextOf(span: Span, parent?: Context): Context {
  return trace.setSpan(parent ?? context.active(), span);
}

/** Marks `span` failed with `err`: an exception event and an ERROR status. Does not end it. */
export function recordFailure(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = err instanceof Error ? err.message : String(err);
  span.recordException(err instanceof Error ? err : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Marks the span of `ctx` (if any) failed, as `recordFailure`. */
export function recordFailureIn(ctx: Context | undefined, err: unknown): void {
  const span = ctx === undefined ? undefined : trace.getSpan(ctx);
  if (span !== undefined) recordFailure(span, err);
}

/** Ends `span` when `work` settles, recording a rejection; resolves or rejects as `work` does. */
export async function endWhenSettled<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    recordFailure(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` in a new span, child of `parent` (default: the active context), with the span's
 * context active for `fn` and everything it awaits (so a gRPC client inside writes it into the
 * call's metadata); `fn` gets the span (to set attributes when it `isRecording()`). The span
 * ends when `fn`'s promise settles; a rejection is recorded. With no SDK registered, `fn()`.
 */
export function inSpan<T>(name: string, kind: SpanKind, parent: Context | undefined, fn: (span?: Span) => Promise<T>, links?: Link[]): Promise<T> {
  const span = startSpan(name, kind, parent, links);
  if (span === undefined) return fn();
  let work: Promise<T>;
  try {
    work = context.with(contextOf(span, parent), fn, undefined, span);
  } catch (err) {
    work = Promise.reject(err);
  }
  return endWhenSettled(span, work);
}

/** Wraps a record's `done` so that calling it also ends `span` (once, like `done` itself). */
export function endingWith(span: Span, done: () => void): () => void {
  let ended = false;
  return () => {
    if (!ended) {
      ended = true;
      span.end();
    }
    done();
  };
}

/** Links from a span to the spans in `contexts` (e.g. the other sends of one batched write). */
export function linksTo(contexts: Iterable<Context | undefined>): Link[] {
  const links: Link[] = [];
  for (const ctx of contexts) {
    const span = ctx === undefined ? undefined : trace.getSpan(ctx);
    if (span !== undefined) links.push({ context: span.spanContext() });
  }
  return links;
}

const headerSetter: TextMapSetter<LogHeaders> = {
  set(headers, key, value) {
    headers[key] = value;
  },
};

const headerGetter: TextMapGetter<LogHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key],
};

/**
 * Writes the trace context of `ctx` into `headers` (through the registered propagator: W3C
 * `traceparent`/`tracestate`) and returns `headers`. Writes nothing when `ctx` holds no span or
 * no propagator is registered.
 */
export function injectHeaders(ctx: Context, headers: LogHeaders): LogHeaders {
  if (trace.getSpan(ctx) !== undefined) propagation.inject(ctx, headers, headerSetter);
  return headers;
}

/** Whether a record's headers carry a trace context worth extracting. */
export function carriesTrace(headers: LogHeaders | undefined): headers is LogHeaders {
  return headers !== undefined && headers[TRACEPARENT_HEADER] !== undefined;
}

/**
 * The context a record's headers carry (its span as the remote parent), on top of the root
 * context: a consumer never inherits whatever happened to be active when the record arrived.
 */
export function contextFromHeaders(headers: LogHeaders): Context {
  return propagation.extract(ROOT_CONTEXT, headers, headerGetter);
}
