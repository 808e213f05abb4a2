/**
 * `direct`: --pairs direct conversations, both users of each online and sending, --rate messages
 * per second in all, open loop: send i is due at start + i/rate, and ack and delivery latency are
 * measured from that intended time.
 */
import { createPairs } from '../lib/population.js';
import type { ScenarioRun } from '../report/types.js';
import type { ScenarioContext } from './context.js';
import { ScenarioSession } from './session.js';
import { runTimedLoad } from './timed-load.js';

export const DIRECT_DEFAULT_RATE = 300;
export const DIRECT_DEFAULT_DURATION = 10;

export async function runDirect(ctx: ScenarioContext): Promise<ScenarioRun> {
  const { pairs } = ctx.options;
  const session = await ScenarioSession.open(ctx, 2 * pairs);
  try {
    const users = await session.register();
    const convIds = await createPairs(session.apiFor, users);
    ctx.progress(`  created ${convIds.length} direct conversations`);
    await session.connectAll(users);
    return await runTimedLoad(session, {
      scenario: 'direct',
      rate: ctx.options.rate ?? DIRECT_DEFAULT_RATE,
      durationSec: ctx.options.duration ?? DIRECT_DEFAULT_DURATION,
      convIds,
      recipients: convIds.map(() => 1),
      slots: users.map((_, u) => [u, Math.floor(u / 2)]),
      pick: 'round-robin',
      params: { pairs },
      notes: [`${pairs} pairs, both users sending in turn; latency from the intended send time`],
    });
  } finally {
    await session.close();
  }
}
