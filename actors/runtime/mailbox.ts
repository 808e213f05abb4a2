/**
 * A key's mailbox in the partition host: its messages handled one at a time, in order, nothing
 * after `stop()` (serial-actor.ts). The host already supervises (restarts, deadlines, parking)
 * and the kind's actor keeps the key's state, so all a key needs from its mailbox is ordering;
 * the partition nodes above the keys stay nact actors.
 */
import { SerialActor } from './serial-actor.js';

export class Mailbox<M> extends SerialActor<M> {
  /** `handle` must not reject: the host's step catches everything a kind throws. */
  constructor(
    private readonly handle: (message: M) => Promise<unknown>,
    private readonly onBug: (error: unknown) => void,
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
    await this.handle(message);
  }

  protected crashed(error: unknown): void {
    this.onBug(error);
  }
}
