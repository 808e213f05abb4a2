/**
 * Troupe's bundled chat page. It speaks only the public protocol (docs/protocol.md): the HTTP API
 * for accounts, conversation lists and history pages; the WebSocket for everything live.
 * Text from the server is always put on the page with textContent, never parsed as HTML.
 *
 * This file holds the page's state and wiring: logging in, the frames from the server, the
 * user's actions. Its parts: session.js (tokens, HTTP), connection.js (the WebSocket),
 * thread.js (one conversation's seq bookkeeping), names.js and directory.js (who is who, finding
 * people by username), plain-errors.js (refusals as sentences), and the views:
 * conversation-list.js, message-list.js, members-panel.js, dom.js.
 */
import { Connection } from './connection.js';
import { ConversationList } from './conversation-list.js';
import { Directory } from './directory.js';
import { busy, flash } from './dom.js';
import { MembersPanel } from './members-panel.js';
import { MessageList } from './message-list.js';
import { Names } from './names.js';
import { describe, describeFrame } from './plain-errors.js';
import { Session } from './session.js';
import { Thread } from './thread.js';

const PAGE = 50;
const SYNC_LIMIT = 100;
const TYPING_SEND_EVERY_MS = 3_000;
const TYPING_SHOW_MS = 5_000;
/** A `sync` unanswered for this long (its error frame cannot name it) may be sent again. */
const SYNC_RETRY_MS = 5_000;
const MAX_SEND_ATTEMPTS = 5;
/** Error codes after which a re-send with the same id may succeed. */
const RETRIABLE = new Set(['unavailable', 'internal', 'rate_limited']);

const $ = (id) => document.getElementById(id);
const ui = {
  loginView: $('login-view'), loginForm: $('login-form'), loginError: $('login-error'),
  username: $('username'), password: $('password'), displayName: $('display-name'),
  chatView: $('chat-view'), connection: $('connection'), meName: $('me-name'), meUsername: $('me-username'),
  logout: $('logout'),
  conversationList: $('conversation-list'), noConversations: $('no-conversations'),
  directForm: $('direct-form'), peerUsername: $('peer-username'),
  groupForm: $('group-form'), groupName: $('group-name'), groupMembers: $('group-members'),
  sidebarError: $('sidebar-error'),
  back: $('back'), threadTitle: $('thread-title'), threadMeta: $('thread-meta'),
  scroller: $('scroller'), loadOlder: $('load-older'), messages: $('messages'),
  seen: $('seen'), typing: $('typing'), threadNotice: $('thread-notice'), threadError: $('thread-error'),
  composer: $('composer'), messageText: $('message-text'),
};

const names = new Names({ onChange: () => scheduleNames() });
const conversationList = new ConversationList(ui.conversationList, ui.noConversations);
const messageList = new MessageList(ui.messages, ui.scroller, { nameOf: (id) => names.of(id), meId: () => me().id });
const session = new Session({ onEnded: () => leave('Your session has ended. Please log in again.') });
const directory = new Directory(session, names);
const membersPanel = new MembersPanel({
  toggle: $('members-toggle'), panel: $('members-panel'), title: $('members-title'), list: $('member-list'),
  more: $('more-members'), addForm: $('add-members-form'), addInput: $('add-members'), leave: $('leave-group'),
  error: $('members-error'),
}, { directory, session, names, onLeft: (conv) => removeThread(conv) });
const connection = new Connection({
  token: (options) => session.token(options),
  onFrame: (frame) => FRAME_HANDLERS[frame.type]?.(frame),
  onState: showConnection,
});

/** Everything about the logged-in user's chats; replaced on logout. */
let state = emptyState();

function emptyState() {
  return {
    threads: new Map(),
    /** Conversation ids, most recently active first. */
    order: [],
    openId: null,
    /** client id → a message sent but not yet acked: { id, conv, body, status, error, attempts } */
    pending: new Map(),
    /** user id → online, for direct peers whose presence changed since the page loaded */
    presence: new Map(),
    lastTypingSent: 0,
    listLoading: null,
    /** A re-render for changed names is planned (several names often arrive at once). */
    namesPending: false,
  };
}

const me = () => session.user;
const openThread = () => state.threads.get(state.openId);

// ---- logging in and out

ui.loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const register = event.submitter?.value === 'register';
  const username = ui.username.value.trim();
  ui.loginError.textContent = '';
  await busy(ui.loginForm, async () => {
    try {
      if (register) await session.register(username, ui.password.value, ui.displayName.value.trim());
      else await session.login(username, ui.password.value);
      ui.password.value = '';
      enter();
    } catch (err) {
      ui.loginError.textContent = describe(err);
    }
  });
});

