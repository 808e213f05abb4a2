/**
 * `group`: one group of --members members (default --group-size), of whom --group-size are
 * online with a socket each, --rate messages per second from online members picked at random:
 * delivery latency to every online member, from the intended send time. The online members
 * register through the API, and an all-online group is made through the API. With offline
 * members, those users and the group holding everyone are written straight into the target's
 * storage instead (bench/lib/offline-users.ts: adding them through the API floods the task pool).
 */
import { newId } from '../../actors/ids.js';
import { writeOfflineGroup } from '../lib/offline-users.js';
import { createGroup } from '../lib/population.js';
import { SCENARIO_PARAMS } from '../report/headline-keys.js';
import type { ScenarioRun } from '../report/types.js';
import type { ScenarioContext } from './context.js';
import { ScenarioSession } from './session.js';
import { runTimedLoad } from './timed-load.js';

export const GROUP_DEFAULT_RATE = 10;
export const GROUP_DEFAULT_DURATION = 10;

export async function runGroup(ctx: ScenarioContext): Promise<ScenarioRun> {
  const size = ctx.options.groupSize;
  const members = ctx.options.members ?? size;
  const offlineCount = members - size;
  const { storage } = ctx.target;
  if (offlineCount > 0 && storage === undefined) {
    throw new Error(`--members ${members}: the ${offlineCount} offline members are written into the target's storage, which ${ctx.target.label} does not give this run`);
  }
  const session = await ScenarioSession.open(ctx, size);
  try {
    const users = await session.register();
    let convId: string;
    if (offlineCount === 0) {
      convId = await createGroup(session.apiFor, users, `bench ${ctx.prefix}`);
      ctx.progress(`  created a group of ${size}`);
    } else {
      convId = newId('c');
      ctx.progress(`  writing ${offlineCount} offline users straight into the target's storage`);
      await writeOfflineGroup(storage!, { id: convId, name: `bench ${ctx.prefix}`, prefix: ctx.prefix, offlineCount, onlineIds: users.map((u) => u.userId) }, ctx.progress);
      const { memberCount } = await session.apiFor(0).getConversation(users[0]!, convId);
      if (memberCount !== members) throw new Error(`the server counts ${memberCount} members in the group written, not ${members}`);
      ctx.progress(`  wrote a group of ${members} members into the target's storage, ${size} of them online`);
    }
    await session.connectAll(users);
    return await runTimedLoad(session, {
      scenario: 'group',
      rate: ctx.options.rate ?? GROUP_DEFAULT_RATE,
      durationSec: ctx.options.duration ?? GROUP_DEFAULT_DURATION,
      convIds: [convId],
      recipients: [size - 1],
      slots: users.map((_, u) => [u, 0]),
      pick: 'random',
      params: { [SCENARIO_PARAMS.members]: members, [SCENARIO_PARAMS.groupSize]: size },
      notes: [groupNote(members, size)],
    });
  } finally {
    await session.close();
  }
}

/** What the report says about the group: its members in all and online, and who gets each message. */
export function groupNote(members: number, online: number): string {
  const delivered = `each message is delivered to the ${online - 1} other online members`;
  if (members === online) return `one group of ${online}, all online; ${delivered}`;
  return `one group of ${members} members, ${online} of them online and ${members - online} offline (the offline users and the group written straight into storage); ${delivered}`;
}
