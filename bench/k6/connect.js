// @ts-check
/* global __VU */
/**
 * connect: many authenticated sockets at once. setup() registers and logs in USERS users. Each
 * VU opens SOCKETS_PER_VU sockets at once, one per user of its slice (VU n takes users
 * (n-1)·SOCKETS_PER_VU onwards), and times each socket from creation to its `ready` frame
 * (troupe_ready_ms) and the whole slice from the first creation to the last `ready`
 * (troupe_all_ready_ms). The sockets then stay open, idle, for HOLD_S seconds, each sending the
 * keep-alive `ping` the protocol asks for (once when ready, checked to be answered, then every
 * PING_EVERY_S seconds), and close. One iteration per VU, all VUs at once: a connection storm of
 * USERS sockets.
 *
 *   k6 run -e TROUPE_URL=http://127.0.0.1:8080 -e USERS=10000 bench/k6/connect.js
 *
 * Knobs (-e NAME=value): USERS (1000), SOCKETS_PER_VU (100), HOLD_S (60), PING_EVERY_S (30),
 * READY_P99_MS (1000), ALL_READY_MS (10000), USER_PREFIX (reuse users). The server's memory per
 * idle socket is not measured here (`troupe bench connect` does, from the server's side).
 */
import { check } from 'k6';
import { Trend } from 'k6/metrics';
import { clearInterval, setInterval, setTimeout } from 'k6/timers';
import { registerUsers, userPrefix } from './lib/api.js';
import { COMMON_OPTIONS, intFromEnv } from './lib/env.js';
import { touchErrorCounters } from './lib/metrics.js';
import { TroupeSocket } from './lib/socket.js';

const USERS = intFromEnv('USERS', 1000);
const SOCKETS_PER_VU = Math.min(intFromEnv('SOCKETS_PER_VU', 100), USERS);
const VUS = Math.ceil(USERS / SOCKETS_PER_VU);
const HOLD_S = intFromEnv('HOLD_S', 60, 0);
const PING_EVERY_S = intFromEnv('PING_EVERY_S', 30);

/** First socket created → last socket `ready`, per VU. */
const allReady = new Trend('troupe_all_ready_ms', true);

/** @type {import('k6/options').Options} */
export const options = {
  ...COMMON_OPTIONS,
  scenarios: {
    connect: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: 1,
      maxDuration: `${HOLD_S + 120}s`,
    },
  },
  thresholds: {
    troupe_ready_ms: [`p(99)<${intFromEnv('READY_P99_MS', 1000)}`],
    troupe_all_ready_ms: [`max<${intFromEnv('ALL_READY_MS', 10000)}`],
    troupe_errors: ['count==0'],
    checks: ['rate==1'],
  },
};

/** @typedef {import('./lib/api.js').Session} Session */

/** @returns {{ users: Session[] }} */
export function setup() {
  return { users: registerUsers(USERS, userPrefix('c')) };
}

/** @param {{ users: Session[] }} data */
export default async function (data) {
  const first = ((__VU - 1) * SOCKETS_PER_VU) % data.users.length;
  const slice = data.users.slice(first, first + SOCKETS_PER_VU);
  const started = Date.now();
  const sockets = slice.map((user) => new TroupeSocket(user));
  const readies = await Promise.all(sockets.map((socket) => socket.ready));
  const ready = check(readies, { 'every socket ready': (r) => r.every((frame) => frame !== null) });
  if (ready) {
    allReady.add(Date.now() - started);
    const pongs = await Promise.all(sockets.map((socket) => socket.ping()));
    check(pongs, { 'every socket answers a ping': (p) => p.every(Boolean) });
    const pinging = setInterval(() => sockets.forEach((socket) => socket.ping()), PING_EVERY_S * 1000);
    await new Promise((resolve) => setTimeout(resolve, HOLD_S * 1000));
    clearInterval(pinging);
    check(sockets, { 'every socket still open after the hold': (all) => all.every((s) => !s.closed) });
  }
  await Promise.all(sockets.map((socket) => socket.close()));
  touchErrorCounters();
}
