/** Checks of the arguments every log implementation takes, with Kafka's rules. */
import { TroupeError } from '../errors.js';
import type { ConsumerOptions } from './port.js';

/** Kafka's legal topic names: up to 249 of a-z A-Z 0-9 . _ -, and not "." or "..". */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new TroupeError('invalid_argument', `${what} must be a positive integer, got ${value}`);
  }
  return value;
}

export function checkTopicName(topic: string): string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new TroupeError('invalid_argument', `invalid topic name ${JSON.stringify(topic)}`);
  }
  return topic;
}

/** ConsumerOptions checked, with their defaults filled in. */
export interface ConsumerSettings {
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  maxBatchRecords: number;
}

export function consumerSettings(options: ConsumerOptions): ConsumerSettings {
  if (typeof options.groupId !== 'string' || options.groupId === '') {
    throw new TroupeError('invalid_argument', 'consumer groupId must be a non-empty string');
  }
  if (!Array.isArray(options.topics) || options.topics.length === 0) {
    throw new TroupeError('invalid_argument', 'consumer topics must be a non-empty array');
  }
  const maxBatchRecords = options.maxBatchRecords ?? 500;
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1) {
    throw new TroupeError('invalid_argument', `maxBatchRecords must be a positive integer, got ${maxBatchRecords}`);
  }
  return { groupId: options.groupId, topics: [...new Set(options.topics)], fromBeginning: options.fromBeginning ?? false, maxBatchRecords };
}
