/**
 * The bundled web client (web/) in a real browser: Debian's Chromium driven by playwright-core.
 *
 * `launchChromium()` finds Chromium and, on a fresh machine, installs it from Debian's packages
 * the way the other test services are installed (bin/services/debian-packages.ts: as root with
 * apt-get, otherwise a message naming the package); it never skips. `ChatPage` is one person
 * using the page: it acts through the labels and roles a person sees, and every `expect…` waits
 * for the page to show something (polling; no fixed sleeps).
 */
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { ensurePrograms } from '../../bin/services/debian-packages.js';
import { SPEC_PASSWORD } from './client.js';
import { waitFor } from './wait-for.js';

/** How long a page may take to show what a step expects. */
const SHOW_MS = 10_000;

/** Debian's Chromium, installed with apt-get first when it is missing. */
export async function chromiumPath(): Promise<string> {
  const [path] = (await ensurePrograms(['chromium'], ['chromium'], 'Chromium')) as [string];
  return path;
}

/** A headless Chromium (no sandbox: CI runs as root; no GPU on these machines). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: await chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

export interface Person {
  username: string;
  displayName: string;
  password?: string;
}

/** Polls `read` until it returns something `matches` accepts; the error names what was awaited. */
export async function eventually<T>(read: () => Promise<T>, matches: (value: T) => boolean, what: string, timeoutMs = SHOW_MS): Promise<T> {
  let last: T | undefined;
  try {
    await waitFor(async () => matches((last = await read())), { timeoutMs, intervalMs: 25, message: what });
  } catch (err) {
    throw new Error(`${(err as Error).message} (last seen: ${JSON.stringify(last)})`);
  }
  return last as T;
}

