/**
 * Finding people: a user by exact username (`GET /v1/users?username=`) and a conversation's
 * members a page at a time (`GET /v1/conversations/:id/members?after=&limit=`). Every user these
 * answers name is handed to `Names`, so the page can show names instead of ids. Refusals become
 * sentences a person can act on (`PeopleError`).
 */
import { ApiError } from './session.js';

const USERNAME = /^[a-z0-9_.-]{3,32}$/;

/**
 * A refusal to show as it is: its message is written for the person using the page. `missing`
 * names the username when the refusal is about that name (no such user, or not a username).
 */
export class PeopleError extends Error {
  constructor(message, missing = '') {
    super(message);
    this.missing = missing;
  }
}

export class Directory {
  /**
   * @param {import('./session.js').Session} session
   * @param {import('./names.js').Names} names
   */
  constructor(session, names) {
    this.session = session;
    this.names = names;
    /** conversation id → the first page of its members while it loads, so callers share it */
    this.firstPages = new Map();
  }

  /** The user with exactly this username (an "@" in front is allowed); their id. */
  async find(typed) {
    const username = typed.trim().replace(/^@/, '').toLowerCase();
    if (!USERNAME.test(username)) {
      throw new PeopleError(`“${typed.trim()}” is not a username: usernames are 3 to 32 of a-z, 0-9, “_”, “.” and “-”.`, typed.trim());
    }
    const known = this.names.idOf(username);
    if (known !== undefined) return known;
    try {
      const user = await this.session.request('GET', `/v1/users?username=${encodeURIComponent(username)}`);
      this.names.know(user);
      return user.id;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') throw new PeopleError(`No one has the username “${username}”.`, username);
      if (err instanceof ApiError && err.code === 'rate_limited') {
        throw new PeopleError(`Too many look-ups for now: try again${err.retryAfter > 0 ? ` in ${err.retryAfter} s` : ' in a minute'}.`);
      }
      throw err;
    }
  }

  /**
   * The ids of several usernames, in order, looked up one after the other (look-ups are rate
   * limited); a single refusal names every username that matched no one.
   */
  async findAll(usernames) {
    const ids = [];
    const refusals = [];
    for (const username of usernames) {
      try {
        ids.push(await this.find(username));
      } catch (err) {
        if (!(err instanceof PeopleError) || err.missing === '') throw err;
        refusals.push(err);
      }
    }
    if (refusals.length === 1) throw refusals[0];
    if (refusals.length > 1) throw new PeopleError(`No one has these usernames: ${refusals.map((err) => `“${err.missing}”`).join(', ')}.`);
    return ids;
  }

  /** One page of a conversation's members, ordered by id: `{ members, more }`. */
  async members(conv, after = '', limit = 100) {
    const query = `limit=${limit}${after === '' ? '' : `&after=${encodeURIComponent(after)}`}`;
    const page = await this.session.request('GET', `/v1/conversations/${encodeURIComponent(conv)}/members?${query}`);
    for (const member of page.members) this.names.know(member);
    return page;
  }

  /**
   * Loads a conversation's first page of members once (to name its people); later calls share
   * it, and a failure is not retried before `forget()` (the page calls it on every reconnect).
   */
  nameMembers(conv) {
    if (!this.firstPages.has(conv)) this.firstPages.set(conv, this.members(conv).catch(() => undefined));
    return this.firstPages.get(conv);
  }

  /** Forgets which member lists were loaded (one conversation's, or all), so that the next need loads them again. */
  forget(conv) {
    if (conv === undefined) this.firstPages = new Map();
    else this.firstPages.delete(conv);
  }
}
