/**
 * AppendCoalescer (transport/store/grpc-append-coalescer.ts) over a fake transport: the appends
 * of one turn to one node go as one AppendEach and are answered one by one; a lone append, or
 * one with no known node, goes as AppendMessages; a not_owner outcome is sent again alone; a
 * failed AppendEach rejects every append in it, and a malformed answer rejects them with
 * internal.
 */
import { expect } from 'chai';
import type * as wire from '../../../proto/gen/troupe/v1/repo.js';
import { TroupeError } from '../../../transport/errors.js';
import { AppendCoalescer, type AppendTransport } from '../../../transport/store/grpc-append-coalescer.js';

function append(conv: string): wire.AppendMessagesRequest {
  return { batches: [{ unit: 'upstream/0', epoch: 1, messages: [{ conv, seq: 1, id: `m-${conv}`, from: 'u', clientId: 'c', body: '{}', ts: 1 }] }] };
}

function convOf(request: wire.AppendMessagesRequest): string {
  return request.batches[0]!.messages[0]!.conv;
}

class FakeTransport implements AppendTransport {
  ones: string[] = [];
  eaches: string[][] = [];
  /** Outcome per conversation in an AppendEach (default: written). */
  outcomes = new Map<string, wire.AppendOutcome>();
  eachFails: Error | null = null;
  dropOneOutcome = false;

  constructor(private readonly nodeOf: (conv: string) => string | undefined) {}

  targetOf(request: wire.AppendMessagesRequest): string | undefined {
    return this.nodeOf(convOf(request));
  }

  async one(request: wire.AppendMessagesRequest): Promise<void> {
    this.ones.push(convOf(request));
  }

  async each(request: wire.AppendEachRequest): Promise<wire.AppendEachResponse> {
    this.eaches.push(request.appends.map(convOf));
    if (this.eachFails !== null) throw this.eachFails;
    const outcomes = request.appends.map((a) => this.outcomes.get(convOf(a)) ?? { code: '', message: '', retriable: false });
    return { outcomes: this.dropOneOutcome ? outcomes.slice(1) : outcomes };
  }
}

describe('AppendCoalescer', function () {
  it('sends the appends of one turn to one node as one AppendEach, and a lone one as AppendMessages', async function () {
    const transport = new FakeTransport((conv) => (conv.startsWith('a') ? 'node-a' : 'node-b'));
    const coalescer = new AppendCoalescer(transport);
    await Promise.all(['a1', 'a2', 'a3', 'b1'].map((conv) => coalescer.append(append(conv))));
    expect(transport.eaches).to.deep.equal([['a1', 'a2', 'a3']]);
    expect(transport.ones).to.deep.equal(['b1']);
    expect(coalescer.eachCalls).to.equal(1);
  });

  it('sends appends of separate turns separately', async function () {
    const transport = new FakeTransport(() => 'node-a');
    const coalescer = new AppendCoalescer(transport);
    await coalescer.append(append('a1'));
    await coalescer.append(append('a2'));
    expect(transport.ones).to.deep.equal(['a1', 'a2']);
    expect(transport.eaches).to.deep.equal([]);
  });

  it('sends an append whose shard has no known node alone, so the usual call reports it', async function () {
    const transport = new FakeTransport((conv) => (conv === 'lost' ? undefined : 'node-a'));
    const coalescer = new AppendCoalescer(transport);
    await Promise.all(['a1', 'lost', 'a2'].map((conv) => coalescer.append(append(conv))));
    expect(transport.ones).to.deep.equal(['lost']);
    expect(transport.eaches).to.deep.equal([['a1', 'a2']]);
  });

  it('answers each append of an AppendEach with its own outcome, and sends a not_owner one again alone', async function () {
    const transport = new FakeTransport(() => 'node-a');
    transport.outcomes.set('refused', { code: 'conflict', message: 'seqs do not continue', retriable: false });
    transport.outcomes.set('moved', { code: 'not_owner', message: 'shard moved', retriable: false });
    const coalescer = new AppendCoalescer(transport);
    const results = await Promise.allSettled(['a1', 'refused', 'moved'].map((conv) => coalescer.append(append(conv))));
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    const refusal = (results[1] as PromiseRejectedResult).reason as TroupeError;
    expect(refusal).to.be.instanceOf(TroupeError);
    expect(refusal.code).to.equal('conflict');
    expect(refusal.message).to.equal('seqs do not continue');
    expect(transport.ones).to.deep.equal(['moved']);
  });

  it('rejects every append of a failed AppendEach with its error, and never sends them again', async function () {
    const transport = new FakeTransport(() => 'node-a');
    transport.eachFails = new TroupeError('unavailable', 'deadline passed (on cue)');
    const coalescer = new AppendCoalescer(transport);
    const results = await Promise.allSettled(['a1', 'a2'].map((conv) => coalescer.append(append(conv))));
    for (const result of results) {
      expect(result.status).to.equal('rejected');
      expect((result as PromiseRejectedResult).reason).to.have.property('code', 'unavailable');
    }
    expect(transport.ones).to.deep.equal([]);
    expect(transport.eaches).to.have.length(1);
  });

  it('rejects with internal when the answer has a different number of outcomes, and with internal for an unknown code', async function () {
    const transport = new FakeTransport(() => 'node-a');
    transport.dropOneOutcome = true;
    const coalescer = new AppendCoalescer(transport);
    const results = await Promise.allSettled(['a1', 'a2'].map((conv) => coalescer.append(append(conv))));
    for (const result of results) expect((result as PromiseRejectedResult).reason).to.have.property('code', 'internal');
    transport.dropOneOutcome = false;
    transport.outcomes.set('odd', { code: 'no_such_code', message: 'odd', retriable: false });
    const odd = await Promise.allSettled(['a3', 'odd'].map((conv) => coalescer.append(append(conv))));
    expect((odd[1] as PromiseRejectedResult).reason).to.have.property('code', 'internal');
  });
});
