/**
 * Translation between etcd3's shapes and the Coordinator port's (port.ts): key-values and errors.
 *
 * etcd3 hands int64 fields (revisions, lease ids) over as decimal strings. Revisions become
 * numbers: etcd's counter would need 2^53 changes to leave the safe-integer range. Lease ids stay
 * strings (they are opaque ids, often above 2^53), and lease "0" means "no lease".
 */
import { castGrpcError, ClientClosedError, GRPCDeadlineExceededError, isRecoverableError, type IKeyValue } from 'etcd3';
import { TroupeError } from '../errors.js';
import type { KeyValue } from './port.js';

export function keyValueOf(kv: IKeyValue): KeyValue {
  const base = {
    key: kv.key.toString(),
    value: kv.value.toString(),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
  return kv.lease === '0' || kv.lease === '' ? base : { ...base, leaseId: kv.lease };
}

/** etcd's answer to a read or watch from before its last compaction. */
const COMPACTED = 'required revision has been compacted';
/** etcd's answer to a read at a revision it has not reached yet. */
const FUTURE = 'required revision is a future revision';

/**
 * Maps an error of an etcd3 call to the port's codes:
 * - the client was closed → `closed`;
 * - past the call's deadline → `timeout` (retriable; whether a write happened is unknown);
 * - a revision compacted away → `not_found`, not retriable (read again, watch from that read);
 * - a revision in the future → `invalid_argument`;
 * - what etcd3 deems recoverable (unreachable, connection reset, overloaded) → `unavailable`;
 * - anything else → `internal`.
 * `what` names the operation in the message. Raw gRPC errors (a watch stream's) are typed first.
 */
export function etcdError(raw: unknown, what: string): TroupeError {
  if (raw instanceof TroupeError) return raw;
  const err = raw instanceof Error ? castGrpcError(raw) : raw;
  const message = err instanceof Error ? err.message : String(err);
  const say = `etcd ${what}: ${message}`;
  if (err instanceof ClientClosedError) return new TroupeError('closed', say, { cause: err });
  if (err instanceof GRPCDeadlineExceededError) return new TroupeError('timeout', say, { cause: err });
  if (message.includes(COMPACTED)) return new TroupeError('not_found', say, { cause: err, retriable: false });
  if (message.includes(FUTURE)) return new TroupeError('invalid_argument', say, { cause: err });
  if (err instanceof Error && isRecoverableError(err)) return new TroupeError('unavailable', say, { cause: err });
  return new TroupeError('internal', say, { cause: err });
}
