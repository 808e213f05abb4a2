/**
 * The smallest actor: messages are handled one at a time, in the order they were posted, by
 * `receive`. It serves each WebSocket (the gateway's connection actor) and each key of a
 * partition host (mailbox.ts) in place of a nact actor, which costs about 1.4 KB of heap while
 * idle (its path, two maps, a queue and the last `Immediate` it ran, which keeps that tick's
 * other `Immediate`s alive) and a scheduling hop per message: this one costs a few fields, and
 * a queue only while a message is being handled and others wait.
 *
 * The first message of a run is handled on a microtask, never inside `post`, so whoever posts
 * (a constructor, a socket event) finishes its own synchronous work first, as with a mailbox.
 */
export abstract class SerialActor<M> {
  private busy = false;
  private stopped = false;
  /** Messages posted while one is handled; null when none wait. */
  private waiting: M[] | null = null;

  /** Handles one message. A rejection is passed to `crashed`, and the next message is handled. */
  protected abstract receive(message: M): Promise<void> | void;

  /** A message's handling rejected (a bug: `receive` is expected to handle its own failures). */
  protected abstract crashed(error: unknown): void;

  protected post(message: M): void {
    if (this.stopped) return;
    if (this.busy) {
      (this.waiting ??= []).push(message);
      return;
    }
    this.busy = true;
    void this.run(message);
  }

  /** Drops what waits and refuses what comes; a message being handled finishes on its own. */
  protected stop(): void {
    this.stopped = true;
    this.waiting = null;
  }

  private async run(first: M): Promise<void> {
    await undefined; // after the poster's synchronous code
    let message = first;
    for (;;) {
      if (this.stopped) return;
      try {
        await this.receive(message);
      } catch (err) {
        this.crashed(err);
      }
      const waiting = this.waiting;
      if (waiting === null || waiting.length === 0) {
        this.waiting = null;
        this.busy = false;
        return;
      }
      message = waiting.shift() as M;
    }
  }
}