/** One person at the web client, in a browser context of their own (own storage, own socket). */
export class ChatPage {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
  ) {}

  /** A new context on `baseUrl`; the login form is on screen when it resolves. */
  static async open(browser: Browser, baseUrl: string, viewport = { width: 1100, height: 720 }): Promise<ChatPage> {
    const context = await browser.newContext({ baseURL: baseUrl, viewport, colorScheme: 'light' });
    const page = await context.newPage();
    // Leaving a group asks for confirmation: this person always confirms.
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto('/');
    const chat = new ChatPage(context, page);
    await chat.page.getByRole('button', { name: 'Log in' }).waitFor();
    return chat;
  }

  // ---- logging in

  async register(person: Person): Promise<void> {
    await this.fillLogin(person);
    await this.page.getByLabel(/^Display name/).fill(person.displayName);
    await this.page.getByRole('button', { name: 'Create account' }).click();
    await this.expectOnline();
  }

  async logIn(person: Person): Promise<void> {
    await this.submitLogin(person);
    await this.expectOnline();
  }

  /** Fills the login form and submits it, without waiting for the outcome. */
  async submitLogin(person: Person): Promise<void> {
    await this.fillLogin(person);
    await this.page.getByRole('button', { name: 'Log in' }).click();
  }

  async logOut(): Promise<void> {
    await this.page.getByRole('button', { name: 'Log out' }).click();
    await this.page.getByRole('button', { name: 'Log in' }).waitFor();
  }

  async fillLogin(person: Person): Promise<void> {
    await this.page.getByLabel('Username', { exact: true }).fill(person.username);
    await this.page.getByLabel('Password', { exact: true }).fill(person.password ?? SPEC_PASSWORD);
  }

  /** The connection line says the socket is ready. */
  async expectOnline(): Promise<void> {
    await this.expectText(this.page.locator('#connection'), 'Online');
  }

  // ---- conversations

  /** Opens "New direct conversation" and starts one with `username`. */
  async startDirect(username: string): Promise<void> {
    await this.openDetails('New direct conversation');
    await this.page.getByLabel('Their username').fill(username);
    await this.page.locator('#direct-form').getByRole('button', { name: 'Start' }).click();
  }

  async createGroup(name: string, usernames: string[]): Promise<void> {
    await this.openDetails('New group');
    await this.page.getByLabel('Group name').fill(name);
    await this.page.getByLabel(/^Members’ usernames/).fill(usernames.join(', '));
    await this.page.getByRole('button', { name: 'Create group' }).click();
  }

  async openDetails(summary: string): Promise<void> {
    const details = this.page.locator('details', { has: this.page.locator('summary', { hasText: summary }) });
    if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  }

  /** The sidebar's button for the conversation titled `title`. */
  conversation(title: string): Locator {
    return this.page.locator('#conversation-list button.conversation', { has: this.page.locator('.title', { hasText: exactly(title) }) });
  }

  async openConversation(title: string): Promise<void> {
    await this.conversation(title).click();
    await this.expectText(this.page.locator('#thread-title'), title);
  }

  /** The unread badge of a conversation: '' when it shows none. */
  async badge(title: string): Promise<string> {
    const badge = this.conversation(title).locator('.badge');
    return (await badge.isVisible()) ? ((await badge.textContent()) ?? '') : '';
  }

  async expectBadge(title: string, badge: string): Promise<void> {
    await eventually(() => this.badge(title), (text) => text === badge, `${title}'s unread badge "${badge}"`);
  }

  async expectConversations(titles: string[]): Promise<void> {
    const read = (): Promise<string[]> => this.page.locator('#conversation-list .title').allTextContents();
    await eventually(read, (shown) => JSON.stringify(shown) === JSON.stringify(titles), `conversations ${JSON.stringify(titles)}`);
  }

  // ---- the open conversation

  async send(text: string): Promise<void> {
    await this.page.getByLabel('Message', { exact: true }).fill(text);
    await this.page.getByRole('button', { name: 'Send' }).click();
  }

  /** The open conversation's messages as "sender: text", oldest first (pending ones included). */
  async messages(): Promise<string[]> {
    return this.page.locator('#messages .message').evaluateAll((items) =>
      items.map((item) => `${item.querySelector('.who')?.textContent ?? ''}: ${item.querySelector('.text')?.textContent ?? ''}`),
    );
  }

  async expectMessages(expected: string[]): Promise<void> {
    await eventually(() => this.messages(), (shown) => JSON.stringify(shown) === JSON.stringify(expected), `messages ${JSON.stringify(expected)}`);
  }

  /** Waits until `locator`'s text equals `expected` (a string) or matches it (a RegExp). */
  async expectText(locator: Locator, expected: string | RegExp): Promise<void> {
    const test = typeof expected === 'string' ? (text: string) => text === expected : (text: string) => expected.test(text);
    await eventually(async () => ((await locator.count()) === 0 ? null : ((await locator.first().textContent()) ?? '').trim()), (text) => text !== null && test(text), `text ${String(expected)}`);
  }

  line(id: 'seen' | 'typing' | 'thread-meta' | 'thread-notice' | 'thread-error' | 'sidebar-error' | 'login-error' | 'members-error'): Locator {
    return this.page.locator(`#${id}`);
  }

  // ---- a group's members

  async showMembers(): Promise<void> {
    const toggle = this.page.locator('#members-toggle');
    if ((await toggle.getAttribute('aria-expanded')) !== 'true') await toggle.click();
    await this.page.locator('#members-panel').waitFor();
  }

  /** The member list as shown: "Name @username" (plus " owner"), in the server's order. */
  async members(): Promise<string[]> {
    return this.page.locator('#member-list .member').evaluateAll((items) =>
      items.map((item) => [...item.querySelectorAll('.member-name, .hint, .tag')].map((part) => part.textContent).join(' ')),
    );
  }

  async expectMembers(expected: string[]): Promise<void> {
    const sorted = (list: string[]): string => JSON.stringify([...list].sort());
    await eventually(() => this.members(), (shown) => sorted(shown) === sorted(expected), `members ${JSON.stringify(expected)}`);
  }

  async addMembers(usernames: string[]): Promise<void> {
    await this.page.getByLabel(/^Add people by username/).fill(usernames.join(' '));
    await this.page.locator('#add-members-form').getByRole('button', { name: 'Add' }).click();
  }

  async leaveGroup(): Promise<void> {
    await this.page.getByRole('button', { name: 'Leave group' }).click();
  }

  /** Nothing on screen is a user or conversation id (ids look like `u_…` and `c_…`). */
  async visibleIds(): Promise<string[]> {
    const text = await this.page.locator('body').innerText();
    return text.match(/\b[uc]_[A-Za-z0-9_-]{8,}/g) ?? [];
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

/** A RegExp matching exactly `text`. */
function exactly(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}
