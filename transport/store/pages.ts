/**
 * What every paged read of the store shares (listMessages, listMembers): its limit is checked
 * the same way, and it reads one row past the page to learn whether more exist without a count.
 */
import { TroupeError } from '../errors.js';

/** Refuses a page size that is not a positive integer, naming the operation. */
export function checkPageLimit(op: string, limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TroupeError('invalid_argument', `${op}: limit ${limit} is not a positive integer`);
  }
}

/** The page of `rows` (read with `limit + 1`), mapped, and whether rows beyond it exist. */
export function pageOf<R, T>(rows: R[], limit: number, map: (row: R) => T): { rows: T[]; more: boolean } {
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows: rows.map(map), more };
}
