/**
 * TurnBatch (transport/turn-batch.ts): the items added in one turn of the event loop reach
 * `flush` together, in the order added, once the turn is over; a later turn's items come in a
 * flush of their own.
 */
import { expect } from 'chai';
import { TurnBatch } from '../../transport/turn-batch.js';
import { waitFor } from '../support/wait-for.js';

describe('TurnBatch', function () {
  it('hands the items of one turn to one flush, in order, after the turn; a later turn gets its own', async function () {
    const flushes: number[][] = [];
    const batch = new TurnBatch<number>((items) => flushes.push(items));
    batch.add(1);
    batch.add(2);
    await Promise.resolve();
    batch.add(3); // still the same turn: microtasks run before setImmediate
    expect(flushes, 'nothing before the turn is over').to.deep.equal([]);
    await waitFor(() => flushes.length === 1, { message: 'the first flush' });
    batch.add(4);
    await waitFor(() => flushes.length === 2, { message: 'the second flush' });
    expect(flushes).to.deep.equal([[1, 2, 3], [4]]);
  });
});
