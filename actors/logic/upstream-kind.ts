/**
 * How `im-upstream` records become actors: records keyed by a user id go to that user's session
 * actor, records keyed by a conversation id to the conversation actor.
 */
import type { Ref } from 'nact';
import type { LogRecord } from '../../transport/log/port.js';
import { ConversationActor } from '../conversation/conversation-actor.js';
import { USER_ID_PREFIX } from '../ids.js';
import { decodeUpstream } from '../records/codec.js';
import type { UpstreamRecord } from '../records/types.js';
import type { Envelope, HostedKind, UnitContext } from '../runtime/partition-host.js';
import { SessionActor } from '../session/session-actor.js';
import type { LogicDeps } from './deps.js';

export function upstreamKind(deps: LogicDeps): HostedKind<UpstreamRecord> {
  const isUser = (key: string): boolean => key.startsWith(USER_ID_PREFIX);
  return {
    kindOf: (key) => (isUser(key) ? 'session' : 'conversation'),
    decode: (record: LogRecord) => ({ key: record.key, message: decodeUpstream(record.value) }),
    spawn: (parent: Ref<unknown>, key: string, unit: UnitContext): Ref<Envelope<UpstreamRecord>> =>
      isUser(key) ? SessionActor.spawn(parent, key, deps) : ConversationActor.spawn(parent, key, deps, unit),
  };
}
