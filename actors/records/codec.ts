/**
 * Converts log records (records/types.ts) to and from their protobuf wire form
 * (proto/troupe/v1/records.proto, generated into proto/gen by `npm run proto`).
 *
 * Every function here throws only TroupeError('invalid_argument'): a value that does not
 * decode, holds no record (or only one of a type this build does not know), lacks a field the
 * record type requires, or carries a seq beyond 2^53. Consumers skip such a record and go on;
 * one bad value must never stop a partition.
 *
 * These run for every message, so they stay allocation-light: encoding passes the record itself
 * to the generated encoder where the shapes agree, and all encodes share one writer whose buffer
 * grows once and is then reused (safe because encoding is synchronous).
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  Downstream,
  PresenceState,
  Task,
  Upstream,
  type ConnAddress,
  type ReplyAddress,
} from '../../proto/gen/troupe/v1/records.js';
import { TroupeError } from '../../transport/errors.js';
import type { AnnounceJobRecord, DownstreamRecord, FanoutJobRecord, SlotDigest, ReadRecord, ReplyRecord, TaskRecord, TypingRecord, UpstreamRecord } from './types.js';

/** A writer buffer grown past this by one large record is dropped rather than kept for good. */
const RETAINED_BUFFER_LIMIT = 64 * 1024;

let writer = new BinaryWriter();

interface Encoder<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

function invalid(message: string, cause?: unknown): TroupeError {
  return new TroupeError('invalid_argument', message, cause === undefined ? {} : { cause });
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function encodeWith<T>(encoder: Encoder<T>, message: T, what: string): Uint8Array {
  try {
    encoder.encode(message, writer);
  } catch (err) {
    // A failed encode leaves partial bytes and open forks behind: start over with a fresh writer.
    writer = new BinaryWriter();
    throw invalid(`${what} record does not encode: ${reason(err)}`, err);
  }
  const bytes = writer.finish();
  if (bytes.length > RETAINED_BUFFER_LIMIT) writer = new BinaryWriter();
  return bytes;
}

function toUpstream(r: UpstreamRecord): Upstream {
  switch (r.type) {
    case 'send':
      return { record: { $case: 'send', value: r } };
    case 'read':
      return { record: { $case: 'read', value: r } };
    case 'typing':
      return { record: { $case: 'typing', value: r } };
    case 'members_add':
      return { record: { $case: 'membersAdd', value: r } };
    case 'member_remove':
      return { record: { $case: 'memberRemove', value: r } };
    case 'conv_created':
      return { record: { $case: 'convCreated', value: r } };
    case 'online':
      return { record: { $case: 'presence', value: { user: r.user, origin: r.origin, state: PresenceState.PRESENCE_STATE_ONLINE } } };
    case 'offline':
      return { record: { $case: 'presence', value: { user: r.user, origin: r.origin, state: PresenceState.PRESENCE_STATE_OFFLINE } } };
    default:
      throw invalid(`unknown upstream record type ${String((r as { type: unknown }).type)}`);
  }
}

function toDownstream(r: DownstreamRecord): Downstream {
  switch (r.type) {
    case 'deliver':
      return { record: { $case: 'deliver', value: r } };
    case 'reply':
      return { record: { $case: 'reply', value: r } };
    default:
      throw invalid(`unknown downstream record type ${String((r as { type: unknown }).type)}`);
  }
}

export function encodeUpstream(r: UpstreamRecord): Uint8Array {
  return encodeWith(Upstream, toUpstream(r), 'upstream');
}

export function encodeDownstream(r: DownstreamRecord): Uint8Array {
  return encodeWith(Downstream, toDownstream(r), 'downstream');
}

/** Proto3 cannot require a message field; the record types do, so a missing one is invalid. */
function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw invalid(`record lacks ${field}`);
  return value;
}

function origin(value: ConnAddress | undefined, type: string): ConnAddress {
  return required(value, `${type}.origin`);
}

function reply(value: ReplyAddress | undefined, type: string): ReplyAddress {
  return required(value, `${type}.reply`);
}

