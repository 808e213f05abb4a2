/**
 * How `im-upstream` records become actors: records keyed by a user id go to that user's session
 * actor, records keyed by a conversation id to the conversation actor. A record its host gives
 * up on (actors/runtime/partition-host.ts) is answered here: the request's reply, or an error
 * frame to the sending connection with the frame's ref.
 */
import type { TroupeError } from '../../transport/errors.js';
import type { LogRecord } from '../../transport/log/port.js';
import { ConversationActor } from '../conversation/conversation-actor.js';
import type { SendPipelineMessage } from '../conversation/send-pipeline.js';
import { USER_ID_PREFIX } from '../ids.js';
import { errorFrame } from '../protocol/frames.js';
import { decodeUpstream } from '../records/codec.js';
import type { UpstreamRecord } from '../records/types.js';
import type { HostedKind } from '../runtime/hosted-kind.js';
import { SessionActor } from '../session/session-actor.js';
import type { LogicDeps } from './deps.js';

export function upstreamKind(deps: LogicDeps): HostedKind<UpstreamRecord> {
  const isUser = (key: string): boolean => key.startsWith(USER_ID_PREFIX);
  return {
    kindOf: (key) => (isUser(key) ? 'session' : 'conversation'),
    decode: (record: LogRecord) => ({ key: record.key, message: decodeUpstream(record.value) }),
    create: (key, unit, post) =>
      isUser(key) ? new SessionActor(key, deps) : new ConversationActor(key, deps, unit, post as (message: SendPipelineMessage) => void),
    refuse: (record, error) => refuseUpstream(deps, record, error),
  };
}

/** Tells the requester of `record` that it was not processed: `unavailable` (try again) or `internal`. */
async function refuseUpstream(deps: LogicDeps, record: UpstreamRecord, error: TroupeError): Promise<void> {
  const code = error.code === 'unavailable' ? 'unavailable' : 'internal';
  const out = deps.outbox.batch();
  if ('reply' in record && record.reply !== undefined) out.replyError(record.reply, code, error.message);
  else if (record.type === 'send') out.toConn(record.from, record.origin, errorFrame(code, error.message, record.clientId));
  else if (record.type === 'read' || record.type === 'typing') out.toConn(record.user, record.origin, errorFrame(code, error.message, record.ref));
  await out.flush();
}
