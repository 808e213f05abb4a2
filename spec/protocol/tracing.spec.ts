// Covers docs/architecture.md § Observability: one message's spans, from the sender's frame through logic
// and the durable write to every delivery, share one trace id (issue 4: OpenTelemetry spans).
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { SPAN_CONVERSATION_SEND, SPAN_GATEWAY_DELIVER, SPAN_GATEWAY_SEND, SPAN_REPO_APPEND, SPAN_TASK_FANOUT } from '../../actors/runtime/tracing.js';
import { createDirect, createGroup, sendMessage } from '../support/chat.js';
import { api, closeAllClients, connect, registerAndLogin, type LoggedIn } from '../support/client.js';
import { installInMemoryTracing, parentIdOf, type InMemoryTracing } from '../support/in-memory-tracing.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../support/wait-for.js';

describe('protocol: tracing', function () {
  let tracing: InMemoryTracing;
  let server: TestServer;
  const login = (): Promise<LoggedIn> => registerAndLogin(server.baseUrl);

  before(async function () {
    tracing = installInMemoryTracing();
    // One task pool slot: the group's message to all its 4 members is one job, for the whole slot.
    server = await startTestServer({ 'groups.largeGroupThreshold': 2, 'task.chunkSize': 2, 'task.poolSize': 1 });
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
    await tracing?.uninstall();
  });

  it('follows one message from the sender frame through logic and the repo to both deliveries under one trace id', async function () {
    const [a, b] = [await login(), await login()];
    const conv = (await createDirect(api(server.baseUrl), a, b.user.id)).id as string;
    const { client: sender } = await connect(server.wsUrl(a.accessToken));
    const { client: receiver } = await connect(server.wsUrl(b.accessToken));

    const ack = await sendMessage(sender, conv, { text: 'traced hello' });
    const msg = await receiver.next((f) => f?.type === 'msg' && f.conv === conv && f.seq === ack.seq);
    expect(msg.body).to.deep.equal({ text: 'traced hello' });

    const frameSpan = (): ReadableSpan | undefined =>
      tracing.spans().find((s) => s.name === SPAN_GATEWAY_SEND && s.attributes['troupe.conversation'] === conv);
    const inTrace = (): ReadableSpan[] => {
      const root = frameSpan();
      return root === undefined ? [] : tracing.spans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    };
    const named = (name: string): ReadableSpan[] => inTrace().filter((s) => s.name === name);
    // The ack and the message each reach the gateway as a traced deliver record.
    await waitFor(() => named(SPAN_CONVERSATION_SEND).length === 1 && named(SPAN_REPO_APPEND).length === 1 && named(SPAN_GATEWAY_DELIVER).length === 2, {
      message: `spans of the message's trace: ${inTrace().map((s) => s.name).join(', ')}`,
    });

    const [root] = named(SPAN_GATEWAY_SEND) as [ReadableSpan];
    const [logic] = named(SPAN_CONVERSATION_SEND) as [ReadableSpan];
    const [write] = named(SPAN_REPO_APPEND) as [ReadableSpan];
    const deliveries = named(SPAN_GATEWAY_DELIVER);

    // One chain: frame → conversation.send → repo.append, and conversation.send → each delivery.
    expect(parentIdOf(root)).to.equal(undefined);
    expect(parentIdOf(logic)).to.equal(root.spanContext().spanId);
    expect(parentIdOf(write)).to.equal(logic.spanContext().spanId);
    for (const delivery of deliveries) expect(parentIdOf(delivery)).to.equal(logic.spanContext().spanId);
    const ids = new Set(inTrace().map((s) => s.spanContext().spanId));
    for (const span of inTrace()) if (span !== root) expect(ids.has(parentIdOf(span) ?? ''), `parent of ${span.name}`).to.equal(true);

    expect(root.kind).to.equal(SpanKind.SERVER);
    expect(logic.kind).to.equal(SpanKind.CONSUMER);
    expect(write.kind).to.equal(SpanKind.CLIENT);
    for (const delivery of deliveries) expect(delivery.kind).to.equal(SpanKind.CONSUMER);
    expect(logic.attributes['troupe.conversation']).to.equal(conv);
    expect(write.attributes['troupe.rows']).to.equal(1);
  });

  it('follows a large group\'s message through the fanout job of the task role to the deliveries, in the same trace', async function () {
    const members = [await login(), await login(), await login(), await login()];
    const [owner] = members as [LoggedIn];
    const group = await createGroup(api(server.baseUrl), owner, members.slice(1).map((m) => m.user.id));
    const clients = await Promise.all(members.map(async (m) => (await connect(server.wsUrl(m.accessToken))).client));
    const ack = await sendMessage(clients[0]!, group.id, { text: 'to many' });
    for (const client of clients.slice(1)) await client.next((f) => f?.type === 'msg' && f.conv === group.id && f.seq === ack.seq);

    const root = (): ReadableSpan | undefined => tracing.spans().find((s) => s.name === SPAN_GATEWAY_SEND && s.attributes['troupe.conversation'] === group.id);
    const named = (name: string): ReadableSpan[] =>
      tracing.spans().filter((s) => s.name === name && s.spanContext().traceId === root()?.spanContext().traceId);
    // 4 members over a threshold of 2, one pool slot: one job, then the deliveries it made.
    await waitFor(() => named(SPAN_TASK_FANOUT).length === 1 && named(SPAN_GATEWAY_DELIVER).length >= 1, {
      message: `task and delivery spans: ${tracing.spans().map((s) => s.name).join(', ')}`,
    });
    const [logic] = named(SPAN_CONVERSATION_SEND) as [ReadableSpan];
    const fanouts = named(SPAN_TASK_FANOUT);
    for (const fanout of fanouts) {
      expect(fanout.kind).to.equal(SpanKind.CONSUMER);
      expect(parentIdOf(fanout), 'a job continues the conversation span').to.equal(logic.spanContext().spanId);
    }
    const fanoutIds = new Set(fanouts.map((s) => s.spanContext().spanId));
    const fromJobs = named(SPAN_GATEWAY_DELIVER).filter((d) => fanoutIds.has(parentIdOf(d) ?? ''));
    expect(fromJobs.length, 'deliveries made by the job').to.be.at.least(1);
  });

  it('starts a separate trace for each message', async function () {
    const [a, b] = [await login(), await login()];
    const conv = (await createDirect(api(server.baseUrl), a, b.user.id)).id as string;
    const { client: sender } = await connect(server.wsUrl(a.accessToken));
    await sendMessage(sender, conv, { text: 'one' });
    await sendMessage(sender, conv, { text: 'two' });
    await waitFor(() => tracing.spans().filter((s) => s.name === SPAN_CONVERSATION_SEND && s.attributes['troupe.conversation'] === conv).length === 2);
    const roots = tracing.spans().filter((s) => s.name === SPAN_GATEWAY_SEND && s.attributes['troupe.conversation'] === conv);
    expect(roots).to.have.length(2);
    expect(roots[0]!.spanContext().traceId).to.not.equal(roots[1]!.spanContext().traceId);
  });
});
