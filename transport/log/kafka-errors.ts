/**
 * How kafkajs failures become TroupeErrors (transport/errors.ts) at the edge of the Kafka log.
 *
 * kafkajs wraps errors (a retrier gives up with `KafkaJSNumberOfRetriesExceeded` around the last
 * failure, a non-retriable failure comes wrapped in `KafkaJSNonRetriableError`), so the decision
 * is taken on the whole `cause` chain:
 * - a group membership that ended under the caller (generation over, member unknown, rebalance
 *   under way) is `not_owner`: the caller no longer holds the partition in Kafka's eyes;
 * - an unknown topic or partition is `not_found`;
 * - anything kafkajs calls retriable, or that ran out of retries, is `unavailable` (retriable):
 *   brokers down, leaders moving, timeouts;
 * - everything else is `internal`.
 */

import { TroupeError } from '../errors.js';

/** Protocol error types meaning "this member's generation is over". */
const MEMBERSHIP_LOST = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);

const NOT_FOUND = new Set(['UNKNOWN_TOPIC_OR_PARTITION']);

interface KafkaLikeError {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  message?: unknown;
}

/** The error and its causes, outermost first (bounded, in case of a cycle). */
function chain(err: unknown): KafkaLikeError[] {
  const links: KafkaLikeError[] = [];
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && links.length < 8) {
    if (links.includes(current as KafkaLikeError)) break;
    links.push(current as KafkaLikeError);
    current = (current as KafkaLikeError).cause;
  }
  return links;
}

/** True when kafkajs (or a cause inside it) says the same call may succeed later. */
export function isRetriableKafkaError(err: unknown): boolean {
  return chain(err).some((link) => link.retriable === true || link.name === 'KafkaJSNumberOfRetriesExceeded');
}

/** The protocol error type (e.g. `REBALANCE_IN_PROGRESS`) somewhere in the chain, if any. */
export function kafkaErrorType(err: unknown): string | undefined {
  for (const link of chain(err)) if (typeof link.type === 'string') return link.type;
  return undefined;
}

/** Converts anything kafkajs threw; `what` names the operation for the message. */
export function fromKafkaError(err: unknown, what: string): TroupeError {
  if (err instanceof TroupeError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  const message = `kafka ${what}: ${detail}`;
  const type = kafkaErrorType(err);
  if (type !== undefined && MEMBERSHIP_LOST.has(type)) return new TroupeError('not_owner', message, { cause: err });
  if (type !== undefined && NOT_FOUND.has(type)) return new TroupeError('not_found', message, { cause: err });
  if (isRetriableKafkaError(err)) return new TroupeError('unavailable', message, { cause: err, retriable: true });
  return new TroupeError('internal', message, { cause: err });
}
