/**
 * `group`: one group of --group-size members, every one online, --rate messages per second from
 * members picked at random: delivery latency to every member, from the intended send time.
 */
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
  const session = await ScenarioSession.open(ctx, size);
  try {
    const users = await session.register();
    const convId = await createGroup(session.apiFor, users, `bench ${ctx.prefix}`);
    ctx.progress(`  created a group of ${size}`);
    await session.connectAll(users);
    return await runTimedLoad(session, {
      scenario: 'group',
      rate: ctx.options.rate ?? GROUP_DEFAULT_RATE,
      durationSec: ctx.options.duration ?? GROUP_DEFAULT_DURATION,
      convIds: [convId],
      recipients: [size - 1],
      slots: users.map((_, u) => [u, 0]),
      pick: 'random',
      params: { [SCENARIO_PARAMS.groupSize]: size },
      notes: [`one group of ${size}, all online; each message is delivered to the ${size - 1} other members`],
    });
  } finally {
    await session.close();
  }
}
