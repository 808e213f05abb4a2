/**
 * The sidebar's list of conversations, most recently active first: one button each, with an
 * unread badge and, for a direct conversation whose peer's presence is known, a dot. Elements
 * are kept per conversation and updated in place, so a render never takes the focus away.
 */
import { arrange, el } from './dom.js';

export class ConversationList {
  /**
   * @param {HTMLUListElement} list
   * @param {HTMLElement} empty shown while there is no conversation
   */
  constructor(list, empty) {
    this.list = list;
    this.empty = empty;
    /** conversation id → its <li> */
    this.items = new Map();
  }

  clear() {
    this.items = new Map();
    this.list.replaceChildren();
  }

  /** @param {Array<{ id: string, title: string, online?: boolean, unread: number, current: boolean }>} rows */
  render(rows) {
    const items = new Map(rows.map((row) => [row.id, this.item(row)]));
    this.items = items;
    arrange(this.list, [...items.values()]);
    this.empty.hidden = rows.length > 0;
  }

  focus(id) {
    this.items.get(id)?.firstElementChild.focus();
  }

  item({ id, title, online, unread, current }) {
    let item = this.items.get(id);
    if (item === undefined) {
      const button = el('button', 'conversation');
      button.type = 'button';
      button.dataset.id = id;
      button.append(el('span', 'dot'), el('span', 'title'), el('span', 'badge'));
      item = el('li');
      item.append(button);
    }
    const button = item.firstElementChild;
    const [dot, label, badge] = button.children;
    const presence = online === undefined ? '' : online ? 'online' : 'offline';
    dot.className = `dot ${presence}`;
    dot.hidden = presence === '';
    label.textContent = title;
    badge.textContent = unread > 0 ? String(unread) : '';
    badge.hidden = unread === 0;
    button.setAttribute('aria-label', [title, presence, unread > 0 ? `${unread} unread` : ''].filter(Boolean).join(', '));
    if (current) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    return item;
  }
}
