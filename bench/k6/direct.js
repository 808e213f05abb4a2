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
import { createDirects, registerUsers, userPrefix } from './lib/api.js';
import { COMMON_OPTIONS, durationFromEnv, intFromEnv, numberFromEnv } from './lib/env.js';
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
  scenarios: {
    direct: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: durationFromEnv('RAMP', '30s'), target: PAIRS },
        { duration: durationFromEnv('HOLD', '2m'), target: PAIRS },
        { duration: '10s', target: 0 },
      ],
      // Let a pair finish its exchange rather than cutting it (and its accounting) short.
      gracefulRampDown: `${ITERATION_SECONDS}s`,
      gracefulStop: `${ITERATION_SECONDS}s`,
    },
  },
  thresholds: {
    troupe_ack_ms: [`p(99)<${intFromEnv('ACK_P99_MS', 100)}`],
    troupe_delivery_ms: [`p(99)<${intFromEnv('DELIVERY_P99_MS', 100)}`],
    troupe_errors: ['count==0'],
    troupe_unacked: ['count==0'],
    troupe_undelivered: ['count==0'],
    checks: ['rate==1'],
  },
};

/**
 * @typedef {import('./lib/api.js').Session} Session
 * @typedef {{ a: Session, b: Session, conv: string }} Pair
 */

/** @returns {{ run: string, pairs: Pair[] }} */
export function setup() {
  const users = registerUsers(2 * PAIRS, userPrefix('d'));
  /** @type {Array<[Session, Session]>} */
  const pairs = [];
  for (let i = 0; i + 1 < users.length; i += 2) pairs.push([/** @type {Session} */ (users[i]), /** @type {Session} */ (users[i + 1])]);
  const convs = createDirects(pairs);
  return { run: runTag(), pairs: pairs.map(([a, b], i) => ({ a, b, conv: convs[i] ?? '' })) };
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
