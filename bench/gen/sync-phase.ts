/**
 * The history pull of the `sync` scenario inside a generator worker: every [user, conversation]
 * of the plan is paged with `sync` from seq 0 until `more` is false, one request in flight per
 * socket (a `history` frame names its conversation but carries no ref). Every page is timed from
 * its `sync` to its `history` frame, and what came back is checked against what the run saw
 * acked: every seq once, in order, with the client id acked for it.
 */
import { encodeHistogram, newHistogram, recordMillis } from '../lib/hdr.js';
import type { ServerFrame, WireSocket } from '../lib/wire.js';
import type { SyncPlan, WorkerSyncResult } from './protocol.js';

const MAX_EXAMPLES = 10;

interface Pull {
  user: number;
  conv: number;
  /** Highest seq received so far (the next page's `after`). */
  after: number;
  sentAt: number;
}

export class SyncPhase {
  private readonly latency = newHistogram();
  private readonly queues = new Map<number, Array<[number, number]>>();
  private readonly current = new Map<number, Pull>();
  private readonly convIndex = new Map<string, number>();
  private readonly result: WorkerSyncResult = {
    latencyHistogram: '', pages: 0, messages: 0, missing: 0, duplicated: 0, reordered: 0, mismatched: 0, errors: 0, unexpectedCloses: 0, examples: [],
  };
  private resolveDone: (() => void) | undefined;

  constructor(
    private readonly plan: SyncPlan,
    private readonly socketOf: (user: number) => WireSocket | undefined,
  ) {
    plan.convIds.forEach((id, i) => this.convIndex.set(id, i));
    for (const pull of plan.pulls) {
      const queue = this.queues.get(pull[0]) ?? [];
      queue.push(pull);
      this.queues.set(pull[0], queue);
    }
  }

  /** Runs every pull; resolves when each has finished (or its socket closed). */
  run(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    for (const user of this.queues.keys()) this.startNext(user);
    this.checkDone();
    return done;
  }

  onFrame(user: number, frame: ServerFrame): void {
    const pull = this.current.get(user);
    if (pull === undefined) return;
    if (frame.type === 'error') {
      this.result.errors += 1;
      this.example(`sync of conversation ${this.plan.convIds[pull.conv]} by user ${user}: ${frame.code} ${frame.message ?? ''}`);
      this.startNext(user);
      return;
    }
    if (frame.type !== 'history' || frame.conv === undefined || this.convIndex.get(frame.conv) !== pull.conv) return;
    recordMillis(this.latency, performance.now() - pull.sentAt);
    this.result.pages += 1;
    const expected = this.plan.expected[pull.conv] ?? [];
    for (const message of frame.messages ?? []) {
      this.result.messages += 1;
      if (message.seq <= pull.after) {
        if (message.seq === pull.after) this.result.duplicated += 1;
        else this.result.reordered += 1;
        this.example(`user ${user} got seq ${message.seq} of ${frame.conv} after seq ${pull.after}`);
        continue;
      }
      this.result.missing += Math.max(0, Math.min(message.seq - 1, expected.length) - pull.after);
      if (expected[message.seq - 1] !== message.id) {
        this.result.mismatched += 1;
        this.example(`${frame.conv} seq ${message.seq}: history has id ${message.id}, the run saw ${expected[message.seq - 1] ?? 'no message'} acked`);
      }
      pull.after = message.seq;
    }
    if (frame.more === true && (frame.messages?.length ?? 0) > 0) {
      this.request(user, pull);
      return;
    }
    if (pull.after < expected.length) {
      this.result.missing += expected.length - pull.after;
      this.example(`user ${user}: history of ${frame.conv} ends at seq ${pull.after}, ${expected.length} were acked`);
    }
    this.startNext(user);
  }

  /** A socket of a pull closed: its pulls cannot finish. */
  onClose(user: number): void {
    this.result.unexpectedCloses += 1;
    this.queues.delete(user);
    this.current.delete(user);
    this.checkDone();
  }

  finish(): WorkerSyncResult {
    return { ...this.result, latencyHistogram: encodeHistogram(this.latency) };
  }

  private startNext(user: number): void {
    this.current.delete(user);
    const next = this.queues.get(user)?.shift();
    if (next === undefined) {
      this.queues.delete(user);
      this.checkDone();
      return;
    }
    const pull: Pull = { user, conv: next[1], after: 0, sentAt: 0 };
    this.current.set(user, pull);
    this.request(user, pull);
  }

  private request(user: number, pull: Pull): void {
    const socket = this.socketOf(user);
    if (socket === undefined) {
      this.onClose(user);
      return;
    }
    pull.sentAt = performance.now();
    socket.sync(this.plan.convIds[pull.conv]!, pull.after, this.plan.limit);
  }

  private checkDone(): void {
    if (this.queues.size === 0 && this.current.size === 0) this.resolveDone?.();
  }

  private example(line: string): void {
    if (this.result.examples.length < MAX_EXAMPLES) this.result.examples.push(line);
  }
}
