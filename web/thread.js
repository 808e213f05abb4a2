/**
 * One conversation as the page knows it, without any DOM: the server's conversation object, the
 * newest seq and the user's read cursor, and, once opened, a window of stored messages.
 *
 * The window follows docs/protocol.md, "History, sync and gap detection": it holds every message
 * from `first` to `have` with no hole (`have` is the highest seq up to which nothing is missing),
 * plus any message that arrived beyond a gap. `gap` says a `sync` from `have` is due.
 */
export class Thread {
  constructor(info) {
    this.info = info;
    this.lastSeq = info.lastSeq ?? 0;
    this.readSeq = info.readSeq ?? 0;
    this.loaded = false;
    this.messages = new Map();
    this.first = 1;
    this.have = 0;
    /** When the last `sync` was sent; 0 when none is outstanding. */
    this.syncSentAt = 0;
    /** user id → timer that clears their "typing…" */
    this.typing = new Map();
    /** user id → their read cursor, from `read` frames seen since the page loaded */
    this.reads = new Map();
    /** The first page's request while it runs, so that two clicks load it once. */
    this.loading = null;
  }

  get id() {
    return this.info.id;
  }

  get unread() {
    return Math.max(0, this.lastSeq - this.readSeq);
  }

  get gap() {
    return this.loaded && this.have < this.lastSeq;
  }

  /** Takes a newer conversation object (from the list or a `conversation` frame). */
  update(info) {
    this.info = info;
    this.see(info.lastSeq ?? 0, info.readSeq ?? 0);
  }

  /** Raises the newest seq and the read cursor; neither ever moves back. */
  see(lastSeq, readSeq = 0) {
    this.lastSeq = Math.max(this.lastSeq, lastSeq);
    this.readSeq = Math.max(this.readSeq, readSeq);
  }

  /** Opens the window at the page the server gave for `after`: messages after it, oldest first. */
  start(after, messages) {
    this.loaded = true;
    this.first = after + 1;
    this.have = after;
    this.add(messages);
  }

  /** Stored messages (pushed, acked or synced), in any order and possibly repeated. */
  add(messages) {
    for (const message of messages) {
      this.see(message.seq);
      if (this.loaded && message.seq >= this.first) this.messages.set(message.seq, message);
    }
    while (this.messages.has(this.have + 1)) this.have += 1;
  }

  /** Widens the window down to `after + 1` with an older page. */
  addOlder(after, messages) {
    for (const message of messages) if (message.seq > after && message.seq < this.first) this.messages.set(message.seq, message);
    this.first = after + 1;
  }

  /** Every message held, in seq order. */
  sorted() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }
}