ui.logout.addEventListener('click', async () => {
  connection.stop();
  await session.logout();
  leave('');
});

function enter() {
  const user = me();
  names.open(user);
  ui.meName.textContent = user.displayName;
  ui.meUsername.textContent = `@${user.username}`;
  ui.loginView.hidden = true;
  ui.chatView.hidden = false;
  closeThread();
  connection.start();
}

function leave(message) {
  connection.stop();
  for (const thread of state.threads.values()) for (const timer of thread.typing.values()) clearTimeout(timer);
  state = emptyState();
  names.clear();
  directory.forget();
  conversationList.clear();
  closeThread();
  ui.chatView.hidden = true;
  ui.loginView.hidden = false;
  ui.loginError.textContent = message;
  ui.username.focus();
}

// ---- frames from the server

const FRAME_HANDLERS = {
  ready: (frame) => void onReady(frame),
  msg: (message) => onStored(message),
  ack: onAck,
  history: onHistory,
  read: onRead,
  typing: ({ conv, user }) => {
    const thread = state.threads.get(conv);
    if (thread !== undefined && user !== me().id) showTyping(thread, user);
  },
  conversation: ({ conversation }) => {
    upsert(conversation);
    renderList();
    if (conversation.id === state.openId) renderHeader();
  },
  member: onMember,
  presence: ({ user, online }) => {
    state.presence.set(user, online);
    renderList();
    if (state.openId !== null) renderHeader();
  },
  error: onError,
};

/** Every (re)connect: catch up on what was missed, then re-send what was never acked. */
async function onReady({ conversations }) {
  directory.forget(); // member lists may have changed while away (and a failed look-up is tried again)
  const sameSet = conversations.length === state.threads.size && conversations.every((c) => state.threads.has(c.id));
  if (!sameSet) {
    try {
      await loadList();
    } catch (err) {
      flash(ui.sidebarError, describe(err));
    }
  }
  for (const { id, lastSeq, readSeq } of conversations) state.threads.get(id)?.see(lastSeq, readSeq);
  for (const thread of state.threads.values()) {
    thread.syncSentAt = 0;
    if (thread.gap) requestSync(thread);
  }
  for (const pending of state.pending.values()) if (pending.status !== 'failed') transmit(pending);
  renderList();
  const thread = openThread();
  if (thread !== undefined) {
    renderMessages();
    markRead(thread);
  }
}

/** A message pushed to this connection (`msg`). */
function onStored(message) {
  const thread = state.threads.get(message.conv);
  if (thread === undefined) return void refreshList();
  stopTyping(thread, message.from);
  take(thread, [message]);
  if (thread.gap) requestSync(thread);
}

function onAck({ id, conv, seq, ts }) {
  const thread = state.threads.get(conv);
  const pending = state.pending.get(id);
  if (thread === undefined) return;
  if (pending?.conv === conv) {
    take(thread, [{ conv, seq, id, from: me().id, body: pending.body, ts }]);
  } else {
    thread.see(seq);
    changed(thread);
  }
  if (thread.gap) requestSync(thread);
}

function onHistory({ conv, messages, more }) {
  const thread = state.threads.get(conv);
  if (thread === undefined) return;
  const before = thread.have;
  thread.syncSentAt = 0;
  take(thread, messages);
  // Ask again while the server has more, or while a gap remains and the last page helped.
  if (more || (thread.gap && thread.have > before)) requestSync(thread);
}

function onRead({ conv, user, seq }) {
  const thread = state.threads.get(conv);
  if (thread === undefined) return;
  thread.reads.set(user, Math.max(seq, thread.reads.get(user) ?? 0));
  if (conv === state.openId) renderSeen(thread);
}

function onMember({ conv, event, user }) {
  const thread = state.threads.get(conv);
  if (thread === undefined) return;
  if (event === 'left' && user === me().id) {
    removeThread(conv);
    flash(ui.sidebarError, `You are no longer in ${title(thread)}.`);
    return;
  }
  directory.forget(conv);
  membersPanel.changed(conv);
  if (conv === state.openId) {
    if (!names.isSure(user)) void directory.nameMembers(conv);
    flash(ui.threadNotice, `${names.of(user)} ${event === 'joined' ? 'joined' : 'left'}.`);
  }
}

