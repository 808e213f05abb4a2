// The bundled web client (web/) in Debian's Chromium, against the embedded server on a private
// port: two or three people, each in a browser context of their own, doing what a person does
// (register, find someone by username, chat, read, type, leave, reconnect). Every step waits for
// the page to show its result (support/browser.ts); nothing sleeps for a fixed time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { ChatPage, chromiumPath, eventually, launchChromium, type Person } from '../support/browser.js';
import { createDirect, createGroup, sendMany } from '../support/chat.js';
import { api, closeAllClients, connect, SPEC_PASSWORD, uniqueName, type LoggedIn } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTcpForwarder, type TcpForwarder } from '../support/tcp-forwarder.js';

/** A new person with a unique username; the display name says who they are in the story. */
function person(displayName: string): Person {
  return { username: uniqueName(displayName), displayName };
}

/** Registers and logs in over HTTP, for people who take part without a browser. */
async function registerOverHttp(baseUrl: string, who: Person): Promise<LoggedIn> {
  const http = api(baseUrl);
  const created = await http('POST', '/v1/users', { username: who.username, password: SPEC_PASSWORD, displayName: who.displayName });
  expect(created.status, created.text).to.equal(201);
  const login = await http('POST', '/v1/sessions', { username: who.username, password: SPEC_PASSWORD });
  expect(login.status, login.text).to.equal(200);
  return { user: login.body.user, accessToken: login.body.accessToken, refreshToken: login.body.refreshToken, password: SPEC_PASSWORD };
}

