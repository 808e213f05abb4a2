/**
 * A conversation write other than a send (member changes, read cursors), fenced by the actor's
 * unit (docs/architecture.md, "Fencing"): the store refuses it with `stale_epoch` when a newer
 * owner of the unit has written. Such a refusal (or `not_owner`) means this node no longer owns
 * the unit, so it is handled as the send pipeline handles one: the unit is fenced (its host stops
 * without committing, and the record goes to the current owner). The requester still gets an
 * answer: the write fails with a retriable `unavailable`, which the actor answers as "try again".
 */
import { asTroupeError, TroupeError } from '../../transport/errors.js';
import type { Fence } from '../../transport/store/port.js';
import type { UnitContext } from '../runtime/hosted-kind.js';

/** Runs `write` with the unit's fence; on `stale_epoch`/`not_owner`, fences the unit and fails with `unavailable`. */
export async function fencedWrite<T>(unit: UnitContext, what: string, write: (fence: Fence) => Promise<T>): Promise<T> {
  try {
    return await write({ unit: unit.unit, epoch: unit.epoch });
  } catch (raw) {
    const err = asTroupeError(raw);
    if (err.code !== 'stale_epoch' && err.code !== 'not_owner') throw err;
    unit.fence(`${what}: ${err.message}`);
    throw new TroupeError('unavailable', `${what}: ${unit.unit} is fenced (${err.message})`, { cause: err });
  }
}
