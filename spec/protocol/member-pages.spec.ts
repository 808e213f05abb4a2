// Covers docs/protocol.md § Conversations and members, "Listing members": GET
// /v1/conversations/:id/members?after=&limit= (order, after, more, the default limit and the clamp
// to 1,000, members only, bad query values), and the cap of 1,000 ids per
// POST /v1/conversations/:id/members.
import { expect } from 'chai';
import { api, registerAndLogin, SPEC_PASSWORD, uniqueName, type Api, type Json, type LoggedIn } from '../support/client.js';
import { createDirect, createGroup } from '../support/chat.js';
import { expectHttpError } from '../support/expect-error.js';
import { startTestServer, type TestServer } from '../support/server.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const MAX_ADDED_PER_REQUEST = 1000;

describe('protocol: member pages and batch adds', function () {
  let server: TestServer;
  let http: Api;
  const login = (): Promise<LoggedIn> => registerAndLogin(server.baseUrl);
  const page = (caller: LoggedIn | undefined, conv: string, query = '') =>
    http('GET', `/v1/conversations/${conv}/members${query}`, undefined, caller?.accessToken);
  const add = (owner: LoggedIn, conv: string, members: unknown[]) =>
    http('POST', `/v1/conversations/${conv}/members`, { members }, owner.accessToken);

  /** `count` new users (registered only, never logged in), their ids in no particular order. */
  async function register(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let start = 0; start < count; start += 50) {
      const batch = Array.from({ length: Math.min(50, count - start) }, async () => {
        const res = await http('POST', '/v1/users', { username: uniqueName('pg'), password: SPEC_PASSWORD });
        if (res.status !== 201) throw new Error(`register: ${res.status} ${res.text}`);
        return res.body.id as string;
      });
      ids.push(...(await Promise.all(batch)));
    }
    return ids;
  }

  /** Every member id of `conv`, fetched page by page with `limit`, and the pages' sizes. */
  async function walk(caller: LoggedIn, conv: string, limit: number): Promise<{ ids: string[]; sizes: number[] }> {
    const ids: string[] = [];
    const sizes: number[] = [];
    let after = '';
    for (;;) {
      const res = await page(caller, conv, `?limit=${limit}${after === '' ? '' : `&after=${encodeURIComponent(after)}`}`);
      expect(res.status, res.text).to.equal(200);
      const members = res.body.members as Json[];
      ids.push(...members.map((m) => m.id as string));
      sizes.push(members.length);
      if (!res.body.more) return { ids, sizes };
      after = members[members.length - 1].id;
    }
  }

  before(async function () {
    server = await startTestServer();
    http = api(server.baseUrl);
  });
  after(async function () {
    await server?.stop();
  });

  describe('GET /v1/conversations/:id/members', function () {
    it('answers members ordered by user id with username, display name and join time, and more: false on the last page', async function () {
      const [owner, m1, m2] = [await login(), await login(), await login()];
      const before = Date.now();
      const conv = await createGroup(http, owner, [m1.user.id, m2.user.id]);
      const res = await page(m1, conv.id);
      expect(res.status, res.text).to.equal(200);
      expect(res.body.more).to.equal(false);
      const everyone = [owner, m1, m2].sort((a, b) => (a.user.id < b.user.id ? -1 : 1));
      expect(res.body.members.map((m: Json) => ({ id: m.id, username: m.username, displayName: m.displayName }))).to.deep.equal(
        everyone.map((u) => ({ id: u.user.id, username: u.user.username, displayName: u.user.displayName })),
      );
      for (const m of res.body.members) expect(m.joinedAt).to.be.a('number').within(before - 1000, Date.now() + 1000);
    });

    it('pages with after and limit: each page starts above `after`, and more tells whether members remain', async function () {
      const owner = await login();
      const conv = await createGroup(http, owner, await register(6));
      const { ids, sizes } = await walk(owner, conv.id, 3);
      expect(sizes).to.deep.equal([3, 3, 1]);
      expect(ids).to.deep.equal([...ids].sort()).and.have.length(7);
      expect(new Set(ids).size).to.equal(7);
      // `after` need not be a member's id: the page starts at the next id above it.
      const between = await page(owner, conv.id, `?after=${encodeURIComponent(`${ids[2]!}-`)}&limit=2`);
      expect(between.body.members.map((m: Json) => m.id)).to.deep.equal(ids.slice(3, 5));
      expect(between.body.more).to.equal(true);
      const last = await page(owner, conv.id, `?after=${ids[6]!}`);
      expect(last.body).to.deep.equal({ members: [], more: false });
    });

    it('leaves out a member once removed', async function () {
      const [owner, m1, m2] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [m1.user.id, m2.user.id]);
      expect((await http('DELETE', `/v1/conversations/${conv.id}/members/${m2.user.id}`, undefined, owner.accessToken)).status).to.equal(204);
      const res = await page(owner, conv.id);
      expect(res.body.members.map((m: Json) => m.id)).to.have.members([owner.user.id, m1.user.id]).and.have.length(2);
    });

    it('answers a non-member, an unknown conversation and an id that cannot be one 404 not_found', async function () {
      const [owner, outsider, leaver] = [await login(), await login(), await login()];
      const conv = await createGroup(http, owner, [leaver.user.id]);
      expectHttpError(await page(outsider, conv.id), 404, 'not_found');
      expectHttpError(await page(owner, 'c_doesnotexist0000'), 404, 'not_found');
      expectHttpError(await page(owner, encodeURIComponent("c_' OR 1=1 --")), 404, 'not_found');
      expectHttpError(await page(owner, owner.user.id), 404, 'not_found');
      await http('DELETE', `/v1/conversations/${conv.id}/members/${leaver.user.id}`, undefined, leaver.accessToken);
      expectHttpError(await page(leaver, conv.id), 404, 'not_found');
    });

    it('lists a direct conversation\'s two members to either of them', async function () {
      const [a, b] = [await login(), await login()];
      const conv = await createDirect(http, a, b.user.id);
      const res = await page(b, conv.id);
      expect(res.body.members.map((m: Json) => m.id)).to.have.members([a.user.id, b.user.id]);
    });

    it('answers 401 unauthenticated without a token', async function () {
      const owner = await login();
      const conv = await createGroup(http, owner, []);
      expectHttpError(await page(undefined, conv.id), 401, 'unauthenticated');
    });

    it('answers 400 invalid_argument for a limit that is not an integer from 1, or an after that cannot be an id', async function () {
      const owner = await login();
      const conv = await createGroup(http, owner, []);
      for (const limit of ['0', '-1', 'abc', '1.5', '']) {
        expectHttpError(await page(owner, conv.id, `?limit=${limit}`), 400, 'invalid_argument', 'limit');
      }
      for (const after of ['with space', 'x'.repeat(65), 'u_ü']) {
        expectHttpError(await page(owner, conv.id, `?after=${encodeURIComponent(after)}`), 400, 'invalid_argument', 'after');
      }
    });
  });

  describe('a group beyond one page and one batch', function () {
    let owner: LoggedIn;
    let conv: string;
    let others: string[];

    before(async function () {
      this.timeout(120_000);
      owner = await login();
      others = await register(MAX_LIMIT + 5);
      conv = (await createGroup(http, owner, [])).id;
    });

    it(`refuses more than ${MAX_ADDED_PER_REQUEST} ids in one request with 400 invalid_argument naming members, adding nobody`, async function () {
      expectHttpError(await add(owner, conv, others.slice(0, MAX_ADDED_PER_REQUEST + 1)), 400, 'invalid_argument', 'members');
      const res = await page(owner, conv);
      expect(res.body.members.map((m: Json) => m.id)).to.deep.equal([owner.user.id]);
    });

    it(`adds ${MAX_ADDED_PER_REQUEST} ids in one request, then the rest in another`, async function () {
      this.timeout(60_000);
      const first = await add(owner, conv, others.slice(0, MAX_ADDED_PER_REQUEST));
      expect(first.status, first.text).to.equal(200);
      expect(first.body.memberCount).to.equal(MAX_ADDED_PER_REQUEST + 1);
      const rest = await add(owner, conv, others.slice(MAX_ADDED_PER_REQUEST));
      expect(rest.status, rest.text).to.equal(200);
      expect(rest.body.memberCount).to.equal(others.length + 1);
    });

    it(`pages ${DEFAULT_LIMIT} members by default and at most ${MAX_LIMIT}, however large the limit asked`, async function () {
      const everyone = [owner.user.id, ...others].sort();
      const first = await page(owner, conv);
      expect(first.body.members.map((m: Json) => m.id)).to.deep.equal(everyone.slice(0, DEFAULT_LIMIT));
      expect(first.body.more).to.equal(true);
      for (const limit of ['5000', '99999999999999999999']) {
        const clamped = await page(owner, conv, `?limit=${limit}`);
        expect(clamped.status, clamped.text).to.equal(200);
        expect(clamped.body.members.map((m: Json) => m.id)).to.deep.equal(everyone.slice(0, MAX_LIMIT));
        expect(clamped.body.more).to.equal(true);
      }
      const { ids, sizes } = await walk(owner, conv, 5000);
      expect(sizes).to.deep.equal([MAX_LIMIT, everyone.length - MAX_LIMIT]);
      expect(ids).to.deep.equal(everyone);
    });
  });
});