function onError({ ref, code, message }) {
  const pending = ref === undefined ? undefined : state.pending.get(ref);
  if (pending === undefined) return void flash(state.openId === null ? ui.sidebarError : ui.threadError, describeFrame({ code, message }));
  pending.attempts += 1;
  if (RETRIABLE.has(code) && pending.attempts < MAX_SEND_ATTEMPTS) {
    pending.status = 'queued';
    setTimeout(() => state.pending.get(pending.id) === pending && transmit(pending), 1000 * pending.attempts);
  } else {
    pending.status = 'failed';
    pending.error = describeFrame({ code, message });
  }
  if (pending.conv === state.openId) renderMessages();
}

// ---- conversations

async function loadList() {
  const { conversations } = await session.request('GET', '/v1/conversations');
  const ids = conversations.map((info) => upsert(info).id);
  for (const id of [...state.threads.keys()]) if (!ids.includes(id)) removeThread(id);
  state.order = ids;
  renderList();
}

/** Reloads the list once for any number of callers (e.g. a message from an unknown conversation). */
function refreshList() {
  state.listLoading ??= loadList()
    .catch((err) => flash(ui.sidebarError, describe(err)))
    .finally(() => {
      state.listLoading = null;
    });
}

function upsert(info) {
  let thread = state.threads.get(info.id);
  if (thread === undefined) {
    thread = new Thread(info);
    state.threads.set(info.id, thread);
    state.order.unshift(info.id);
  } else {
    thread.update(info);
  }
  return thread;
}

function removeThread(id) {
  const thread = state.threads.get(id);
  if (thread === undefined) return;
  for (const timer of thread.typing.values()) clearTimeout(timer);
  state.threads.delete(id);
  state.order = state.order.filter((other) => other !== id);
  for (const pending of [...state.pending.values()]) if (pending.conv === id) state.pending.delete(pending.id);
  if (state.openId === id) closeThread();
  renderList();
}

/** Stored messages for a conversation: settles our own pending copies, then updates the view. */
function take(thread, messages) {
  const before = thread.lastSeq;
  for (const message of messages) {
    names.learn(message);
    const pending = state.pending.get(message.id);
    if (message.from === me().id && pending?.conv === message.conv) {
      state.pending.delete(message.id);
      messageList.settle(message.id, message.seq);
    }
  }
  thread.add(messages);
  if (thread.lastSeq > before) state.order = [thread.id, ...state.order.filter((id) => id !== thread.id)];
  changed(thread);
}

function changed(thread) {
  renderList();
  if (thread.id !== state.openId) return;
  renderHeader();
  renderMessages();
  markRead(thread);
}

function requestSync(thread) {
  if (Date.now() - thread.syncSentAt < SYNC_RETRY_MS) return;
  if (connection.send({ type: 'sync', conv: thread.id, after: thread.have, limit: SYNC_LIMIT })) thread.syncSentAt = Date.now();
}

/** Tells the server what the user has seen: only while the conversation is on screen. */
function markRead(thread) {
  if (thread.id !== state.openId || document.visibilityState !== 'visible' || thread.have <= thread.readSeq) return;
  if (connection.send({ type: 'read', conv: thread.id, seq: thread.have })) {
    thread.readSeq = thread.have;
    renderList();
  }
}

function history(conv, after, limit) {
  return session.request('GET', `/v1/conversations/${encodeURIComponent(conv)}/messages?after=${after}&limit=${limit}`);
}

/** The newest page of an unopened conversation; the WebSocket fills in from there. */
function loadLatest(thread) {
  thread.loading ??= (async () => {
    const after = Math.max(0, thread.lastSeq - PAGE);
    const page = await history(thread.id, after, PAGE);
    thread.start(after, []);
    take(thread, page.messages);
    if (page.more || thread.gap) requestSync(thread);
  })().finally(() => {
    thread.loading = null;
  });
  return thread.loading;
}

async function showThread(id) {
  const thread = state.threads.get(id);
  if (thread === undefined) return;
  state.openId = id;
  state.lastTypingSent = 0;
  messageList.clear();
  for (const line of [ui.threadNotice, ui.threadError]) line.textContent = '';
  ui.chatView.dataset.pane = 'thread';
  setComposer(true);
  renderHeader();
  renderList();
  renderTyping();
  renderMessages();
  if (!thread.loaded) {
    try {
      await loadLatest(thread);
    } catch (err) {
      flash(ui.threadError, describe(err));
      return;
    }
    if (state.openId !== id) return;
  }
  renderHeader();
  renderMessages();
  messageList.scrollToBottom();
  markRead(thread);
  ui.messageText.focus();
}

