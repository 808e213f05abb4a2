/**
 * A key's mailbox in the partition host: its messages handled one at a time, in order, nothing
 * after `stop()` (serial-actor.ts). The host already supervises (restarts, deadlines, parking)
 * and the kind's actor keeps the key's state, so all a key needs from its mailbox is ordering;
 * the partition nodes above the keys stay nact actors.
 *
 * A mailbox holds its owner and the owner's token for it (the host: its slot and generation)
 * rather than closures over them: there is one per active key, so every field counts.
 */
import { SerialActor } from './serial-actor.js';

/** What a mailbox hands its messages to; `handle` must not reject (the host's step catches everything a kind throws). */
export interface MailboxOwner<M, T> {
  handle(token: T, message: M): Promise<unknown>;
  /** `handle` rejected anyway: a bug in the owner. */
  bug(token: T, error: unknown): void;
}

export class Mailbox<M, T> extends SerialActor<M> {
  constructor(
    private readonly owner: MailboxOwner<M, T>,
    private readonly token: T,
  ) {
    super();
  }

  override post(message: M): void {
    super.post(message);
  }

  override stop(): void {
    super.stop();
  }

  protected async receive(message: M): Promise<void> {
    await this.owner.handle(this.token, message);
  }

  protected crashed(error: unknown): void {
    this.owner.bug(this.token, error);
  }
}
