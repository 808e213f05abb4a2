/**
 * The checks every `appendMessages` path makes (knex.ts, sqlite-append.ts, mysql-append.ts),
 * written once so that the SQL paths differ only in how they talk to their database: which
 * epoch each unit is raised to, when a fence is stale, and how a span that does not continue
 * its conversation is refused.
 */
import { TroupeError } from '../errors.js';
import { StaleEpochError, type Fence } from './port.js';

/** The seqs one call appends to one conversation (computed by the caller, in lock order). */
export interface SeqSpan {
  conv: string;
  first: number;
  last: number;
  count: number;
  lastTs: number;
}

/** The newest epoch given per unit: what each unit's epochs row is raised to. */
export function newestEpochs(fences: readonly Fence[]): Map<string, number> {
  const newest = new Map<string, number>();
  for (const f of fences) newest.set(f.unit, Math.max(newest.get(f.unit) ?? f.epoch, f.epoch));
  return newest;
}

/** Throws StaleEpochError for the first fence older than its unit's stored epoch. */
export function refuseStale(op: string, fences: readonly Fence[], stored: ReadonlyMap<string, number>): void {
  for (const f of fences) {
    const current = stored.get(f.unit) ?? f.epoch;
    if (current > f.epoch) throw new StaleEpochError(op, f.unit, f.epoch, current);
  }
}

/** Whether the span's seqs follow one another without a hole (only then can it move last_seq). */
export function isGapFree(span: SeqSpan): boolean {
  return span.last - span.first + 1 === span.count;
}

/** The refusal of a span that did not move its conversation's last seq (`lastSeq` undefined: no such conversation). */
export function spanRefusal(span: SeqSpan, lastSeq: number | undefined): TroupeError {
  if (lastSeq === undefined) return new TroupeError('not_found', `appendMessages: conversation ${span.conv} does not exist`);
  return new TroupeError(
    'conflict',
    `appendMessages: seqs ${span.first}..${span.last} (${span.count} messages) do not continue last seq ${lastSeq} of ${span.conv}`,
  );
}
