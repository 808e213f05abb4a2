// @ts-check
/* global __VU */
/**
 * sync: reconnect and catch up from history (docs/protocol.md, "History, sync and gap detection").
 * setup() registers 2 × PAIRS users and gives each pair its direct conversation. Each VU plays one
 * pair, sender A and reader B:
 *   1. both connect; A sends LIVE messages, timed at B as pushes;
 *   2. B disconnects; A sends OFFLINE messages, acked but pushed to nobody;
 *   3. B reconnects, checks that `ready` shows the new lastSeq, and pulls what it missed with
 *      `sync` pages of SYNC_LIMIT from the seq it held, until `more` is false
 *      (troupe_sync_ms: first `sync` sent → last page in). A missed message not in the history
 *      counts as undelivered.
 *
 *   k6 run -e TROUPE_URL=http://127.0.0.1:8080 bench/k6/sync.js
 *
 * Knobs (-e NAME=value): PAIRS (50, the most VUs), LIVE (10), OFFLINE (200), RATE (10 messages a
 * second from A), SYNC_LIMIT (100, the server cuts pages at 500), RAMP (30s), HOLD (2m),
 * DRAIN_MS (10000), ACK_P99_MS (100), DELIVERY_P99_MS (100), SYNC_P99_MS (500), USER_PREFIX.
 */
import { check } from 'k6';
import { clearTimeout, setTimeout } from 'k6/timers';
import { registerPairs, userPrefix } from './lib/api.js';
import { COMMON_OPTIONS, intFromEnv, messagingThresholds, numberFromEnv, rampingScenario } from './lib/env.js';
import { Ledger, messageIdPrefix, openLoop, runTag } from './lib/ledger.js';
import { syncLatency, touchErrorCounters, undelivered } from './lib/metrics.js';
import { TroupeSocket } from './lib/socket.js';

const PAIRS = intFromEnv('PAIRS', 50);
const LIVE = intFromEnv('LIVE', 10);
const OFFLINE = intFromEnv('OFFLINE', 200);
const RATE = numberFromEnv('RATE', 10);
const SYNC_LIMIT = intFromEnv('SYNC_LIMIT', 100);
const DRAIN_MS = intFromEnv('DRAIN_MS', 10000);
const ITERATION_SECONDS = Math.ceil((LIVE + OFFLINE) / RATE + (3 * DRAIN_MS) / 1000) + 10;

/** @type {import('k6/options').Options} */
export const options = {
  ...COMMON_OPTIONS,
  scenarios: { sync: rampingScenario(PAIRS, '30s', ITERATION_SECONDS) },
  thresholds: { ...messagingThresholds(100, 100), troupe_sync_ms: [`p(99)<${intFromEnv('SYNC_P99_MS', 500)}`] },
};

/** @typedef {import('./lib/api.js').Pair} Pair */

/** @returns {{ run: string, pairs: Pair[] }} */
export function setup() {
  return { run: runTag(), pairs: registerPairs(PAIRS, userPrefix('s')) };
}

/**
 * Pulls `conv` into `reader` from `after` with sync pages until `more` is false; crosses each
 * message sent by `senderId` off `missing`. Resolves true when the last page is in, false on
 * DRAIN_MS without it.
 * @param {TroupeSocket} reader
 * @param {string} conv
 * @param {number} after
 * @param {string} senderId
 * @param {Set<string>} missing
 * @returns {Promise<boolean>}
 */
function pullHistory(reader, conv, after, senderId, missing) {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), DRAIN_MS);
    reader.onHistory = (page) => {
      if (page.conv !== conv) return;
      for (const message of page.messages) if (message.from === senderId) missing.delete(message.id);
      const last = page.messages[page.messages.length - 1];
      if (page.more && last) {
        reader.send({ type: 'sync', conv, after: last.seq, limit: SYNC_LIMIT });
        return;
      }
      syncLatency.add(Date.now() - started);
      clearTimeout(timer);
      resolve(true);
    };
    reader.send({ type: 'sync', conv, after, limit: SYNC_LIMIT });
  });
}

/** @param {{ run: string, pairs: Pair[] }} data */
export default async function (data) {
  const pair = /** @type {Pair} */ (data.pairs[(__VU - 1) % data.pairs.length]);
  const prefix = messageIdPrefix(data.run);
  const ledger = new Ledger();
  const a = new TroupeSocket(pair.a);
  const b = new TroupeSocket(pair.b);
  ledger.watch(a);
  ledger.watch(b);
  const [readyA, readyB] = await Promise.all([a.ready, b.ready]);
  if (!check({ readyA, readyB }, { 'both users ready': (r) => r.readyA !== null && r.readyB !== null })) {
    await Promise.all([a.close(), b.close()]);
    touchErrorCounters();
    return;
  }

  // 1. Live: A's messages are pushed to B.
  await openLoop(LIVE, RATE, (k, intendedAt) => ledger.send(a, pair.conv, `${prefix}l${k}`, intendedAt, [b]));
  await ledger.drain(DRAIN_MS);
  const have = b.have(pair.conv);
  await b.close();

  // 2. Offline: A's messages are stored (acked) while B is away.
  /** @type {Set<string>} */
  const missing = new Set();
  await openLoop(OFFLINE, RATE, (k, intendedAt) => {
    const id = `${prefix}o${k}`;
    missing.add(id);
    ledger.send(a, pair.conv, id, intendedAt, []);
  });
  await ledger.drain(DRAIN_MS);
  ledger.close();

  // 3. B comes back and catches up from what it held.
  const back = new TroupeSocket(pair.b);
  const readyBack = await back.ready;
  if (readyBack !== null) {
    const lastAcked = a.lastAckSeq.get(pair.conv) ?? 0;
    check(readyBack, { 'ready shows the messages sent while away': (r) => (r.conversations.find((c) => c.id === pair.conv)?.lastSeq ?? -1) >= lastAcked });
    back.trackFrom(pair.conv, have);
    const complete = await pullHistory(back, pair.conv, have, pair.a.id, missing);
    check({ complete, gaps: back.gaps(pair.conv) }, {
      'history pulled to the end': (r) => r.complete,
      'no seq gap after sync': (r) => r.gaps.length === 0,
    });
  }
  undelivered.add(missing.size);
  await Promise.all([a.close(), back.close()]);
  touchErrorCounters();
}
