/**
 * The login: the access token lives in memory, the refresh token in localStorage so that a
 * reload stays logged in. Requests to the HTTP API go through `request`, which renews the access
 * token shortly before it expires and, on a 401, once more before giving up.
 *
 * Refresh tokens are single-use and a reused one ends the whole login (docs/protocol.md,
 * "Refresh: rotation and reuse detection"). So one refresh runs at a time: within a tab through
 * a shared promise, across tabs through a Web Lock, and each refresh reads the newest token from
 * localStorage, which another tab may have rotated meanwhile.
 */

const REFRESH_KEY = 'troupe.refreshToken';
const LOCK_NAME = 'troupe.refresh';
const RETRY_REFRESH_MS = 15_000;

/**
 * A refused request: `status` 0 when the server could not be reached; `retryAfter` the seconds
 * a `429` asks to wait (0 when it does not say).
 */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** One JSON request; resolves with the parsed body (null for 204), rejects with an ApiError. */
export async function call(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'unavailable', 'cannot reach the server');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: a proxy's error page, say; the status tells enough.
  }
  if (res.ok) return data;
  const error = data?.error ?? {};
  const retryAfter = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
  throw new ApiError(res.status, error.code ?? 'internal', error.message ?? `HTTP ${res.status}`, Number.isNaN(retryAfter) ? 0 : retryAfter);
}

export class Session {
  /** @param {{ onEnded: () => void }} hooks onEnded: the login is over (refresh refused). */
  constructor({ onEnded }) {
    this.onEnded = onEnded;
    this.user = null;
    this.accessToken = null;
    this.expiresAt = 0;
    this.refreshing = null;
    this.timer = null;
  }

  get hasStoredLogin() {
    return localStorage.getItem(REFRESH_KEY) !== null;
  }

  async register(username, password, displayName) {
    await call('POST', '/v1/users', { username, password, displayName: displayName || undefined });
    await this.login(username, password);
  }

  async login(username, password) {
    this.adopt(await call('POST', '/v1/sessions', { username, password }));
  }

  /** Renews the access token with the stored refresh token; one at a time (see above). */
  refresh() {
    this.refreshing ??= withLock(() => this.rotate()).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** An access token valid for at least `marginMs` more; `force` renews it regardless. */
  async token({ force = false, marginMs = 10_000 } = {}) {
    if (force || this.accessToken === null || Date.now() > this.expiresAt - marginMs) await this.refresh();
    return this.accessToken;
  }

  /** An authenticated request; a 401 renews the token and tries once more. */
  async request(method, path, body) {
    const token = await this.token();
    try {
      return await call(method, path, body, token);
    } catch (err) {
      if (err.status !== 401) throw err;
      return call(method, path, body, await this.token({ force: true }));
    }
  }

  async logout() {
    const refreshToken = localStorage.getItem(REFRESH_KEY);
    this.forget();
    if (refreshToken !== null) await call('DELETE', '/v1/sessions', { refreshToken }).catch(() => undefined);
  }

  async rotate() {
    const refreshToken = localStorage.getItem(REFRESH_KEY);
    if (refreshToken === null) return this.end();
    try {
      this.adopt(await call('POST', '/v1/sessions/refresh', { refreshToken }));
    } catch (err) {
      if (err.status === 401) return this.end();
      throw err;
    }
  }

  /** Takes a login or refresh answer and plans the next refresh a minute before expiry. */
  adopt({ accessToken, refreshToken, expiresIn, user }) {
    localStorage.setItem(REFRESH_KEY, refreshToken);
    this.accessToken = accessToken;
    this.user = user;
    const lifetimeMs = expiresIn * 1000;
    this.expiresAt = Date.now() + lifetimeMs;
    this.plan(Math.max(lifetimeMs * 0.8, lifetimeMs - 60_000));
  }

  plan(delayMs) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // A network failure keeps the current token and tries again; a 401 has ended the login.
      this.refresh().catch(() => this.accessToken !== null && this.plan(RETRY_REFRESH_MS));
    }, delayMs);
  }

  end() {
    this.forget();
    this.onEnded();
    throw new ApiError(401, 'unauthenticated', 'your session has ended; please log in again');
  }

  forget() {
    clearTimeout(this.timer);
    localStorage.removeItem(REFRESH_KEY);
    this.user = null;
    this.accessToken = null;
    this.expiresAt = 0;
  }
}

/** Runs `fn` under a cross-tab lock where the browser offers one (secure contexts only). */
function withLock(fn) {
  return navigator.locks ? navigator.locks.request(LOCK_NAME, fn) : fn();
}
