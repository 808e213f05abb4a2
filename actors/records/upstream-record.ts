/**
 * An `im-upstream` record as it is produced: the protobuf value, keyed as given, with the
 * record type in its headers (docs/architecture.md: "headers carry `traceparent` and the record type"), so
 * tools and consumers can tell records apart without decoding them. Headers without a trace
 * are one frozen object per type, shared by every record: nothing allocated per record.
 */
import type { LogHeaders, ProduceRecord } from '../../transport/log/port.js';
import { encodeUpstream } from './codec.js';
import type { UpstreamRecord, UpstreamType } from './types.js';

const TYPE_HEADERS = new Map<UpstreamType, LogHeaders>();

/** The shared `{ type }` headers of records of `type`. */
export function typeHeaders(type: UpstreamType): LogHeaders {
  let headers = TYPE_HEADERS.get(type);
  if (headers === undefined) TYPE_HEADERS.set(type, (headers = Object.freeze({ type })));
  return headers;
}

/** `headers` (e.g. a trace's, already holding `type`) replace the shared type-only ones. */
export function upstreamRecord(key: string, record: UpstreamRecord, headers?: LogHeaders): ProduceRecord {
  return { key, value: encodeUpstream(record), headers: headers ?? typeHeaders(record.type) };
}
