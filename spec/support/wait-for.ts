/** Test helpers shared by every suite: wait for a condition instead of sleeping, and unique names. */

import { randomBytes } from 'node:crypto';

export { waitFor, type WaitForOptions } from '../../bin/services/wait-for.js';

/** `prefix-<12 hex digits>`: a name no other test (or earlier run) uses. Valid as a Kafka topic. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
