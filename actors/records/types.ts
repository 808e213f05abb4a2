/**
 * The records that travel through the log (docs/architecture.md). Their wire form is
 * protobuf (proto/troupe/v1/records.proto); actors/records/codec.ts converts.
 *
 * `im-upstream` carries what clients and the gateway ask of logic; it is keyed by conversation
 * id (conversation actors) or user id (session actors). `im-downstream-<gatewayId>` carries
 * what logic sends to one gateway's connections. `im-task` carries the fanout jobs of large
 * groups, keyed by conversation id, for the task role.
 */

/** Where an answer goes: a connection on a gateway. */
export interface ConnAddress {
  gatewayId: string;
  connId: string;
}

/** Where the answer to a request made over the log goes (HTTP calls that need an actor). */
export interface ReplyAddress {
  gatewayId: string;
  requestId: string;
}

export interface SendRecord {
  type: 'send';
  conv: string;
  from: string;
  origin: ConnAddress;
  clientId: string;
  /** The body object's JSON text, as validated by the gateway. */
  body: string;
}

export interface ReadRecord {
  type: 'read';
  conv: string;
  user: string;
  origin: ConnAddress;
  seq: number;
  /** The frame's `id` when it had a string one, for error frames. */
  ref?: string;
}

export interface TypingRecord {
  type: 'typing';
  conv: string;
  user: string;
  origin: ConnAddress;
  ref?: string;
}

export interface MembersAddRecord {
  type: 'members_add';
  conv: string;
  actor: string;
  members: string[];
  reply: ReplyAddress;
}

export interface MemberRemoveRecord {
  type: 'member_remove';
  conv: string;
  actor: string;
  user: string;
  reply: ReplyAddress;
}

/** A conversation was created (by HTTP, straight in the store): tell its members. */
export interface ConvCreatedRecord {
  type: 'conv_created';
  conv: string;
  actor: string;
}

/** A user's connection opened or closed (keyed by user id). */
export interface PresenceRecord {
  type: 'online' | 'offline';
  user: string;
  origin: ConnAddress;
}

export type UpstreamRecord =
  | SendRecord
  | ReadRecord
  | TypingRecord
  | MembersAddRecord
  | MemberRemoveRecord
  | ConvCreatedRecord
  | PresenceRecord;

export type UpstreamType = UpstreamRecord['type'];

/** Write `frame` (a protocol frame's JSON text) to each of these connections of the gateway. */
export interface DeliverRecord {
  type: 'deliver';
  connIds: string[];
  frame: string;
}

/** The answer to a request made over the log. */
export interface ReplyRecord {
  type: 'reply';
  requestId: string;
  /** JSON text of the result, when ok. */
  result?: string;
  error?: { code: string; message: string };
}

export type DownstreamRecord = DeliverRecord | ReplyRecord;

/**
 * Frames of a large group to one chunk of its members: the task role looks the chunk up in
 * presence in one batch and writes one DeliverRecord per frame and gateway. A job delivered
 * again (a replay) pushes its frames again; clients drop a `msg` whose (conv, seq) they hold.
 */
export interface FanoutJobRecord {
  type: 'fanout';
  conv: string;
  /** The seq of a `msg` frame; 0 for frames that carry none (typing, read, member). */
  seq: number;
  /** Protocol frames' JSON texts, delivered in this order (at least one). */
  frames: string[];
  /** The sending connection, which gets the ack instead of the frame. */
  except?: ConnAddress;
  /** A member left out entirely: the typing or reading user. */
  exceptUser?: string;
  /** User ids of this chunk of the group's members; empty when `wholeSlot` is set. */
  members: string[];
  /**
   * The job is for every member of its slot, which the task role takes from its own copy of the
   * group's members (actors/task/member-directory.ts), checked against this digest.
   */
  wholeSlot?: SlotDigest;
}

/** What logic holds of one task pool slot of a large group (actors/logic/member-slots.ts). */
export interface SlotDigest {
  slot: number;
  /** The task pool size the slots were cut for. */
  poolSize: number;
  /** Members in the slot. */
  count: number;
  /** XOR of the 32-bit FNV-1a hashes of their user ids. */
  hash: number;
  /**
   * When logic counted the digests (ms since the epoch): on loading the group, and again after it
   * was small for a while. A task node reads the group again for a later count.
   */
  countedAt: number;
}

/**
 * A change to one slot of a large group's members, keyed like its jobs so that it takes effect
 * between the jobs produced before and after it: the task role's copy of the slot follows it.
 */
export interface MembersJobRecord {
  type: 'members';
  conv: string;
  /** Joined users (read cursor 0). */
  added: string[];
  /** Users who left or were removed. */
  removed: string[];
  /** Read cursors that moved. */
  cursors: Array<{ user: string; seq: number }>;
}

/**
 * A large group's `conversation` frame for one chunk of its members, each with its own read
 * cursor (the frames differ only there, so the task role builds them).
 */
export interface AnnounceJobRecord {
  type: 'announce';
  conv: string;
  /** The `<conversation>` object's JSON text without `readSeq`. */
  conversation: string;
  members: string[];
  /** Each member's read cursor, by index in `members`. */
  readSeqs: number[];
  /** For every member of the slot instead (`members` and `readSeqs` empty), as in FanoutJobRecord. */
  wholeSlot?: SlotDigest;
}

export type TaskRecord = FanoutJobRecord | AnnounceJobRecord | MembersJobRecord;
