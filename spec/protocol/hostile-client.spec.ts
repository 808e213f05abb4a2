// Covers docs/protocol.md § Errors: ids that are not well-formed are answered like ids that do
// not exist, and no id delays any other request. A hostile client names conversations and users
// with quotes, spaces, slashes, dot segments, percent signs, control characters, NUL, emoji,
// 10 KB strings, JSON and ids of another kind, in every frame and HTTP route that takes an id;
// each gets its error within a second on a connection that stays open, and afterwards a message
// to a conversation on every upstream partition is acked within 2 s. The same checks run against
// a cluster's gateway in spec/cluster/cluster.spec.ts.
import { startTestServer, type TestServer } from '../support/server.js';
import { closeAllClients } from '../support/client.js';
import { checkAuthStrings, checkEveryPartitionAcks, checkFrames, FRAME_TYPES, hostileWorld, httpRouteChecks, type HostileWorld } from '../support/hostile.js';

/** The server's upstream partitions, given explicitly so the spec knows which to cover. */
const PARTITIONS = 16;

describe('protocol: a hostile client naming malformed ids', function () {
  this.timeout(30_000);
  let server: TestServer;
  let world: HostileWorld;

  // Default rate limits and abuse threshold: the checks stay under them (one connection per
  // frame type), so that what they test is the ids.
  before(async function () {
    server = await startTestServer({ 'log.upstreamPartitions': PARTITIONS });
    world = await hostileWorld(server.baseUrl);
  });
  afterEach(closeAllClients);
  after(async function () {
    await server?.stop();
  });

  for (const type of FRAME_TYPES) {
    it(`refuses ${type} frames naming a malformed conversation with not_found and their ref, at once, and the connection serves on`, async function () {
      await checkFrames(world, type);
    });
  }

  for (const route of httpRouteChecks()) {
    it(`answers ${route.name} with a malformed id 404 not_found at once, without repeating it`, async function () {
      await route.check(world);
    });
  }

  it('answers malformed usernames and refresh tokens like wrong ones (401, logout 204), at once', async function () {
    await checkAuthStrings(world);
  });

  it(`acks a message to a conversation on every one of the ${PARTITIONS} upstream partitions within 2 s afterwards`, async function () {
    await checkEveryPartitionAcks(world, PARTITIONS);
  });
});
