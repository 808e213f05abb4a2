/**
 * The hop floor's bare pipeline batches as the cluster does (bench/floor/batching.ts): adds of
 * one turn share a flush, and a sender keeps one request in flight with everything asked for
 * meanwhile in the next. If these batched more, the floor would come out lower than the cluster
 * could reach; if less, higher.
 */
import { expect } from 'chai';
import { oneInFlight, perTurn } from '../../bench/floor/batching.js';

/** A promise settled from outside: a send that answers when the spec says. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition(), 'condition never held').to.equal(true);
}

describe('bench: the hop floor batches as the cluster does', () => {
  it('perTurn: the adds of one turn go to one flush, each answered with its own answer', async () => {
    const flushes: number[][] = [];
    const double = perTurn(async (items: number[]) => {
      flushes.push(items);
      return items.map((n) => n * 2);
    });
    const first = await Promise.all([double(1), double(2), double(3)]);
    const second = await double(4);
    expect(first).to.deep.equal([2, 4, 6]);
    expect(second).to.equal(8);
    expect(flushes).to.deep.equal([[1, 2, 3], [4]]);
  });

  it('perTurn: a failed flush rejects every add of its turn, and the next turn flushes anew', async () => {
    let fail = true;
    const lookup = perTurn(async (items: string[]) => {
      if (fail) throw new Error('redis blip');
      return items;
    });
    const results = await Promise.allSettled([lookup('a'), lookup('b')]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    fail = false;
    expect(await lookup('c')).to.equal('c');
  });

  it('oneInFlight: never two sends at once; what is added meanwhile goes out together next', async () => {
    const sends: Array<{ items: string[]; answer: ReturnType<typeof deferred> }> = [];
    let inFlight = 0;
    let most = 0;
    const send = oneInFlight(async (items: string[]) => {
      const answer = deferred();
      sends.push({ items, answer });
      most = Math.max(most, ++inFlight);
      try {
        await answer.promise;
      } finally {
        inFlight--;
      }
    });
    const a = send('a');
    await until(() => sends.length === 1);
    const waiting = [send('b'), send('c'), send('d')];
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends, 'nothing more is sent while one request flies').to.have.length(1);
    sends[0]!.answer.resolve();
    await a;
    await until(() => sends.length === 2);
    expect(sends[1]!.items).to.deep.equal(['b', 'c', 'd']);
    sends[1]!.answer.reject(new Error('broker blip'));
    const settled = await Promise.allSettled(waiting);
    expect(settled.map((r) => r.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    const e = send('e');
    await until(() => sends.length === 3);
    sends[2]!.answer.resolve();
    await e;
    expect(sends[2]!.items).to.deep.equal(['e']);
    expect(most).to.equal(1);
  });
});
