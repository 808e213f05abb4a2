/**
 * The dead-letter topic (`im-dead-letter` by default): where a partition host parks a record it
 * gave up on as poison (it could not be decoded, or it crashed or hung its actor on every
 * attempt), so that it cannot block the records behind it and is not lost either.
 *
 * A parked record keeps its key, value and headers, and gains headers saying where it came from
 * and why it was parked. An operator reads them with any Kafka tool (in embedded mode the topic
 * is in memory, and every park is also logged with the record's position), fixes the cause, and
 * can produce the value again to its source topic.
 */
import { asTroupeError, retry, type TroupeError } from '../../transport/errors.js';
import type { LogHeaders, LogRecord, Producer } from '../../transport/log/port.js';

/** Header names a parked record carries besides its own. */
export const DEAD_LETTER_HEADERS = {
  source: 'troupe-dl-source',
  code: 'troupe-dl-code',
  error: 'troupe-dl-error',
  attempts: 'troupe-dl-attempts',
  parkedAt: 'troupe-dl-parked-at',
} as const;

/** Longest error text kept in a header: enough to read, never a dump of a hostile value. */
const MAX_ERROR_CHARS = 512;

export interface DeadLetters {
  /** Appends `record` to the dead-letter topic; rejects only when the log refused it repeatedly. */
  park(record: LogRecord, error: TroupeError, attempts: number): Promise<void>;
}

export function deadLetterTopic(producer: Producer, topic: string): DeadLetters {
  return {
    async park(record, error, attempts) {
      const headers: LogHeaders = {
        ...record.headers,
        [DEAD_LETTER_HEADERS.source]: `${record.topic}/${record.partition}@${record.offset}`,
        [DEAD_LETTER_HEADERS.code]: error.code,
        [DEAD_LETTER_HEADERS.error]: error.message.slice(0, MAX_ERROR_CHARS),
        [DEAD_LETTER_HEADERS.attempts]: String(attempts),
        [DEAD_LETTER_HEADERS.parkedAt]: String(Date.now()),
      };
      // The key is the source key when it is usable; a record with an empty key (it could not
      // even be routed) is parked under its position.
      const key = record.key.length > 0 ? record.key : `${record.topic}/${record.partition}@${record.offset}`;
      try {
        await retry(() => producer.send(topic, [{ key, value: record.value, headers }]), { attempts: 5, initialDelayMs: 100 });
      } catch (err) {
        throw asTroupeError(err);
      }
    },
  };
}
