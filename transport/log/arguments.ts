/** Checks of the arguments every log implementation takes, with Kafka's rules. */
import { TroupeError } from '../errors.js';

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