function closeThread() {
  state.openId = null;
  messageList.clear();
  ui.chatView.dataset.pane = 'list';
  for (const line of [ui.threadMeta, ui.seen, ui.typing, ui.threadNotice, ui.threadError]) line.textContent = '';
  ui.threadTitle.textContent = 'No conversation open';
  ui.loadOlder.hidden = true;
  membersPanel.show(null);
  setComposer(false);
  renderList();
}

ui.conversationList.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-id]');
  if (button !== null) void showThread(button.dataset.id);
});

ui.back.addEventListener('click', () => {
  const id = state.openId;
  closeThread();
  conversationList.focus(id);
});

ui.loadOlder.addEventListener('click', async () => {
  const thread = openThread();
  if (thread === undefined || thread.first <= 1) return;
  const after = Math.max(0, thread.first - 1 - PAGE);
  await busy(ui.loadOlder, async () => {
    try {
      const page = await history(thread.id, after, thread.first - 1 - after);
      thread.addOlder(after, page.messages);
      for (const message of page.messages) names.learn(message);
      if (state.openId !== thread.id) return;
      const fromBottom = ui.scroller.scrollHeight - ui.scroller.scrollTop;
      renderMessages();
      ui.scroller.scrollTop = ui.scroller.scrollHeight - fromBottom;
      if (ui.loadOlder.hidden) ui.scroller.focus();
    } catch (err) {
      flash(ui.threadError, describe(err));
    }
  });
});

ui.directForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void create(ui.directForm, async () => ({ type: 'direct', peer: await directory.find(ui.peerUsername.value) }));
});

ui.groupForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const usernames = ui.groupMembers.value.split(/[\s,]+/).filter((name) => name !== '');
  void create(ui.groupForm, async () => ({ type: 'group', name: ui.groupName.value.trim(), members: await directory.findAll(usernames) }));
});

/** Creates (or, for a direct one, finds) a conversation from the request `ask` builds, and opens it. */
async function create(form, ask) {
  ui.sidebarError.textContent = '';
  await busy(form, async () => {
    try {
      const thread = upsert(await session.request('POST', '/v1/conversations', await ask()));
      form.reset();
      form.closest('details').open = false;
      await showThread(thread.id);
    } catch (err) {
      flash(ui.sidebarError, describe(err));
    }
  });
}

// ---- sending

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const thread = openThread();
  const text = ui.messageText.value;
  if (thread === undefined || text.trim() === '') return;
  const pending = { id: newClientId(), conv: thread.id, body: { text, displayName: me().displayName }, status: 'queued', error: '', attempts: 0 };
  state.pending.set(pending.id, pending);
  ui.messageText.value = '';
  state.lastTypingSent = 0;
  transmit(pending);
  messageList.scrollToBottom();
});

ui.messageText.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.messageText.addEventListener('input', () => {
  const thread = openThread();
  if (thread === undefined || ui.messageText.value === '' || Date.now() - state.lastTypingSent < TYPING_SEND_EVERY_MS) return;
  if (connection.send({ type: 'typing', conv: thread.id })) state.lastTypingSent = Date.now();
});

ui.messages.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  const pending = button === null ? undefined : state.pending.get(button.dataset.ref);
  if (pending === undefined) return;
  if (button.dataset.action === 'discard') {
    state.pending.delete(pending.id);
    renderMessages();
  } else {
    pending.attempts = 0;
    pending.error = '';
    transmit(pending);
  }
  ui.messageText.focus();
});

/** Sends (or re-sends, with the same client id) a pending message if the socket is ready. */
function transmit(pending) {
  pending.status = connection.send({ type: 'send', id: pending.id, conv: pending.conv, body: pending.body }) ? 'sent' : 'queued';
  if (pending.conv === state.openId) renderMessages();
}

/** A client id of the protocol's alphabet: a UUID, or 32 hex digits where randomUUID is missing (plain http). */
function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- typing

function showTyping(thread, user) {
  clearTimeout(thread.typing.get(user));
  thread.typing.set(user, setTimeout(() => stopTyping(thread, user), TYPING_SHOW_MS));
  if (thread.id === state.openId) renderTyping();
}

function stopTyping(thread, user) {
  clearTimeout(thread.typing.get(user));
  if (thread.typing.delete(user) && thread.id === state.openId) renderTyping();
}

// ---- rendering

