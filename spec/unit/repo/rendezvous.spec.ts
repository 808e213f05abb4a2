/**
 * Rendezvous hashing (actors/repo/rendezvous.ts): shards spread evenly, a joining node takes
 * shards only for itself, a leaving node's shards are the only ones that move, and the answer
 * depends on the set of nodes alone, never on their order or on the process.
 */
import { expect } from 'chai';
import { idealOwner, idealShards, nodeHash } from '../../../actors/repo/rendezvous.js';
import { expectTroupeRejection } from '../../support/expect-rejection.js';

/** Node id sets of the shapes clusters use: short names, host names with ports, random-looking ids. */
const CLUSTERS: ReadonlyArray<readonly string[]> = [
  ['repo-a', 'repo-b', 'repo-c'],
  ['repo-1', 'repo-2', 'repo-3'],
  ['10.0.0.1:7000', '10.0.0.2:7000', '10.0.0.3:7000'],
  ['a', 'b', 'c'],
  ['repo-3f2a9c', 'repo-81bd04', 'repo-c47e19'],
  ['node-0', 'node-1', 'node-2'],
];

function owners(nodeIds: readonly string[], shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => idealOwner(shard, nodeIds) as string);
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

describe('rendezvous hashing', function () {
  it('gives each of 3 nodes between 10 and 33 of 64 shards', function () {
    for (const nodes of CLUSTERS) {
      const counts = countBy(owners(nodes, 64));
      for (const node of nodes) {
        expect(counts.get(node) ?? 0, `${node} of ${nodes.join(',')}`).to.be.within(10, 33);
      }
    }
  });

  it('spreads many shards within 10% of an even share', function () {
    const nodes = ['repo-a', 'repo-b', 'repo-c', 'repo-d', 'repo-e'];
    const counts = countBy(owners(nodes, 10_000));
    for (const node of nodes) expect(counts.get(node) ?? 0, node).to.be.within(1800, 2200);
  });

  it('moves only shards that go to a joining node', function () {
    for (const nodes of CLUSTERS) {
      const before = owners(nodes, 64);
      const joined = [...nodes, 'repo-new'];
      const after = owners(joined, 64);
      let moved = 0;
      for (let shard = 0; shard < 64; shard++) {
        if (after[shard] !== before[shard]) {
          expect(after[shard], `shard ${shard}`).to.equal('repo-new');
          moved++;
        }
      }
      // A fourth node should take about a quarter; none or all would mean a broken weight.
      expect(moved, nodes.join(',')).to.be.within(6, 30);
    }
  });

  it('moves only the shards of a leaving node', function () {
    for (const nodes of CLUSTERS) {
      const before = owners(nodes, 64);
      const leaving = nodes[1] as string;
      const after = owners(nodes.filter((id) => id !== leaving), 64);
      for (let shard = 0; shard < 64; shard++) {
        if (before[shard] !== leaving) expect(after[shard], `shard ${shard}`).to.equal(before[shard]);
        else expect(after[shard], `shard ${shard}`).to.not.equal(leaving);
      }
    }
  });

  it('does not depend on the order of the node ids or on duplicates', function () {
    const nodes = ['repo-a', 'repo-b', 'repo-c', 'repo-d'];
    const reordered = ['repo-d', 'repo-b', 'repo-a', 'repo-c', 'repo-b'];
    expect(owners(reordered, 64)).to.deep.equal(owners(nodes, 64));
  });

  it('gives idealShards exactly the shards whose idealOwner is the node', function () {
    for (const nodes of CLUSTERS) {
      const owner = owners(nodes, 64);
      const all: number[] = [];
      for (const node of nodes) {
        const mine = idealShards(node, nodes, 64);
        expect(mine, node).to.deep.equal(owner.flatMap((o, shard) => (o === node ? [shard] : [])));
        all.push(...mine);
      }
      expect(all.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 64 }, (_, i) => i));
    }
  });

  it('gives no shard to a node outside the list, and no owner without nodes', function () {
    expect(idealShards('repo-x', ['repo-a', 'repo-b'], 16)).to.deep.equal([]);
    expect(idealOwner(3, [])).to.equal(undefined);
    expect(idealShards('repo-a', ['repo-a'], 4)).to.deep.equal([0, 1, 2, 3]);
  });

  it('hashes node ids and places shards the same in every process and version', function () {
    // FNV-1a 32-bit reference values.
    expect(nodeHash('')).to.equal(0x811c9dc5);
    expect(nodeHash('a')).to.equal(0xe40c292c);
    expect(nodeHash('foobar')).to.equal(0xbf9cf968);
    // Pinned: a different weight function would move shards between nodes of different versions.
    expect(owners(['repo-a', 'repo-b', 'repo-c'], 8)).to.deep.equal([
      'repo-c', 'repo-a', 'repo-b', 'repo-b', 'repo-c', 'repo-c', 'repo-a', 'repo-a',
    ]);
  });

  it('rejects a shard count that is not a positive integer', async function () {
    await expectTroupeRejection((async () => idealShards('a', ['a'], 0))(), 'invalid_argument');
    await expectTroupeRejection((async () => idealShards('a', ['a'], 1.5))(), 'invalid_argument');
  });
});
