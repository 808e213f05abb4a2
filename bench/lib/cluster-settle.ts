/**
 * Waiting for a started cluster to settle before it is measured. Every process answering /readyz
 * does not mean the logic nodes' Kafka consumer group has shared out the upstream partitions: until
 * each partition is claimed in etcd (`/troupe/<cluster>/claims/upstream/<p>`), sends to it wait,
 * and the first step would measure the rebalance rather than the cluster.
 */
import { Etcd3 } from 'etcd3';
import { TroupeError } from '../../transport/errors.js';
import { sleep } from './wait-until.js';

export interface SettleOptions {
  etcd: string;
  cluster: string;
  partitions: number;
  timeoutMs: number;
  /** How long the claims must stay complete to count as settled. */
  stableMs: number;
}

/** Resolves with the ms waited once every upstream partition has stayed claimed `stableMs`. */
export async function waitForUpstreamClaims(options: SettleOptions): Promise<number> {
  const client = new Etcd3({ hosts: options.etcd });
  const prefix = `/troupe/${options.cluster}/claims/upstream/`;
  const started = Date.now();
  let completeSince: number | undefined;
  let claimed = 0;
  try {
    while (Date.now() - started < options.timeoutMs) {
      claimed = (await client.getAll().prefix(prefix).keys()).length;
      if (claimed < options.partitions) completeSince = undefined;
      else if (completeSince === undefined) completeSince = Date.now();
      else if (Date.now() - completeSince >= options.stableMs) return Date.now() - started;
      await sleep(250);
    }
  } finally {
    client.close();
  }
  throw new TroupeError('timeout', `the cluster did not settle: ${claimed} of ${options.partitions} upstream partitions claimed after ${options.timeoutMs} ms`);
}
