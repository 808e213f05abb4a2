// @ts-check
/* global __VU */
/**
 * direct: one-to-one chat. setup() registers 2 × PAIRS users and gives each pair its direct
 * conversation. Each VU plays one pair: it opens a socket for both users, waits for both `ready`
 * frames, then both users send MESSAGES messages to each other at RATE a second each (open loop),
 * and it times every ack at the sender and every push at the peer. The iteration ends when every
 * ack and push is in, or DRAIN_MS after the last send; what is missing then is counted.
 *
 *   k6 run -e TROUPE_URL=http://127.0.0.1:8080 bench/k6/direct.js
 *
 * Knobs (-e NAME=value): PAIRS (200, the most VUs), RATE (2 messages a second per user; a
 * connection may send 20 frames a second), MESSAGES (60 per user per iteration), RAMP (30s),
 * HOLD (2m), DRAIN_MS (10000), ACK_P99_MS (100), DELIVERY_P99_MS (100), USER_PREFIX (reuse users).
 */
import { check } from 'k6';
import { registerPairs, userPrefix } from './lib/api.js';
import { COMMON_OPTIONS, intFromEnv, messagingThresholds, numberFromEnv, rampingScenario } from './lib/env.js';
import { Ledger, messageIdPrefix, openLoop, runTag } from './lib/ledger.js';
import { touchErrorCounters } from './lib/metrics.js';
import { TroupeSocket } from './lib/socket.js';

const PAIRS = intFromEnv('PAIRS', 200);
const RATE = numberFromEnv('RATE', 2);
const MESSAGES = intFromEnv('MESSAGES', 60);
const DRAIN_MS = intFromEnv('DRAIN_MS', 10000);
const ITERATION_SECONDS = Math.ceil(MESSAGES / RATE + DRAIN_MS / 1000) + 10;

/** @type {import('k6/options').Options} */
export const options = {
  ...COMMON_OPTIONS,
  scenarios: { direct: rampingScenario(PAIRS, '30s', ITERATION_SECONDS) },
  thresholds: messagingThresholds(100, 100),
};

/** @typedef {import('./lib/api.js').Pair} Pair */

/** @returns {{ run: string, pairs: Pair[] }} */
export function setup() {
  return { run: runTag(), pairs: registerPairs(PAIRS, userPrefix('d')) };
}

/** @param {{ run: string, pairs: Pair[] }} data */
export default async function (data) {
  const pair = /** @type {Pair} */ (data.pairs[(__VU - 1) % data.pairs.length]);
  const a = new TroupeSocket(pair.a);
  const b = new TroupeSocket(pair.b);
  const [readyA, readyB] = await Promise.all([a.ready, b.ready]);
  const ready = check({ readyA, readyB }, {
    'both users ready': (r) => r.readyA !== null && r.readyB !== null,
    'ready lists the direct conversation': (r) => [r.readyA, r.readyB].every((f) => f !== null && f.conversations.some((c) => c.id === pair.conv)),
  });
  if (ready) {
    const ledger = new Ledger();
    ledger.watch(a);
    ledger.watch(b);
    const prefix = messageIdPrefix(data.run);
    await Promise.all([
      openLoop(MESSAGES, RATE, (k, intendedAt) => ledger.send(a, pair.conv, `${prefix}a${k}`, intendedAt, [b])),
      openLoop(MESSAGES, RATE, (k, intendedAt) => ledger.send(b, pair.conv, `${prefix}b${k}`, intendedAt, [a])),
    ]);
    await ledger.drain(DRAIN_MS);
    ledger.close();
    check({ a: a.gaps(pair.conv), b: b.gaps(pair.conv) }, {
      'no seq gap at either user': (g) => g.a.length === 0 && g.b.length === 0,
    });
  }
  await Promise.all([a.close(), b.close()]);
  touchErrorCounters();
}
