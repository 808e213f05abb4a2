/**
 * The in-process coordinator: the shared Coordinator contract, then what only the local
 * implementation promises (TTL semantics driven by its own keepalive, bounded watch history,
 * timers that never hold the process open).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { LocalCoordinator } from '../../transport/coord/local.js';
import type { WatchEvent } from '../../transport/coord/port.js';
import { describeCoordContract } from '../contract/coord.contract.js';
import { expectTroupeRejection } from '../support/expect-rejection.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);

describeCoordContract('LocalCoordinator', async () => {
  const coord = new LocalCoordinator();
  return {
    coord,
    cleanup: () => coord.close(),
    expireLease: async (lease) => coord.expireLease(lease.id),
  };
});

describe('LocalCoordinator', function () {
  let coord: LocalCoordinator;

  afterEach(async function () {
    await coord.close();
  });

  it('keeps a lease alive past several TTLs while the event loop runs', async function () {
    coord = new LocalCoordinator();
    // Renewals come a third of the TTL apart; one that comes more than a TTL after the last
    // loses the lease, so the TTL must outlast a loaded machine's event-loop lag by far.
    const ttlMs = 500;
    const lease = await coord.grantLease(ttlMs);
    let lost = false;
    lease.onLost(() => (lost = true));
    const claim = await lease.claim('/k', 'v');
    // Time itself is the behaviour under test (nothing but the clock expires a local lease, so
    // there is no event to wait for): four TTLs pass with the loop free.
    await new Promise((resolve) => setTimeout(resolve, 4 * ttlMs));
    expect(lost).to.equal(false);
    expect((await coord.get('/k'))?.createRevision).to.equal(claim?.createRevision);
    await lease.put('/k2', 'still usable');
  });

  it('loses a lease whose keepalive was stalled longer than its TTL, as etcd would expire it', async function () {
    coord = new LocalCoordinator();
    const lease = await coord.grantLease(100);
    let lost = 0;
    lease.onLost(() => lost++);
    await lease.claim('/k', 'v');
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // a blocked event loop: the keepalive cannot run
    }
    await waitFor(() => lost === 1, { message: 'onLost after the stall' });
    expect(await coord.get('/k')).to.equal(null);
    await expectTroupeRejection(lease.claim('/k', 'v'), 'closed');
  });

  it('delivers watch events after the change returns, never inside it', async function () {
    coord = new LocalCoordinator();
    const events: WatchEvent[] = [];
    await coord.watchPrefix('/', (event) => events.push(event));
    const put = coord.put('/a', '1');
    expect(events).to.have.length(0);
    await put;
    await waitFor(() => events.length === 1, { message: 'the put event' });
  });

  it('rejects a watch from before its kept history with not_found, and replays from within it', async function () {
    coord = new LocalCoordinator({ historyLimit: 3 });
    for (let i = 1; i <= 5; i++) await coord.put(`/k${i}`, String(i));
    const err = await expectTroupeRejection(coord.watchPrefix('/', () => undefined, 1), 'not_found');
    expect(err.retriable).to.equal(false);
    const events: WatchEvent[] = [];
    await coord.watchPrefix('/', (event) => events.push(event), 2);
    await waitFor(() => events.length === 3, { message: 'three replayed events' });
    expect(events.map((e) => (e.type === 'put' ? e.kv.key : e.key))).to.deep.equal(['/k3', '/k4', '/k5']);
  });

  it('gives a lease revocation one revision for all its keys', async function () {
    coord = new LocalCoordinator();
    const lease = await coord.grantLease(5000);
    await lease.put('/a', '1');
    await lease.put('/b', '1');
    const before = (await coord.getPrefix('/')).revision;
    const events: WatchEvent[] = [];
    await coord.watchPrefix('/', (event) => events.push(event));
    await lease.revoke();
    await waitFor(() => events.length === 2, { message: 'two delete events' });
    expect(events.map((e) => (e.type === 'delete' ? e.modRevision : 0))).to.deep.equal([before + 1, before + 1]);
    expect((await coord.getPrefix('/')).revision).to.equal(before + 1);
  });

  it('rejects invalid lease TTLs and watch revisions with invalid_argument', async function () {
    coord = new LocalCoordinator();
    await expectTroupeRejection(coord.grantLease(0), 'invalid_argument');
    await expectTroupeRejection(coord.grantLease(Number.NaN), 'invalid_argument');
    await expectTroupeRejection(coord.watchPrefix('/', () => undefined, -1), 'invalid_argument');
  });

  it('lets a process holding leases and watches exit without closing', async function () {
    coord = new LocalCoordinator();
    const script = [
      "import { LocalCoordinator } from './transport/coord/local.ts';",
      'const coord = new LocalCoordinator();',
      'const lease = await coord.grantLease(1000);',
      "await lease.claim('/k', 'v');",
      "await coord.watchPrefix('/', () => undefined);",
      "console.log('ready');",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      timeout: 15_000,
    });
    expect(stdout.trim()).to.equal('ready');
  });
});
