/**
 * The session actor (actors/session/session-actor.ts) on a logic node wired as in embedded
 * mode (logic-bench.ts): a user's direct-conversation peers hear `presence` when the user's
 * first connection opens and when its last one closes, and at no other time.
 *
 * "No frame" is checked once the record is handled (the logic group committed past it): the
 * actor produces its frames before it finishes a record, so they would be there by then.
 */
import { expect } from 'chai';
import type { ConnAddress } from '../../../actors/records/types.js';
import { waitFor } from '../../support/wait-for.js';
import { GATEWAYS, LogicBench } from './logic-bench.js';

const [GW1, GW2] = GATEWAYS;
/** The fence of fixture writes made straight to the database, as no partition's actor. */
const SETUP = { unit: 'spec/session-fixtures', epoch: 1 };

describe('SessionActor', function () {
  let bench: LogicBench;

  afterEach(async function () {
    await bench.close();
  });

  /**
   * Opens a connection as a gateway does: presence first, then the `online` record; and waits
   * until logic has handled it. (An actor activated by a record rebuilds its connections from
   * presence as it is then; changes made to presence after that record was produced show up as
   * an extra, harmless `online` frame, so the specs keep changes one at a time.)
   */
  async function open(user: string, gatewayId: string): Promise<ConnAddress> {
    const conn = await bench.connect(user, gatewayId);
    await bench.waitHandled(await bench.produce({ type: 'online', user, origin: conn }));
    return conn;
  }

  /** Closes a connection as a gateway does: presence removed first, then the `offline` record. */
  async function close(user: string, conn: ConnAddress): Promise<void> {
    await bench.disconnect(user, conn);
    await bench.waitHandled(await bench.produce({ type: 'offline', user, origin: conn }));
  }

  function presenceTo(conn: ConnAddress): Array<{ user: unknown; online: unknown }> {
    return bench.framesTo(conn, 'presence').map((f) => ({ user: f.user, online: f.online }));
  }

  describe('with actors kept alive', function () {
    beforeEach(async function () {
      bench = await LogicBench.open();
      await bench.startLogic();
    });

    it('tells direct peers on the first connection and after the last one closes, not in between', async function () {
      const [alice, bob, carol] = [await bench.user(), await bench.user(), await bench.user()];
      await bench.direct(alice, bob);
      const { conv: group } = await bench.group(1);
      await bench.database.addMembers(group, [alice, carol], Date.now(), SETUP); // carol shares only a group with alice
      const bob1 = await bench.connect(bob, GW1);
      const bob2 = await bench.connect(bob, GW2);
      const carol1 = await bench.connect(carol, GW1);

      const alice1 = await open(alice, GW1);
      await waitFor(() => presenceTo(bob1).length === 1, { message: 'the online presence frame' });
      const alice2 = await open(alice, GW2); // second connection: nothing to tell
      await close(alice, alice1); // one connection still open: nothing to tell
      await close(alice, alice2); // the last one: offline
      await waitFor(() => presenceTo(bob1).length === 2, { message: 'the offline presence frame' });

      const expected = [
        { user: alice, online: true },
        { user: alice, online: false },
      ];
      expect(presenceTo(bob1)).to.deep.equal(expected);
      await waitFor(() => presenceTo(bob2).length === 2, { message: "bob's second connection to hear both" });
      expect(presenceTo(bob2)).to.deep.equal(expected);
      expect(presenceTo(carol1), 'a group member is no direct peer').to.deep.equal([]);
      expect(bench.framesTo(alice1).concat(bench.framesTo(alice2)), 'the user hears nothing of itself').to.deep.equal([]);
    });

    it('tells nobody when the user has no direct peers', async function () {
      const loner = await bench.user();
      const { conv } = await bench.group(2);
      await bench.database.addMembers(conv, [loner], Date.now(), SETUP);
      const others = await Promise.all((await bench.database.getMembers(conv)).map((m) => bench.connect(m.userId, GW1)));
      const conn = await open(loner, GW1); // both records handled (committed) before returning
      await close(loner, conn);
      expect(bench.delivered.filter((d) => d.frame.type === 'presence')).to.deep.equal([]);
      for (const other of others) expect(bench.framesTo(other)).to.deep.equal([]);
    });
  });

  describe('across passivation', function () {
    beforeEach(async function () {
      bench = await LogicBench.open();
      await bench.startLogic({ passivateAfterMs: 30 });
    });

    it('rebuilds its connections from presence, so a second connection after passivation is still silent', async function () {
      const [alice, bob] = [await bench.user(), await bench.user()];
      await bench.direct(alice, bob);
      const bob1 = await bench.connect(bob, GW1);

      const alice1 = await open(alice, GW1);
      await waitFor(() => presenceTo(bob1).length === 1, { message: 'the online presence frame' });
      await waitFor(async () => (await bench.passivations('session')) >= 1, { message: 'the session actor to be passivated' });

      const alice2 = await open(alice, GW2);
      await close(alice, alice1);
      await close(alice, alice2);
      await waitFor(() => presenceTo(bob1).length >= 2, { message: 'the offline presence frame' });
      expect(presenceTo(bob1)).to.deep.equal([
        { user: alice, online: true },
        { user: alice, online: false },
      ]);
    });
  });
});
