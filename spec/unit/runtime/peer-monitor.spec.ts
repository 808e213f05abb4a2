import { expect } from 'chai';
import { PeerMonitor, type Peer, type ProbeResult } from '../../../actors/runtime/peer-monitor.js';
import { waitFor } from '../../support/wait-for.js';

/** A probe whose answers are scripted per ops address; counts every probe. */
class FakeProbe {
  readonly probes = new Map<string, number>();
  readonly answers = new Map<string, (n: number) => ProbeResult | Promise<ProbeResult>>();

  readonly probe = async (ops: string): Promise<ProbeResult> => {
    const n = (this.probes.get(ops) ?? 0) + 1;
    this.probes.set(ops, n);
    const answer = this.answers.get(ops);
    return answer === undefined ? 'alive' : answer(n);
  };

  count(ops: string): number {
    return this.probes.get(ops) ?? 0;
  }
}

function peer(nodeId: string, leaseId = `lease-${nodeId}`): Peer {
  return { nodeId, ops: `http://${nodeId}:1`, leaseId };
}

describe('PeerMonitor', function () {
  let monitors: PeerMonitor[];
  let fake: FakeProbe;
  let dead: Peer[];

  function monitor(refusals = 3, selfId = 'self'): PeerMonitor {
    const m = new PeerMonitor({ selfId, intervalMs: 5, refusals, probe: fake.probe, onDead: (p) => dead.push(p) });
    monitors.push(m);
    return m;
  }

  beforeEach(function () {
    monitors = [];
    fake = new FakeProbe();
    dead = [];
  });
  afterEach(function () {
    for (const m of monitors) m.close();
  });

  it('declares a peer dead after the configured refusals in a row, once, with its registration', async function () {
    const m = monitor(3);
    const victim = peer('a');
    let declaredAt = 0;
    fake.answers.set(victim.ops, () => 'refused');
    m.update(victim);
    m.update({ ...victim, memberId: 'member-a' }); // same process: the count goes on
    await waitFor(() => dead.length > 0, { message: 'a declared dead' });
    declaredAt = fake.count(victim.ops);
    expect(declaredAt).to.equal(3);
    expect(dead).to.deep.equal([{ ...victim, memberId: 'member-a' }]);
    // A dead peer is probed no more; a healthy one goes on being probed meanwhile.
    m.update(peer('b'));
    await waitFor(() => fake.count(peer('b').ops) >= 10, { message: 'b probed ten times' });
    expect(fake.count(victim.ops)).to.equal(declaredAt);
    expect(dead).to.have.length(1);
  });

  it('never declares a peer dead on timeouts or successes between refusals', async function () {
    const m = monitor(3);
    const stalled = peer('stalled');
    const flaky = peer('flaky');
    // The probe reports a timeout (a stopped or slow process) as alive, after a wait.
    fake.answers.set(stalled.ops, () => new Promise<ProbeResult>((resolve) => setTimeout(() => resolve('alive'), 12)));
    fake.answers.set(flaky.ops, (n) => (n % 3 === 0 ? 'alive' : 'refused'));
    m.update(stalled);
    m.update(flaky);
    await waitFor(() => fake.count(flaky.ops) >= 30 && fake.count(stalled.ops) >= 5, { message: 'thirty probes of flaky, five of stalled' });
    expect(dead).to.deep.equal([]);
  });

  it('never monitors its own node', async function () {
    const m = monitor(1, 'self');
    const self = peer('self');
    fake.answers.set(self.ops, () => 'refused');
    m.update(self);
    m.update(peer('other'));
    await waitFor(() => fake.count(peer('other').ops) >= 10, { message: 'other probed ten times' });
    expect(fake.count(self.ops)).to.equal(0);
    expect(dead).to.deep.equal([]);
  });

  it('monitors a peer again once it registers anew, and forgets a removed one', async function () {
    const m = monitor(2);
    const first = peer('a', 'lease-1');
    fake.answers.set(first.ops, () => 'refused');
    m.update(first);
    await waitFor(() => dead.length === 1, { message: 'first run declared dead' });
    m.update(peer('a', 'lease-2'));
    await waitFor(() => dead.length === 2, { message: 'second run declared dead' });
    expect(dead.map((p) => p.leaseId)).to.deep.equal(['lease-1', 'lease-2']);

    const gone = peer('gone');
    m.update(gone);
    await waitFor(() => fake.count(gone.ops) >= 1, { message: 'gone probed' });
    m.remove('gone');
    const seen = fake.count(gone.ops);
    m.update(peer('clock'));
    await waitFor(() => fake.count(peer('clock').ops) >= 10, { message: 'clock probed ten times' });
    expect(fake.count(gone.ops)).to.be.at.most(seen + 1); // at most the probe in flight at remove
    expect(dead).to.have.length(2);
  });

  it('probes nothing and declares nothing after close', async function () {
    const m = monitor(3);
    const victim = peer('a');
    fake.answers.set(victim.ops, () => 'refused');
    m.update(victim);
    await waitFor(() => fake.count(victim.ops) >= 1, { message: 'a probed' });
    m.close();
    const seen = fake.count(victim.ops);
    const clock = monitor(3);
    clock.update(peer('clock'));
    await waitFor(() => fake.count(peer('clock').ops) >= 10, { message: 'clock probed ten times' });
    expect(fake.count(victim.ops)).to.equal(seen);
    expect(dead).to.deep.equal([]);
  });
});
