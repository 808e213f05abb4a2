/**
 * `npm run screenshots [-- <folder>]`: pictures of the bundled web client's main screens, taken in
 * Debian's Chromium (installed from Debian first when missing, as for the browser specs) against a
 * throwaway embedded server, into docs/screenshots/ by default:
 *
 *   login.png          the login form
 *   conversations.png  the conversation list with unread badges
 *   thread.png         a direct conversation with "Seen by" and "… is typing"
 *   members.png        a group's member list, as its owner sees it
 *
 * Three people (Ann, Bob, Cat) each use a browser context of their own; every step waits for the
 * page to show its result, as in spec/browser/web-client.spec.ts.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatPage, launchChromium, type Person } from '../support/browser.js';
import { startTestServer } from '../support/server.js';

const DEFAULT_FOLDER = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const VIEWPORT = { width: 1000, height: 620 };

const ann: Person = { username: 'ann', displayName: 'Ann Lee' };
const bob: Person = { username: 'bob', displayName: 'Bob Marsh' };
const cat: Person = { username: 'cat', displayName: 'Cat Diaz' };

async function main(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const server = await startTestServer();
  const browser = await launchChromium();
  try {
    const open = (): Promise<ChatPage> => ChatPage.open(browser, server.baseUrl, VIEWPORT);
    const [annPage, bobPage, catPage] = await Promise.all([open(), open(), open()]);
    const shoot = async (page: ChatPage, name: string): Promise<void> => {
      await page.page.screenshot({ path: join(folder, name) });
      console.log(join(folder, name));
    };
    await shoot(annPage, 'login.png');
    await annPage.register(ann);
    await bobPage.register(bob);
    await catPage.register(cat);

    await catPage.createGroup('Weekend trip', [ann.username, bob.username]);
    await catPage.expectText(catPage.page.locator('#thread-title'), 'Weekend trip');
    for (const text of ['Train leaves at 9:40 on Saturday', 'I booked the hut for two nights', 'Who brings the stove?']) await catPage.send(text);
    await bobPage.startDirect(ann.username);
    await bobPage.expectText(bobPage.page.locator('#thread-title'), 'Ann Lee');
    await bobPage.send('Hi Ann! Are you coming on Saturday?');
    await bobPage.send('Cat has the tickets.');
    await annPage.expectBadge('Bob Marsh', '2');
    await annPage.expectBadge('Weekend trip', '3');
    await shoot(annPage, 'conversations.png');

    await annPage.openConversation('Bob Marsh');
    await annPage.send('Yes, I am in. I can bring the stove.');
    await annPage.expectText(annPage.line('seen'), 'Seen by Bob Marsh');
    await bobPage.page.getByLabel('Message', { exact: true }).fill('Great, then I');
    await annPage.expectText(annPage.line('typing'), 'Bob Marsh is typing…');
    await shoot(annPage, 'thread.png');

    await catPage.showMembers();
    await catPage.expectMembers(['You @cat owner', 'Ann Lee @ann', 'Bob Marsh @bob']);
    await catPage.page.getByLabel(/^Add people by username/).fill('dan');
    await shoot(catPage, 'members.png');
  } finally {
    await browser.close();
    await server.stop();
  }
}

await main(resolve(process.argv[2] ?? DEFAULT_FOLDER));