describe('web client in Chromium', function () {
  this.timeout(30_000);
  let server: TestServer;
  let browser: Browser;
  let dataDir: string;
  let forwarder: TcpForwarder | undefined;

  before(async function () {
    this.timeout(300_000); // a fresh machine installs Chromium from Debian first (about a minute)
    await chromiumPath();
  });

  beforeEach(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'troupe-spec-browser-'));
    [server, browser] = await Promise.all([startTestServer({}, { dataDir, keepDataDir: true }), launchChromium()]);
  });

  afterEach(async function () {
    await forwarder?.stop();
    forwarder = undefined;
    await closeAllClients();
    await browser?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Opens a page per person (on `baseUrl`, by default the server's) and registers them all. */
  async function people<const Names extends readonly string[]>(names: Names, baseUrl = server.baseUrl): Promise<{ [K in keyof Names]: { who: Person; page: ChatPage } }> {
    const opened = Promise.all(names.map(async (name) => {
      const who = person(name);
      const page = await ChatPage.open(browser, baseUrl);
      await page.register(who);
      return { who, page };
    }));
    return opened as Promise<{ [K in keyof Names]: { who: Person; page: ChatPage } }>;
  }

  it('registers, refuses a wrong password in plain words, and logs in again', async function () {
    const [{ who: ann, page }] = await people(['Ann']);
    await page.expectText(page.page.locator('#me-name'), 'Ann');
    await page.expectText(page.page.locator('#me-username'), `@${ann.username}`);
    await page.logOut();

    await page.submitLogin({ ...ann, password: 'not the password' });
    await page.expectText(page.line('login-error'), 'Wrong username or password.');
    await page.logIn(ann);
    await page.expectText(page.page.locator('#me-name'), 'Ann');

    await page.logOut();
    await page.fillLogin(ann);
    await page.page.getByRole('button', { name: 'Create account' }).click();
    await page.expectText(page.line('login-error'), 'That username is taken: pick another one.');
  });

  it('finds a person by username, starts a direct conversation, and shows names, unread badges and "seen"', async function () {
    const [{ page: ann }, { who: bob, page: bobPage }] = await people(['Ann', 'Bob']);

    await ann.startDirect('nobody_here');
    await ann.expectText(ann.line('sidebar-error'), 'No one has the username “nobody_here”.');

    await ann.startDirect(bob.username);
    await ann.expectText(ann.page.locator('#thread-title'), 'Bob');
    await ann.expectText(ann.line('thread-meta'), `Direct · @${bob.username}`);
    await ann.send('Hello Bob');
    await ann.send('Are you there?');
    await ann.expectMessages(['You: Hello Bob', 'You: Are you there?']);

    await bobPage.expectConversations(['Ann']);
    await bobPage.expectBadge('Ann', '2');
    await eventually(() => bobPage.page.title(), (title) => title === '(2) Troupe', 'the tab title counts the unread messages');

    await bobPage.openConversation('Ann');
    await bobPage.expectMessages(['Ann: Hello Bob', 'Ann: Are you there?']);
    await bobPage.expectBadge('Ann', '');
    await ann.expectText(ann.line('seen'), 'Seen by Bob');

    await bobPage.send('Yes!');
    await ann.expectMessages(['You: Hello Bob', 'You: Are you there?', 'Bob: Yes!']);
    await bobPage.expectText(bobPage.line('seen'), 'Seen by Ann');
    expect(await ann.visibleIds()).to.deep.equal([]);
    expect(await bobPage.visibleIds()).to.deep.equal([]);
  });

  it('shows who is typing and when a direct peer comes and goes', async function () {
    const [{ who: ann, page: annPage }, { who: bob, page: bobPage }] = await people(['Ann', 'Bob']);
    await annPage.startDirect(bob.username);
    await annPage.send('hi');
    await bobPage.openConversation('Ann');

    await annPage.page.getByLabel('Message', { exact: true }).fill('are you');
    await bobPage.expectText(bobPage.line('typing'), 'Ann is typing…');
    await annPage.page.getByRole('button', { name: 'Send' }).click();
    await bobPage.expectText(bobPage.line('typing'), '');
    await bobPage.expectMessages(['Ann: hi', 'Ann: are you']);

    await annPage.logOut();
    await bobPage.expectText(bobPage.line('thread-meta'), `Direct · @${ann.username} · offline`);
    await eventually(() => bobPage.conversation('Ann').getAttribute('aria-label'), (label) => label === 'Ann, offline', 'the list says Ann is offline');
    await annPage.logIn(ann);
    await bobPage.expectText(bobPage.line('thread-meta'), `Direct · @${ann.username} · online`);
  });

  it('creates a group by usernames, adds and lists members by name, lets a member leave and the owner remove one', async function () {
    const [{ who: annWho, page: ann }, { who: bob, page: bobPage }, { who: cat, page: catPage }] = await people(['Ann', 'Bob', 'Cat']);

    await ann.createGroup('Trip', [bob.username, 'ghost_user']);
    await ann.expectText(ann.line('sidebar-error'), 'No one has the username “ghost_user”.');
    await ann.createGroup('Trip', [`@${bob.username}`]);
    await ann.expectText(ann.page.locator('#thread-title'), 'Trip');
    await ann.expectText(ann.line('thread-meta'), 'Group · 2 members');

    await ann.showMembers();
    await ann.expectMembers([`You @${annWho.username} owner`, `Bob @${bob.username}`]);
    await ann.addMembers([cat.username]);
    await ann.expectText(ann.line('thread-meta'), 'Group · 3 members');
    await ann.expectMembers([`You @${annWho.username} owner`, `Bob @${bob.username}`, `Cat @${cat.username}`]);
    expect(await ann.visibleIds()).to.deep.equal([]);

    await catPage.expectConversations(['Trip']);
    await catPage.openConversation('Trip');
    await catPage.send('Thanks for adding me');
    await ann.expectMessages(['Cat: Thanks for adding me']);
    await bobPage.openConversation('Trip');
    await bobPage.expectMessages(['Cat: Thanks for adding me']);

    // Only the owner adds people: Bob sees the list but no form.
    await bobPage.showMembers();
    await bobPage.expectMembers([`Ann @${annWho.username} owner`, `You @${bob.username}`, `Cat @${cat.username}`]);
    expect(await bobPage.page.locator('#add-members-form').isVisible()).to.equal(false);

    await catPage.showMembers();
    await catPage.leaveGroup();
    await catPage.expectConversations([]);
    await ann.expectText(ann.line('thread-notice'), 'Cat left.');
    await ann.expectText(ann.line('thread-meta'), 'Group · 2 members');
    await bobPage.expectMembers([`Ann @${annWho.username} owner`, `You @${bob.username}`]);

    // The owner removes a member.
    await ann.page.getByRole('button', { name: 'Remove Bob' }).click();
    await ann.expectMembers([`You @${annWho.username} owner`]);
    await bobPage.expectConversations([]);
    await bobPage.expectText(bobPage.line('sidebar-error'), 'You are no longer in Trip.');
  });

  it('says plainly when username look-ups are rate limited', async function () {
    await server.stop();
    server = await startTestServer({ 'auth.userLookupsPerCaller': 3 }, { dataDir, keepDataDir: true });
    const [{ page }] = await people(['Ann']);
    await page.createGroup('Too many', ['nobody_1', 'nobody_2', 'nobody_3', 'nobody_4']);
    await page.expectText(page.line('sidebar-error'), /^Too many look-ups for now: try again in \d+ s\.$/);
  });

  it('pages through a large group\'s members', async function () {
    const [{ who: ann, page }] = await people(['Ann']);
    const owner = await registerOverHttp(server.baseUrl, person('Owner'));
    const http = api(server.baseUrl);
    const others = await Promise.all(Array.from({ length: 54 }, async (_, i) => {
      const res = await http('POST', '/v1/users', { username: uniqueName(`m${i}`), password: SPEC_PASSWORD, displayName: `Member ${i}` });
      expect(res.status, res.text).to.equal(201);
      return res.body.id as string;
    }));
    const annId = (await http('GET', `/v1/users?username=${ann.username}`, undefined, owner.accessToken)).body.id;
    await createGroup(http, owner, [annId, ...others], 'Crowd');

    await page.openConversation('Crowd');
    await page.expectText(page.line('thread-meta'), 'Group · 56 members');
    await page.showMembers();
    await eventually(() => page.members(), (shown) => shown.length === 50, 'the first 50 members');
    await page.page.getByRole('button', { name: 'Show more members' }).click();
    const all = await eventually(() => page.members(), (shown) => shown.length === 56, 'all 56 members');
    expect(all).to.include(`You @${ann.username}`);
    expect(all.filter((line) => line.startsWith('Member ')).length).to.equal(54);
    expect(all.filter((line) => line.endsWith(' owner'))).to.deep.equal([`Owner @${owner.user.username} owner`]);
    expect(await page.page.getByRole('button', { name: 'Show more members' }).isVisible()).to.equal(false);
  });

  it('reconnects after the server restarts and shows the messages missed meanwhile', async function () {
    // The pages reach the server through a forwarder, which keeps their origin across the restart.
    forwarder = await startTcpForwarder(server.port);
    const [{ page: annPage }, { who: bob, page: bobPage }] = await people(['Ann', 'Bob'], `http://127.0.0.1:${forwarder.port}`);
    await annPage.startDirect(bob.username);
    await annPage.send('before the restart');
    await bobPage.openConversation('Ann');
    await bobPage.expectMessages(['Ann: before the restart']);

    // Bob's browser loses the network while the server restarts, and stays away while Ann writes.
    await bobPage.context.setOffline(true);
    forwarder.retarget(null);
    await server.stop();
    await annPage.expectText(annPage.page.locator('#connection'), /^Offline/);
    server = await startTestServer({}, { dataDir, keepDataDir: true });
    forwarder.retarget(server.port);
    await annPage.expectOnline();
    await annPage.send('while you were away');
    await annPage.send('and again');
    await annPage.expectMessages(['You: before the restart', 'You: while you were away', 'You: and again']);
    await bobPage.expectText(bobPage.page.locator('#connection'), /^Offline/);
    expect(await bobPage.messages()).to.deep.equal(['Ann: before the restart']);

    await bobPage.context.setOffline(false);
    await bobPage.expectOnline();
    await bobPage.expectMessages(['Ann: before the restart', 'Ann: while you were away', 'Ann: and again']);
    await annPage.expectText(annPage.line('seen'), 'Seen by Bob');
  });

  it('loads older history a page at a time', async function () {
    const [{ who: ann, page }] = await people(['Ann']);
    const bob = await registerOverHttp(server.baseUrl, person('Bob'));
    const annId = (await api(server.baseUrl)('GET', `/v1/users?username=${ann.username}`, undefined, bob.accessToken)).body.id;
    const direct = await createDirect(api(server.baseUrl), bob, annId);
    const { client } = await connect(server.wsUrl(bob.accessToken));
    await sendMany(client, direct.id, 60, { window: 1, body: (i: number) => ({ text: `message ${i + 1}` }) });

    await page.openConversation('Bob');
    const shown = await eventually(() => page.messages(), (list) => list.length === 50, 'the newest 50 messages');
    expect(shown[0]).to.equal('Bob: message 11');
    expect(shown[49]).to.equal('Bob: message 60');
    await page.page.getByRole('button', { name: 'Load older messages' }).click();
    const all = await eventually(() => page.messages(), (list) => list.length === 60, 'all 60 messages');
    expect(all[0]).to.equal('Bob: message 1');
    await eventually(() => page.page.getByRole('button', { name: 'Load older messages' }).isVisible(), (visible) => !visible, 'no older messages left');
  });
});
