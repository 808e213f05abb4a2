/**
 * One gRPC channel per target address, made on first use and reused by every later call to it
 * (a channel multiplexes calls over one HTTP/2 connection and reconnects by itself).
 */
import { Client, type ChannelOptions, credentials } from '@grpc/grpc-js';

/** Largest message either side takes: a page of 500 messages of 8 KiB is over gRPC's 4 MiB default. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class ChannelPool {
  private readonly clients = new Map<string, Client>();
  private readonly options: ChannelOptions;

  /**
   * `reconnectMaxMs` caps the channel's reconnect backoff, so that a target that comes back is
   * dialled again within about that long (the breaker's half-open delay is a good value).
   */
  constructor(reconnectMaxMs: number) {
    this.options = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': Math.max(1, Math.min(100, reconnectMaxMs)),
      'grpc.max_reconnect_backoff_ms': Math.max(1, reconnectMaxMs),
    };
  }

  /** The channel to `target` (`host:port`). */
  get(target: string): Client {
    let client = this.clients.get(target);
    if (client === undefined) {
      client = new Client(target, credentials.createInsecure(), this.options);
      this.clients.set(target, client);
    }
    return client;
  }

  /** Closes every channel: calls still waiting for a connection fail, calls already sent finish. */
  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
