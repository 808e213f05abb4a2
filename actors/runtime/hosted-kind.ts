/**
 * What a partition host (partition-host.ts) needs to know of the actors it hosts: how a record
 * becomes a key and a message, how the actor of a key is made, and how the requester of a record
 * that will not be processed is answered.
 *
 * The host owns each actor's supervision (docs/architecture.md, "Supervision: every record finishes"): it spawns the nact actor,
 * runs the kind's handler in it, and treats a rejected handler as a crash. An actor therefore
 * stays simple: it handles a record and calls `done()` once the record's effects are durable and
 * its answers produced, or throws. It never needs to catch a failure just to keep its partition
 * moving.
 */
import type { TroupeError } from '../../transport/errors.js';
import type { LogRecord } from '../../transport/log/port.js';
import type { Context } from './tracing.js';

/** What an actor receives from its host: one record's message, and how to say it is finished. */
export interface Envelope<M> {
  message: M;
  /** Marks the record finished. Calls after the first, or after the host gave up, are ignored. */
  done: () => void;
  /** The trace context the record's headers carried (tracing.ts), if any: the parent of its spans. */
  trace?: Context;
}

/** The placement unit a host serves, and its fencing epoch (the claim's create revision). */
export interface UnitContext {
  /** e.g. `upstream/3`. */
  unit: string;
  epoch: number;
  /** Stops the host at once, without committing: an actor found the unit fenced. */
  fence(reason: string): void;
}

/** One live actor of a key, made by its kind. */
export interface HostedActor<M> {
  /**
   * Handles one record. Resolving does not finish the record (`done()` does, possibly later,
   * as a write pipeline would); rejecting is a crash: the host stops this actor, makes a fresh
   * one (state rebuilt from storage) after a backoff, and hands it the key's unfinished records
   * again, up to the attempt limit.
   */
  handle(envelope: Envelope<M>): Promise<void>;
  /** Handles a message the actor posted to itself (`post`), in turn with records. Rejecting is a crash. */
  handleInternal?(message: unknown): Promise<void>;
  /** The host stopped this actor (passivation, crash, drain, fence): give up work in hand. */
  stop?(): void;
}

/** How records of a topic become actors and messages. */
export interface HostedKind<M> {
  /** Actor kind for metrics, given the record's key. */
  kindOf(key: string): string;
  /** Decodes a record; null for one that cannot be decoded (logged and skipped). */
  decode(record: LogRecord): { key: string; message: M } | null;
  /**
   * Makes the actor of `key`. `post` puts a message in the actor's own mailbox, handled in turn
   * with records by `handleInternal`. May throw: that is a crash like any other.
   */
  create(key: string, unit: UnitContext, post: (message: unknown) => void): HostedActor<M>;
  /**
   * Answers the requester of a record the host gave up on (after its attempts, or parked):
   * `error` says why, `incident` names the record in the logs (`upstream/3@1234`). Best effort;
   * a rejection is logged.
   */
  refuse?(message: M, error: TroupeError, incident: string): Promise<void>;
}
