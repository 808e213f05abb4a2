/**
 * Display names of other users. The protocol has no user lookup, so the page sends its user's
 * display name inside each message body (`displayName` beside `text`; bodies are stored as
 * given) and learns other people's names from the messages it receives. The server sets `from`,
 * so a name can only ever be attached to its sender's own id. Names are kept in localStorage
 * until logout, so that conversation titles survive a reload.
 */
const NAMES_KEY = 'troupe.names';
const MAX_NAME_CHARS = 64;

export class Names {
  constructor() {
    this.meId = null;
    this.known = new Map();
  }

  /** Starts a login: the user's own id, and the names learned before. */
  open(meId) {
    this.meId = meId;
    try {
      this.known = new Map(Object.entries(JSON.parse(localStorage.getItem(NAMES_KEY) ?? '{}')));
    } catch {
      this.known = new Map();
    }
  }

  /** Forgets everything (logout). */
  clear() {
    this.meId = null;
    this.known = new Map();
    localStorage.removeItem(NAMES_KEY);
  }

  /** "You", a learned display name, or a shortened id. */
  of(userId) {
    if (userId === this.meId) return 'You';
    return this.known.get(userId) ?? (userId.length > 12 ? `${userId.slice(0, 10)}…` : userId);
  }

  /** Takes the sender's display name from a stored message, if it carries one. */
  learn({ from, body }) {
    const name = typeof body?.displayName === 'string' ? body.displayName.slice(0, MAX_NAME_CHARS) : '';
    if (name === '' || from === this.meId || this.known.get(from) === name) return;
    this.known.set(from, name);
    localStorage.setItem(NAMES_KEY, JSON.stringify(Object.fromEntries(this.known)));
  }
}
