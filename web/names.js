/**
 * Who is who: user ids to display names and usernames, so that the page never shows an id.
 *
 * Names come from two kinds of source. The server's own answers (the user look-up by username
 * and a conversation's member list, docs/protocol.md) are authoritative. A message body may also
 * carry its sender's `displayName` beside `text` (this page puts it there; the server sets `from`,
 * so such a name can only ever be attached to its sender's own id): it is used until the server
 * has named that user. Names are kept in localStorage until logout, so that titles survive a reload.
 */
const NAMES_KEY = 'troupe.people';
const MAX_NAME_CHARS = 64;

export class Names {
  /** @param {{ onChange: () => void }} hooks onChange: a name the page may show has changed */
  constructor({ onChange }) {
    this.onChange = onChange;
    this.meId = null;
    /** user id → { displayName, username?, sure } (sure: from the server, not from a message body) */
    this.known = new Map();
    /** username → user id, for the look-ups already answered */
    this.byUsername = new Map();
  }

  /** Starts a login: the user, and the names learned before. */
  open(me) {
    this.meId = me.id;
    this.known = new Map();
    this.byUsername = new Map();
    try {
      for (const [id, person] of Object.entries(JSON.parse(localStorage.getItem(NAMES_KEY) ?? '{}'))) this.put(id, person);
    } catch {
      // A damaged store is simply forgotten.
    }
    this.know(me);
  }

  /** Forgets everything (logout). */
  clear() {
    this.meId = null;
    this.known = new Map();
    this.byUsername = new Map();
    localStorage.removeItem(NAMES_KEY);
  }

  /** "You", a display name, or a shortened id while the name is not known yet. */
  of(userId) {
    if (userId === this.meId) return 'You';
    return this.known.get(userId)?.displayName ?? (userId.length > 12 ? `${userId.slice(0, 10)}…` : userId);
  }

  /** The username (without "@"), or '' while it is not known. */
  usernameOf(userId) {
    return this.known.get(userId)?.username ?? '';
  }

  /** The id a username was found under earlier in this login, if any. */
  idOf(username) {
    return this.byUsername.get(username);
  }

  /** True once the server itself has named this user. */
  isSure(userId) {
    return this.known.get(userId)?.sure === true;
  }

  /** A user as the server describes one: `{ id, username, displayName }`. */
  know({ id, username, displayName }) {
    const name = typeof displayName === 'string' && displayName !== '' ? displayName : username;
    this.change(id, { displayName: clip(name), username, sure: true });
  }

  /** Takes the sender's display name from a stored message, unless the server has named them. */
  learn({ from, body }) {
    const name = typeof body?.displayName === 'string' ? clip(body.displayName) : '';
    if (name === '' || this.isSure(from) || this.known.get(from)?.displayName === name) return;
    this.change(from, { displayName: name, sure: false });
  }

  change(id, person) {
    const before = this.known.get(id);
    if (before !== undefined && before.displayName === person.displayName && before.username === person.username && before.sure === person.sure) return;
    this.put(id, person);
    localStorage.setItem(NAMES_KEY, JSON.stringify(Object.fromEntries(this.known)));
    this.onChange();
  }

  put(id, person) {
    this.known.set(id, person);
    if (typeof person.username === 'string' && person.sure) this.byUsername.set(person.username, id);
  }
}

function clip(name) {
  return String(name).slice(0, MAX_NAME_CHARS);
}
