import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { expect } from 'chai';
import {
  carriesTrace,
  contextFromHeaders,
  contextOf,
  endingWith,
  injectHeaders,
  inSpan,
  isTracing,
  linksTo,
  ROOT_CONTEXT,
  SpanKind,
  startSpan,
} from '../../actors/runtime/tracing.js';
import { installInMemoryTracing, parentIdOf, type InMemoryTracing } from '../support/in-memory-tracing.js';

describe('tracing (actors/runtime/tracing.ts)', function () {
  describe('with no SDK registered', function () {
    it('makes no spans and writes no headers', async function () {
      expect(isTracing()).to.equal(false);
      expect(startSpan('x', SpanKind.INTERNAL)).to.equal(undefined);
      const headers = injectHeaders(context.active(), { type: 'send' });
      expect(headers).to.deep.equal({ type: 'send' });
      expect(carriesTrace(headers)).to.equal(false);
      let sawSpan: unknown = 'not called';
      expect(await inSpan('x', SpanKind.INTERNAL, undefined, async (span) => ((sawSpan = span), 7))).to.equal(7);
      expect(sawSpan).to.equal(undefined);
    });
  });

  describe('with an SDK registered', function () {
    let tracing: InMemoryTracing;
    beforeEach(function () {
      tracing = installInMemoryTracing();
    });
    afterEach(async function () {
      await tracing.uninstall();
    });

    it('round-trips a span context through record headers (W3C traceparent)', function () {
      const span = startSpan('producer', SpanKind.PRODUCER, ROOT_CONTEXT);
      expect(span).to.not.equal(undefined);
      const sent = span!.spanContext();
      const headers = injectHeaders(contextOf(span!, ROOT_CONTEXT), { type: 'send' });
      span!.end();
      expect(headers.type).to.equal('send');
      expect(headers.traceparent).to.equal(`00-${sent.traceId}-${sent.spanId}-01`);
      expect(carriesTrace(headers)).to.equal(true);

      const received = trace.getSpanContext(contextFromHeaders({ ...headers }));
      expect(received).to.include({ traceId: sent.traceId, spanId: sent.spanId, isRemote: true });
      const child = startSpan('consumer', SpanKind.CONSUMER, contextFromHeaders(headers));
      child!.end();
      const exported = tracing.spans().find((s) => s.name === 'consumer');
      expect(exported?.spanContext().traceId).to.equal(sent.traceId);
      expect(parentIdOf(exported!)).to.equal(sent.spanId);
    });

    it('reads a context from the headers alone, never from the context active when the record arrives', function () {
      const active = startSpan('unrelated', SpanKind.INTERNAL, ROOT_CONTEXT)!;
      const extracted = context.with(contextOf(active, ROOT_CONTEXT), () => contextFromHeaders({ type: 'deliver' }));
      active.end();
      expect(trace.getSpan(extracted)).to.equal(undefined);
    });

    it('runs a function in an active child span, ends it, and records a rejection as an ERROR status', async function () {
      const parent = startSpan('parent', SpanKind.SERVER, ROOT_CONTEXT)!;
      const parentCtx = contextOf(parent, ROOT_CONTEXT);
      let activeInside: string | undefined;
      await inSpan('ok', SpanKind.CLIENT, parentCtx, async () => {
        await Promise.resolve();
        activeInside = trace.getSpan(context.active())?.spanContext().spanId;
      });
      const failure = inSpan('fails', SpanKind.CLIENT, parentCtx, async () => {
        throw new Error('store down');
      });
      await failure.then(
        () => expect.fail('should reject'),
        (err: Error) => expect(err.message).to.equal('store down'),
      );
      parent.end();
      const byName = new Map(tracing.spans().map((s) => [s.name, s]));
      const ok = byName.get('ok')!;
      const fails = byName.get('fails')!;
      expect(activeInside).to.equal(ok.spanContext().spanId);
      expect(parentIdOf(ok)).to.equal(parent.spanContext().spanId);
      expect(ok.kind).to.equal(SpanKind.CLIENT);
      expect(ok.status.code).to.equal(SpanStatusCode.UNSET);
      expect(fails.status).to.deep.include({ code: SpanStatusCode.ERROR, message: 'store down' });
      expect(fails.events.map((e) => e.name)).to.include('exception');
    });

    it('ends a span once when a wrapped done is called, and calls done each time', function () {
      const span = startSpan('record', SpanKind.CONSUMER, ROOT_CONTEXT)!;
      let calls = 0;
      const done = endingWith(span, () => calls++);
      expect(tracing.spans()).to.have.length(0);
      done();
      done();
      expect(calls).to.equal(2);
      expect(tracing.spans().map((s) => s.name)).to.deep.equal(['record']);
    });

    it('links a span to the spans of other contexts, skipping contexts with none', async function () {
      const a = startSpan('a', SpanKind.CONSUMER, ROOT_CONTEXT)!;
      const b = startSpan('b', SpanKind.CONSUMER, ROOT_CONTEXT)!;
      await inSpan('batch', SpanKind.CLIENT, contextOf(a, ROOT_CONTEXT), async () => undefined, linksTo([contextOf(b, ROOT_CONTEXT), undefined, ROOT_CONTEXT]));
      a.end();
      b.end();
      const batch = tracing.spans().find((s) => s.name === 'batch')!;
      expect(batch.links.map((l) => l.context.spanId)).to.deep.equal([b.spanContext().spanId]);
    });

    it('stops making spans once the SDK is unregistered', async function () {
      expect(isTracing()).to.equal(true);
      await tracing.uninstall();
      expect(isTracing()).to.equal(false);
      expect(startSpan('late', SpanKind.INTERNAL)).to.equal(undefined);
    });
  });
});
