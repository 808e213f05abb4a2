/**
 * A system under test that is up and answering: Troupe (embedded, a local cluster, or any URL)
 * or one of the peers in bench/peers/. Scenarios see only this, so every figure is measured the
 * same way on every target.
 */
import type { TargetRole } from '../report/types.js';
import type { Wire } from './wire.js';

export interface RunningTarget {
  /** Stable key of bench/report/types.ts TargetRun.target: `embedded`, `cluster`, `url`, `socketio`, `uws`. */
  readonly key: string;
  /** What a reader sees, e.g. "Socket.IO 4 + redis-adapter + MariaDB (2 processes)". */
  readonly label: string;
  readonly role: TargetRole;
  /** Entry points (`http://host:port`); users are spread over them round-robin (gateways, Socket.IO processes). */
  readonly baseUrls: readonly string[];
  readonly wire: Wire;
  /** Whether it stores messages (sync and history checks need it; the raw uWS bound does not). */
  readonly stores: boolean;
  /**
   * The database behind a Troupe this run started, for setup that would take hours through the
   * API (the group scenario's offline members); absent for `--url` and the peers.
   */
  readonly storage?: TargetStorage;
  /** The server processes whose CPU and RSS are sampled (empty for `--url` on another machine). */
  serverPids(): number[];
  /** Stops what this run started (nothing for `--url`). */
  stop(): Promise<void>;
}

/** Where a started Troupe keeps its data: the embedded server's SQLite file, or the cluster's MySQL (MariaDB) database. */
export type TargetStorage = { kind: 'sqlite'; filename: string } | { kind: 'mysql'; url: string };

/** How a launcher is asked to start a peer or Troupe itself. */
export interface LaunchOptions {
  /** `taskset -c` CPU list for the server processes, e.g. "0"; absent: not pinned. */
  pinServer?: string;
  /** Progress lines for a person watching. */
  progress(line: string): void;
}
