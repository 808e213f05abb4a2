/**
 * The open group's members: a panel under the conversation's header listing them by name a page
 * at a time (`GET /v1/conversations/:id/members`, "Show more" while the server has more), with,
 * for the owner, a form that adds people by username and a button per member that removes them,
 * and for everyone a button to leave the group.
 */
import { busy, el, flash } from './dom.js';
import { describe } from './plain-errors.js';

const PAGE = 50;

export class MembersPanel {
  /**
   * @param {{ toggle: HTMLButtonElement, panel: HTMLElement, title: HTMLElement, list: HTMLUListElement,
   *           more: HTMLButtonElement, addForm: HTMLFormElement, addInput: HTMLInputElement,
   *           leave: HTMLButtonElement, error: HTMLElement }} ui
   * @param {{ directory: import('./directory.js').Directory, session: import('./session.js').Session,
   *           names: import('./names.js').Names, onLeft: (conv: string) => void }} deps
   */
  constructor(ui, deps) {
    this.ui = ui;
    this.deps = deps;
    /** The open group's conversation object, or null while no group is open. */
    this.group = null;
    this.members = [];
    this.more = false;
    /** Bumped whenever what the panel shows is replaced, so that a late page is dropped. */
    this.generation = 0;
    ui.toggle.addEventListener('click', () => void this.setOpen(ui.panel.hidden));
    ui.more.addEventListener('click', () => void busy(ui.more, () => this.load(this.members.at(-1)?.id ?? '')));
    ui.addForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void busy(ui.addForm, () => this.add(ui.addInput.value));
    });
    ui.leave.addEventListener('click', () => void busy(ui.leave, () => this.leave()));
    ui.list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-remove]');
      if (button !== null) void busy(button, () => this.remove(button.dataset.remove));
    });
  }

  get open() {
    return !this.ui.panel.hidden;
  }

  /** Follows the open conversation: a group's conversation object, or null for anything else. */
  show(info) {
    const same = this.group?.id === info?.id;
    this.group = info?.type === 'group' ? info : null;
    this.ui.toggle.hidden = this.group === null;
    if (this.group === null) return void this.setOpen(false);
    if (!same) {
      this.generation += 1;
      this.members = [];
      this.more = false;
      this.ui.error.textContent = '';
      if (this.open) void this.reload();
    }
    this.render();
  }

  async setOpen(open) {
    this.ui.panel.hidden = !open;
    this.ui.toggle.setAttribute('aria-expanded', String(open));
    if (open) await this.reload();
  }

  /** Membership of the shown group changed (a `member` frame): show the list as it is now. */
  changed(conv) {
    if (this.group?.id === conv && this.open) void this.reload();
  }

  async reload() {
    this.generation += 1;
    this.members = [];
    this.more = false;
    await this.load('');
  }

  async load(after) {
    const group = this.group;
    const generation = this.generation;
    if (group === null) return;
    try {
      const page = await this.deps.directory.members(group.id, after, PAGE);
      if (generation !== this.generation) return;
      this.members.push(...page.members);
      this.more = page.more;
      this.render();
    } catch (err) {
      if (generation === this.generation) flash(this.ui.error, describe(err));
    }
  }

  async add(typed) {
    const group = this.group;
    const usernames = typed.split(/[\s,]+/).filter((name) => name !== '');
    if (group === null || usernames.length === 0) return;
    this.ui.error.textContent = '';
    try {
      const members = await this.deps.directory.findAll(usernames);
      await this.deps.session.request('POST', `/v1/conversations/${encodeURIComponent(group.id)}/members`, { members });
      this.ui.addInput.value = '';
      if (this.group?.id === group.id) await this.reload();
    } catch (err) {
      flash(this.ui.error, describe(err));
    }
  }

  async remove(userId) {
    const group = this.group;
    if (group === null) return;
    try {
      await this.deps.session.request('DELETE', `/v1/conversations/${encodeURIComponent(group.id)}/members/${encodeURIComponent(userId)}`);
      if (this.group?.id === group.id) await this.reload();
    } catch (err) {
      flash(this.ui.error, describe(err));
    }
  }

  async leave() {
    const group = this.group;
    if (group === null || !confirm(`Leave ${group.name ?? 'this group'}? You will need the owner to add you again.`)) return;
    try {
      await this.deps.session.request('DELETE', `/v1/conversations/${encodeURIComponent(group.id)}/members/${encodeURIComponent(this.deps.names.meId)}`);
      this.deps.onLeft(group.id);
    } catch (err) {
      flash(this.ui.error, describe(err));
    }
  }

  /** Draws the list again (also when names change). */
  render() {
    const group = this.group;
    if (group === null) return;
    const { names } = this.deps;
    const owner = group.owner === names.meId;
    this.ui.title.textContent = `Members (${group.memberCount})`;
    this.ui.toggle.textContent = `Members (${group.memberCount})`;
    this.ui.addForm.hidden = !owner;
    this.ui.more.hidden = !this.more;
    this.ui.list.replaceChildren(...this.members.map((member) => {
      const item = el('li', 'member');
      item.dataset.id = member.id;
      item.append(el('span', 'member-name', names.of(member.id)));
      const username = names.usernameOf(member.id);
      if (username !== '') item.append(el('span', 'hint', `@${username}`));
      if (member.id === group.owner) item.append(el('span', 'tag', 'owner'));
      if (owner && member.id !== names.meId) {
        const remove = el('button', 'link', 'Remove');
        remove.type = 'button';
        remove.dataset.remove = member.id;
        remove.setAttribute('aria-label', `Remove ${names.of(member.id)}`);
        item.append(remove);
      }
      return item;
    }));
  }
}
