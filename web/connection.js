/**
 * The WebSocket to `/v1/ws`: opened with a fresh access token, kept alive with a ping every
 * 30 s, and reopened after any close with exponential backoff and jitter (0.5 s doubling up to
 * 30 s, as docs/protocol.md suggests). It reports its state for the page to show:
 * `connecting`, `online` (the server's `ready` arrived), `waiting` (with `retryInMs`), `stopped`.
 */

const PING_EVERY_MS = 30_000;
/** No frame at all (not even a pong) for this long: the network is gone without a close. */
const SILENCE_LIMIT_MS = 75_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class Connection {
  /**
   * @param {{ token: (opts: { force: boolean }) => Promise<string>,
   *           onFrame: (frame: object) => void,
   *           onState: (state: { name: string, retryInMs?: number }) => void }} hooks
   */
  constructor({ token, onFrame, onState }) {
    this.hooks = { token, onFrame, onState };
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.pinger = null;
    this.lastHeard = 0;
    /** A socket refused before `ready` may mean an expired token: renew it before retrying. */
    this.renewToken = false;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    void this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.drop(1000, 'logged out');
    this.hooks.onState({ name: 'stopped' });
  }

  /** Skips the rest of the backoff wait (e.g. when the browser comes back online). */
  retryNow() {
    if (this.stopped || this.ws !== null) return;
    clearTimeout(this.retryTimer);
    void this.open();
  }

  /** Sends a frame if the socket is ready; false means not sent (the caller keeps it). */
  send(frame) {
    if (!this.ready) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  async open() {
    this.hooks.onState({ name: 'connecting' });
    let token;
    try {
      token = await this.hooks.token({ force: this.renewToken });
    } catch {
      if (!this.stopped) this.wait();
      return;
    }
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/v1/ws?token=${encodeURIComponent(token)}`);
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      this.pinger = setInterval(() => this.keepAlive(), PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === 'ready') {
        this.ready = true;
        this.attempt = 0;
        this.renewToken = false;
        this.hooks.onState({ name: 'online' });
      }
      this.hooks.onFrame(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.lost();
    };
  }

  keepAlive() {
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) this.lost();
    else if (this.ready) this.send({ type: 'ping' });
  }

  /** The socket closed or went silent: forget it and plan the next attempt. */
  lost() {
    this.renewToken = !this.ready;
    this.drop(4000, 'connection lost');
    if (!this.stopped) this.wait();
  }

  drop(code, reason) {
    clearInterval(this.pinger);
    this.ready = false;
    const ws = this.ws;
    this.ws = null;
    if (ws !== null && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }

  wait() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt += 1;
    this.hooks.onState({ name: 'waiting', retryInMs: delay });
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }
}
