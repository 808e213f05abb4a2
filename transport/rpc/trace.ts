/**
 * Trace context across gRPC (docs/architecture.md): each outgoing call runs in a CLIENT
 * span whose context the global propagator writes into the call's metadata (W3C `traceparent`
 * once bin/ registers an SDK); the server reads it back and runs the handler inside a SERVER
 * span that is its child, so one trace follows a message from logic into the repo.
 *
 * Only @opentelemetry/api is used: until an SDK is registered every call here is a no-op
 * (non-recording spans, an empty propagator).
 */
import type { Metadata } from '@grpc/grpc-js';
import { type Attributes, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type TextMapGetter, type TextMapSetter, trace } from '@opentelemetry/api';
import { asTroupeError } from '../errors.js';

/** Looked up per call: a tracer taken once at load would keep the provider found then, even after it is replaced. */
const tracer = (): ReturnType<typeof trace.getTracer> => trace.getTracer('troupe.rpc');

const metadataSetter: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const values = metadata.get(key);
    if (values.length === 0) return undefined;
    const strings = values.filter((v): v is string => typeof v === 'string');
    return strings.length === 1 ? strings[0] : strings;
  },
};

interface SpanNaming {
  /** `troupe.v1.Repo/GetUser`: OpenTelemetry's name for an RPC span. */
  name: string;
  attributes: Attributes;
}

/** Per method path, computed once: calls are hot. */
const namings = new Map<string, SpanNaming>();

function naming(path: string): SpanNaming {
  let found = namings.get(path);
  if (found === undefined) {
    const name = path.startsWith('/') ? path.slice(1) : path;
    const slash = name.lastIndexOf('/');
    const attributes: Attributes = { 'rpc.system': 'grpc', 'rpc.service': name.slice(0, slash), 'rpc.method': name.slice(slash + 1) };
    found = { name, attributes };
    namings.set(path, found);
  }
  return found;
}

function endWithFailure(span: Span, err: unknown): void {
  const error = asTroupeError(err);
  span.setAttribute('troupe.error.code', error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

/**
 * Runs one outgoing call (`path` like `/troupe.v1.Repo/GetUser`) in a CLIENT span, after
 * writing the span's context into `metadata`, which `send` must put on the call.
 */
export function traceClientCall<T>(path: string, target: string, metadata: Metadata, send: () => Promise<T>): Promise<T> {
  const { name, attributes } = naming(path);
  return tracer().startActiveSpan(name, { kind: SpanKind.CLIENT, attributes: { ...attributes, 'server.address': target } }, async (span) => {
    propagation.inject(context.active(), metadata, metadataSetter);
    try {
      return await send();
    } catch (err) {
      endWithFailure(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs a handler of an incoming call in a SERVER span whose parent is the context the caller
 * put in `metadata`; the handler (and what it awaits) sees that context as active.
 */
export function traceServerCall<T>(path: string, metadata: Metadata, handle: () => Promise<T>): Promise<T> {
  const { name, attributes } = naming(path);
  const parent = propagation.extract(ROOT_CONTEXT, metadata, metadataGetter);
  return tracer().startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, parent, async (span) => {
    try {
      return await handle();
    } catch (err) {
      endWithFailure(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}
