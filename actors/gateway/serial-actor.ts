/**
 * The smallest actor that serves a WebSocket: messages are handled one at a time, in the order
 * they were posted, by `receive`. It takes the place of a nact actor per connection, which
 * costs about 1.4 KB of heap while idle (its path, two maps, a queue and the last `Immediate`
 * it ran, which keeps that tick's other `Immediate`s alive): this one costs two fields, and a
 * queue only while a message is being handled and others wait.
 *
 * The first message of a run is handled on a microtask, never inside `post`, so whoever posts
 * (a constructor, a socket event) finishes its own synchronous work first, as with a mailbox.
 */
export abstract class SerialActor<M> {
  private busy = false;
  /** Messages posted while one is handled; null when none wait. */
  private waiting: M[] | null = null;

  /** Handles one message. A rejection is passed to `crashed`, and the next message is handled. */
  protected abstract receive(message: M): Promise<void> | void;

  /** A message's handling rejected (a bug: `receive` is expected to handle its own failures). */
  protected abstract crashed(error: unknown): void;

  protected post(message: M): void {
    if (this.busy) {
      (this.waiting ??= []).push(message);
      return;
    }
    this.busy = true;
    void this.run(message);
  }

  private async run(first: M): Promise<void> {
    await undefined; // after the poster's synchronous code
    let message = first;
    for (;;) {
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
