/**
 * Records between the log port and kafkajs, in both directions.
 *
 * Keys are UTF-8 strings, values are bytes as given (the codec lives above the port), headers are
 * strings (UTF-8). A header that another Kafka client wrote more than once keeps its last value.
 * Values are not copied: a produced value is wrapped in a Buffer over the same memory, and a
 * consumed value is kafkajs' Buffer (itself a Uint8Array).
 */

import type { IHeaders, KafkaMessage } from 'kafkajs';
import { TroupeError } from '../errors.js';
import type { KeyedMessage } from './kafka-send-batcher.js';
import type { LogHeaders, LogRecord, ProduceRecord } from './port.js';

const EMPTY = Buffer.alloc(0);

/** Checks a produce call's records and turns them into kafkajs messages; throws `invalid_argument`. */
export function toKafkaMessages(records: readonly ProduceRecord[]): KeyedMessage[] {
  if (!Array.isArray(records)) throw new TroupeError('invalid_argument', 'records must be an array');
  const messages = new Array<KeyedMessage>(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (typeof record.key !== 'string' || record.key === '') {
      throw new TroupeError('invalid_argument', 'a record key must be a non-empty string');
    }
    if (!(record.value instanceof Uint8Array)) {
      throw new TroupeError('invalid_argument', 'a record value must be a Uint8Array');
    }
    const value = Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
    messages[i] = record.headers === undefined ? { key: record.key, value } : { key: record.key, value, headers: record.headers };
  }
  return messages;
}

export function toLogRecord(topic: string, partition: number, message: KafkaMessage): LogRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? '' : message.key.toString('utf8'),
    value: message.value ?? EMPTY,
    headers: toLogHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

function toLogHeaders(headers: IHeaders | undefined): LogHeaders {
  const out: LogHeaders = {};
  if (headers === undefined) return out;
  for (const name of Object.keys(headers)) {
    let value = headers[name];
    if (Array.isArray(value)) value = value[value.length - 1];
    if (value !== undefined) out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out;
}
