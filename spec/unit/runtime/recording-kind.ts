/**
 * A HostedKind for runtime specs: its actors are real nact actors that record every record they
 * get, and finish a record only when the test says so (or at once, for keys the test does not
 * hold). A key can also be "blocked": its actor then waits inside its handler, as an actor busy
 * with a slow write would, so its later records queue in its mailbox.
 */
import type { Envelope, HostedActor, HostedKind, UnitContext } from '../../../actors/runtime/hosted-kind.js';
import type { TroupeError } from '../../../transport/errors.js';
import type { LogRecord } from '../../../transport/log/port.js';

export interface TestMessage {
  value: string;
  offset: number;
}

export interface Delivery {
  key: string;
  value: string;
  offset: number;
  /** Which spawn of this key's actor got it (1 for the first). */
  incarnation: number;
  /** Records this actor instance had handled before this one (0 on fresh state). */
  handledBefore: number;
  unit: UnitContext;
}

/** A record whose value is this is reported undecodable (null); `THROWING` makes decode throw. */
export const UNDECODABLE = 'undecodable';
export const THROWING = 'throwing';

export class RecordingKind implements HostedKind<TestMessage> {
  readonly deliveries: Delivery[] = [];
  readonly spawns: Array<{ key: string; unit: UnitContext }> = [];
  /** Keys whose actor stopped, in order. */
  readonly stops: string[] = [];
  /** When true, every record waits for `finish`; otherwise only records of `manualKeys`. */
  manualAll = false;
  readonly manualKeys = new Set<string>();
  private readonly pending = new Map<number, () => void>();
  private readonly blocked = new Map<string, { promise: Promise<void>; open: () => void }>();
  private readonly incarnations = new Map<string, number>();
  private readonly crashes = new Map<string, { times: number; error: Error }>();
  /** Records the host gave up on and answered through `refuse`, in order. */
  readonly refusals: Array<{ value: string; offset: number; code: string; incident: string }> = [];

  kindOf(): string {
    return 'test';
  }

  decode(record: LogRecord): { key: string; message: TestMessage } | null {
    const value = Buffer.from(record.value).toString('utf8');
    if (value === UNDECODABLE) return null;
    if (value === THROWING) throw new Error('cannot decode this');
    return { key: record.key, message: { value, offset: Number(record.offset) } };
  }

  create(key: string, unit: UnitContext): HostedActor<TestMessage> {
    const incarnation = (this.incarnations.get(key) ?? 0) + 1;
    this.incarnations.set(key, incarnation);
    this.spawns.push({ key, unit });
    let handled = 0;
    return {
      handle: async (envelope: Envelope<TestMessage>) => {
        const { value, offset } = envelope.message;
        this.deliveries.push({ key, value, offset, incarnation, handledBefore: handled, unit });
        const gate = this.blocked.get(key);
        if (gate !== undefined) await gate.promise;
        const crash = this.crashes.get(value);
        if (crash !== undefined && crash.times > 0) {
          crash.times--;
          throw crash.error;
        }
        if (this.manualAll || this.manualKeys.has(key)) this.pending.set(offset, envelope.done);
        else envelope.done();
        handled++;
      },
      stop: () => void this.stops.push(key),
    };
  }

  /** The next `times` attempts at the record with this value throw `error` (a crash of its actor). */
  crashOn(value: string, times: number, error: Error): void {
    this.crashes.set(value, { times, error });
  }

  /** When true, `refuse` records the refusal and then never settles (a requester's gateway hung). */
  hangRefusals = false;

  async refuse(message: TestMessage, error: TroupeError, incident: string): Promise<void> {
    this.refusals.push({ value: message.value, offset: message.offset, code: error.code, incident });
    if (this.hangRefusals) await new Promise<never>(() => undefined);
  }

  /** Values delivered so far, optionally of one key, in delivery order. */
  values(key?: string): string[] {
    return this.deliveries.filter((d) => key === undefined || d.key === key).map((d) => d.value);
  }

  /** Offsets delivered and waiting for `finish`. */
  get waiting(): number[] {
    return [...this.pending.keys()].sort((a, b) => a - b);
  }

  /** Finishes the record at `offset` (it must have been delivered and be waiting). */
  finish(...offsets: number[]): void {
    for (const offset of offsets) {
      const done = this.pending.get(offset);
      if (done === undefined) throw new Error(`record ${offset} is not waiting to be finished`);
      this.pending.delete(offset);
      done();
    }
  }

  /** The key's actor waits inside its handler until `unblock`. */
  block(key: string): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.blocked.set(key, { promise, open });
  }

  unblock(key: string): void {
    this.blocked.get(key)?.open();
    this.blocked.delete(key);
  }

  /** Lets everything go: unblocks every key, finishes what waits, finishes the rest at once. */
  releaseAll(): void {
    this.manualAll = false;
    this.manualKeys.clear();
    for (const key of [...this.blocked.keys()]) this.unblock(key);
    for (const offset of this.waiting) this.finish(offset);
  }
}
