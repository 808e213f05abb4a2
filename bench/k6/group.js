// @ts-check
/* global __VU */
/**
 * group: many members online in one conversation. setup() registers GROUPS × GROUP_SIZE users and
 * makes each run of GROUP_SIZE users a group (the first one owns it). Each VU plays one group: it
 * opens a socket for every member, waits until all are `ready`, then sends MESSAGES messages to the
 * group at RATE a second (open loop). The sender rotates through the members, so no connection
 * comes near its frame rate limit; every message is timed at its sender (ack) and at each of the
 * other members (delivery). The iteration ends when every ack and push is in, or DRAIN_MS after
 * the last send.
 *
 *   k6 run -e TROUPE_URL=http://127.0.0.1:8080 -e GROUP_SIZE=5000 bench/k6/group.js
 *
 * Knobs (-e NAME=value): GROUPS (1, the most VUs), GROUP_SIZE (1000 members, all online), RATE
 * (10 messages a second per group), MESSAGES (100 per iteration), RAMP (10s), HOLD (2m),
 * DRAIN_MS (15000), ACK_P99_MS (250), DELIVERY_P99_MS (1000), USER_PREFIX (reuse users).
 */
import { check } from 'k6';
import { createGroup, registerUsers, userPrefix } from './lib/api.js';
import { COMMON_OPTIONS, intFromEnv, messagingThresholds, numberFromEnv, rampingScenario } from './lib/env.js';
import { Ledger, messageIdPrefix, openLoop, runTag } from './lib/ledger.js';
import { touchErrorCounters } from './lib/metrics.js';
import { TroupeSocket } from './lib/socket.js';

const GROUPS = intFromEnv('GROUPS', 1);
const GROUP_SIZE = intFromEnv('GROUP_SIZE', 1000, 2);
const RATE = numberFromEnv('RATE', 10);
const MESSAGES = intFromEnv('MESSAGES', 100);
const DRAIN_MS = intFromEnv('DRAIN_MS', 15000);
const ITERATION_SECONDS = Math.ceil(MESSAGES / RATE + DRAIN_MS / 1000) + 30;

/** @type {import('k6/options').Options} */
export const options = {
  ...COMMON_OPTIONS,
  scenarios: { group: rampingScenario(GROUPS, '10s', ITERATION_SECONDS) },
  thresholds: messagingThresholds(250, 1000),
};

/**
 * @typedef {import('./lib/api.js').Session} Session
 * @typedef {{ conv: string, members: Session[] }} Group
 */

/** @returns {{ run: string, groups: Group[] }} */
export function setup() {
  const users = registerUsers(GROUPS * GROUP_SIZE, userPrefix('g'));
  /** @type {Group[]} */
  const groups = [];
  for (let g = 0; g < GROUPS; g++) {
    const members = users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE);
    const [owner, ...others] = members;
    if (!owner) throw new Error('setup: no users registered');
    groups.push({ conv: createGroup(owner, `k6 group ${g}`, others), members });
  }
  return { run: runTag(), groups };
}

/** @param {{ run: string, groups: Group[] }} data */
export default async function (data) {
  const group = /** @type {Group} */ (data.groups[(__VU - 1) % data.groups.length]);
  const sockets = group.members.map((member) => new TroupeSocket(member));
  const readies = await Promise.all(sockets.map((socket) => socket.ready));
  const ready = check(readies, {
    'every member ready': (r) => r.every((frame) => frame !== null),
    'ready lists the group': (r) => r.every((frame) => frame !== null && frame.conversations.some((c) => c.id === group.conv)),
  });
  if (ready) {
    const ledger = new Ledger();
    for (const socket of sockets) ledger.watch(socket);
    const prefix = messageIdPrefix(data.run);
    await openLoop(MESSAGES, RATE, (k, intendedAt) => {
      const sender = /** @type {TroupeSocket} */ (sockets[k % sockets.length]);
      ledger.send(sender, group.conv, `${prefix}m${k}`, intendedAt, sockets.filter((s) => s !== sender));
    });
    await ledger.drain(DRAIN_MS);
    ledger.close();
    check(sockets, { 'no seq gap at any member': (all) => all.every((s) => s.gaps(group.conv).length === 0) });
  }
  await Promise.all(sockets.map((socket) => socket.close()));
  touchErrorCounters();
}