export function decodeUpstream(bytes: Uint8Array): UpstreamRecord {
  let message: Upstream;
  try {
    message = Upstream.decode(bytes);
  } catch (err) {
    throw invalid(`upstream value does not decode: ${reason(err)}`, err);
  }
  const record = message.record;
  if (record === undefined) throw invalid('upstream value holds no record of a known type');
  switch (record.$case) {
    case 'send': {
      const v = record.value;
      return { type: 'send', conv: v.conv, from: v.from, origin: origin(v.origin, 'send'), clientId: v.clientId, body: v.body };
    }
    case 'read': {
      const v = record.value;
      const r: ReadRecord = { type: 'read', conv: v.conv, user: v.user, origin: origin(v.origin, 'read'), seq: v.seq };
      if (v.ref !== undefined) r.ref = v.ref;
      return r;
    }
    case 'typing': {
      const v = record.value;
      const r: TypingRecord = { type: 'typing', conv: v.conv, user: v.user, origin: origin(v.origin, 'typing') };
      if (v.ref !== undefined) r.ref = v.ref;
      return r;
    }
    case 'membersAdd': {
      const v = record.value;
      return { type: 'members_add', conv: v.conv, actor: v.actor, members: v.members, reply: reply(v.reply, 'members_add') };
    }
    case 'memberRemove': {
      const v = record.value;
      return { type: 'member_remove', conv: v.conv, actor: v.actor, user: v.user, reply: reply(v.reply, 'member_remove') };
    }
    case 'convCreated': {
      const v = record.value;
      return { type: 'conv_created', conv: v.conv, actor: v.actor };
    }
    case 'presence': {
      const v = record.value;
      const at = origin(v.origin, 'presence');
      if (v.state === PresenceState.PRESENCE_STATE_ONLINE) return { type: 'online', user: v.user, origin: at };
      if (v.state === PresenceState.PRESENCE_STATE_OFFLINE) return { type: 'offline', user: v.user, origin: at };
      throw invalid(`presence record has unknown state ${String(v.state)}`);
    }
    default:
      throw invalid('upstream value holds no record of a known type');
  }
}

export function decodeDownstream(bytes: Uint8Array): DownstreamRecord {
  let message: Downstream;
  try {
    message = Downstream.decode(bytes);
  } catch (err) {
    throw invalid(`downstream value does not decode: ${reason(err)}`, err);
  }
  const record = message.record;
  if (record === undefined) throw invalid('downstream value holds no record of a known type');
  switch (record.$case) {
    case 'deliver':
      return { type: 'deliver', connIds: record.value.connIds, frame: record.value.frame };
    case 'reply': {
      const v = record.value;
      const r: ReplyRecord = { type: 'reply', requestId: v.requestId };
      if (v.result !== undefined) r.result = v.result;
      if (v.error !== undefined) r.error = v.error;
      return r;
    }
    default:
      throw invalid('downstream value holds no record of a known type');
  }
}

export function encodeTask(r: TaskRecord): Uint8Array {
  switch (r.type) {
    case 'fanout': {
      const [frame, ...moreFrames] = r.frames;
      if (frame === undefined) throw invalid('fanout job has no frame');
      const value = {
        conv: r.conv,
        seq: r.seq,
        frame,
        members: r.members,
        moreFrames,
        exceptUser: r.exceptUser ?? '',
        ...(r.except === undefined ? {} : { except: r.except }),
        ...(r.wholeSlot === undefined ? {} : { wholeSlot: r.wholeSlot }),
      };
      return encodeWith(Task, { record: { $case: 'fanout', value } }, 'task');
    }
    case 'announce':
      return encodeWith(Task, { record: { $case: 'announce', value: r } }, 'task');
    case 'members':
      return encodeWith(Task, { record: { $case: 'members', value: r } }, 'task');
    default:
      throw invalid(`unknown task record type ${String((r as { type: unknown }).type)}`);
  }
}

/** A job's whole-slot digest, which must name a slot of its pool and come without a member list. */
function slotDigestOf(d: SlotDigest, members: number): SlotDigest {
  if (d.poolSize < 1 || d.slot >= d.poolSize) throw invalid(`fanout job names slot ${d.slot} of a pool of ${d.poolSize}`);
  if (members > 0) throw invalid('fanout job names both its members and a whole slot');
  return { slot: d.slot, poolSize: d.poolSize, count: d.count, hash: d.hash, countedAt: d.countedAt };
}

export function decodeTask(bytes: Uint8Array): TaskRecord {
  let message: Task;
  try {
    message = Task.decode(bytes);
  } catch (err) {
    throw invalid(`task value does not decode: ${reason(err)}`, err);
  }
  const record = message.record;
  switch (record?.$case) {
    case 'fanout': {
      const v = record.value;
      const r: FanoutJobRecord = { type: 'fanout', conv: v.conv, seq: v.seq, frames: [v.frame, ...v.moreFrames], members: v.members };
      if (v.except !== undefined) r.except = v.except;
      if (v.exceptUser !== '') r.exceptUser = v.exceptUser;
      if (v.wholeSlot !== undefined) r.wholeSlot = slotDigestOf(v.wholeSlot, v.members.length);
      return r;
    }
    case 'announce': {
      const v = record.value;
      if (v.readSeqs.length !== v.members.length) throw invalid(`announce job has ${v.members.length} members but ${v.readSeqs.length} read cursors`);
      const r: AnnounceJobRecord = { type: 'announce', conv: v.conv, conversation: v.conversation, members: v.members, readSeqs: v.readSeqs };
      if (v.wholeSlot !== undefined) r.wholeSlot = slotDigestOf(v.wholeSlot, v.members.length);
      return r;
    }
    case 'members': {
      const v = record.value;
      return { type: 'members', conv: v.conv, added: v.added, removed: v.removed, cursors: v.cursors.map((c) => ({ user: c.user, seq: c.seq })) };
    }
    default:
      throw invalid('task value holds no record of a known type');
  }
}
