/**
 * The open conversation's messages on the page: stored ones in seq order, then the user's own
 * messages still waiting for their ack. Elements are made once per message and reused (a pending
 * message's element becomes the stored one when its ack comes), so a render only adds what is new.
 */
import { arrange, el } from './dom.js';

/** Closer to the bottom than this (px) counts as "at the bottom": new messages keep it there. */
const STICKY_PX = 48;

export class MessageList {
  /**
   * @param {HTMLOListElement} list
   * @param {HTMLElement} scroller the scrolling box around the list
   * @param {{ nameOf: (userId: string) => string, meId: () => string }} people
   */
  constructor(list, scroller, people) {
    this.list = list;
    this.scroller = scroller;
    this.people = people;
    /** key (`s<seq>` or `p<clientId>`) → element */
    this.shown = new Map();
  }

  clear() {
    this.shown = new Map();
    this.list.replaceChildren();
  }

  /** A pending message was stored: its element now stands for the stored message. */
  settle(clientId, seq) {
    const element = this.shown.get(`p${clientId}`);
    if (element === undefined) return;
    this.shown.delete(`p${clientId}`);
    this.shown.set(`s${seq}`, element);
  }

  /** @param {Array<{ seq: number, from: string, body: object, ts: number }>} stored in seq order */
  render(stored, pending) {
    const stick = this.atBottom();
    const items = stored.map((m) => ({ key: `s${m.seq}`, from: m.from, body: m.body, ts: m.ts, pending: null }));
    for (const p of pending) items.push({ key: `p${p.id}`, from: this.people.meId(), body: p.body, ts: null, pending: p });
    const shown = new Map();
    const elements = items.map((item) => {
      const element = this.shown.get(item.key) ?? this.element(item);
      paintStatus(element, item);
      shown.set(item.key, element);
      return element;
    });
    this.shown = shown;
    arrange(this.list, elements);
    if (stick) this.scrollToBottom();
  }

  /** Names may have been learned since the elements were made: shows the current ones. */
  rename() {
    for (const who of this.list.querySelectorAll('.who')) who.textContent = this.people.nameOf(who.dataset.from);
  }

  atBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.scroller;
    return scrollHeight - scrollTop - clientHeight < STICKY_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  element({ from, body }) {
    const li = el('li', from === this.people.meId() ? 'message mine' : 'message');
    const meta = el('p', 'meta');
    const who = el('span', 'who', this.people.nameOf(from));
    who.dataset.from = from;
    meta.append(who, el('time', 'when'));
    const text = typeof body?.text === 'string' ? body.text : '(a message without text)';
    li.append(meta, el('p', 'text', text), el('p', 'status'));
    return li;
  }
}

/** Time and delivery state; repainted only when they change, so its buttons keep their focus. */
function paintStatus(li, { ts, pending }) {
  const paint = pending === null ? `stored ${ts}` : `${pending.status} ${pending.error}`;
  if (li.dataset.paint === paint) return;
  li.dataset.paint = paint;
  const when = li.querySelector('.when');
  const status = li.querySelector('.status');
  when.textContent = ts === null ? '' : new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (ts !== null) when.dateTime = new Date(ts).toISOString();
  li.classList.toggle('pending', pending !== null && pending.status !== 'failed');
  li.classList.toggle('failed', pending?.status === 'failed');
  status.replaceChildren();
  if (pending === null) return;
  if (pending.status === 'failed') {
    status.append(el('span', '', `Not sent: ${pending.error} `), actionButton('Retry', 'retry', pending.id), actionButton('Discard', 'discard', pending.id));
  } else {
    status.textContent = pending.status === 'sent' ? 'Sending…' : 'Waiting for the connection…';
  }
}

function actionButton(label, action, clientId) {
  const button = el('button', 'link', label);
  button.type = 'button';
  button.dataset.action = action;
  button.dataset.ref = clientId;
  return button;
}