function showConnection({ name, retryInMs }) {
  const text = {
    connecting: 'Connecting…',
    online: 'Online',
    waiting: `Offline: reconnecting in ${Math.ceil((retryInMs ?? 0) / 1000)} s`,
    stopped: 'Offline',
  }[name];
  ui.connection.textContent = text;
  ui.connection.dataset.state = name;
}

/** Names arrived or changed: redraws, once, every place that shows one. */
function scheduleNames() {
  if (state.namesPending) return;
  state.namesPending = true;
  queueMicrotask(() => {
    state.namesPending = false;
    if (me() === null) return;
    renderList();
    renderHeader();
    renderTyping();
    messageList.rename();
    membersPanel.render();
    const thread = openThread();
    if (thread !== undefined) renderSeen(thread);
  });
}

/** Asks the server for the members of conversations whose people the page cannot name yet. */
function nameMembers(thread) {
  const unnamed = (thread.info.members ?? []).some((id) => !names.isSure(id));
  if (unnamed || (thread.info.members === undefined && thread.id === state.openId)) void directory.nameMembers(thread.id);
}

function renderList() {
  const threads = state.order.map((id) => state.threads.get(id)).filter((thread) => thread !== undefined);
  for (const thread of threads) if (thread.info.type === 'direct' || thread.id === state.openId) nameMembers(thread);
  conversationList.render(threads.map((thread) => {
    const current = thread.id === state.openId;
    return { id: thread.id, title: title(thread), online: presenceOf(thread), unread: current ? 0 : thread.unread, current };
  }));
  const unread = threads.reduce((sum, thread) => sum + thread.unread, 0);
  document.title = unread > 0 ? `(${unread}) Troupe` : 'Troupe';
}

function renderHeader() {
  const thread = openThread();
  if (thread === undefined) return;
  ui.threadTitle.textContent = title(thread);
  const { info } = thread;
  membersPanel.show(info);
  if (info.type === 'group') {
    ui.threadMeta.textContent = `Group · ${info.memberCount} member${info.memberCount === 1 ? '' : 's'}`;
  } else {
    const online = presenceOf(thread);
    const username = names.usernameOf(peerOf(thread) ?? '');
    ui.threadMeta.textContent = ['Direct', username === '' ? '' : `@${username}`, online === undefined ? '' : online ? 'online' : 'offline']
      .filter(Boolean).join(' · ');
  }
}

function renderMessages() {
  const thread = openThread();
  if (thread === undefined) return;
  messageList.render(thread.sorted(), [...state.pending.values()].filter((pending) => pending.conv === thread.id));
  ui.loadOlder.hidden = !(thread.loaded && thread.first > 1);
  renderSeen(thread);
}

function renderTyping() {
  const thread = openThread();
  const typists = thread === undefined ? [] : [...thread.typing.keys()].map((user) => names.of(user));
  ui.typing.textContent = typists.length === 0 ? '' : `${typists.join(', ')} ${typists.length === 1 ? 'is' : 'are'} typing…`;
}

function renderSeen(thread) {
  const readers = [...thread.reads].filter(([user, seq]) => user !== me().id && thread.have > 0 && seq >= thread.have).map(([user]) => names.of(user));
  ui.seen.textContent = readers.length === 0 ? '' : `Seen by ${readers.join(', ')}`;
}

// ---- small helpers

function title(thread) {
  if (thread.info.type === 'group') return thread.info.name ?? 'Group';
  const peer = peerOf(thread);
  return peer === undefined ? 'Direct conversation' : names.of(peer);
}

function peerOf(thread) {
  return thread.info.type === 'direct' ? thread.info.members?.find((id) => id !== me().id) : undefined;
}

function presenceOf(thread) {
  const peer = peerOf(thread);
  return peer === undefined ? undefined : state.presence.get(peer);
}

function setComposer(enabled) {
  for (const control of ui.composer.elements) control.disabled = !enabled;
  ui.messageText.placeholder = enabled ? 'Write a message (Enter sends, Shift+Enter for a new line)' : 'Pick a conversation to write';
}

// ---- start

document.addEventListener('visibilitychange', () => {
  const thread = openThread();
  if (thread !== undefined) markRead(thread);
});
window.addEventListener('online', () => connection.retryNow());

async function boot() {
  if (!session.hasStoredLogin) return leave('');
  try {
    await session.refresh();
    enter();
  } catch (err) {
    // A refused refresh has already shown the login form (onEnded); anything else is shown here.
    if (err.status !== 401) leave(describe(err));
  }
}

void boot();
