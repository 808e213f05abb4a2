/**
 * A kafkajs client for brokers whose metadata names a controller that does not exist
 * (librdkafka's mock cluster, docs/architecture.md "Testing"). See the function's comment.
 */
import { Kafka, type Cluster, type KafkaConfig } from 'kafkajs';
import { TroupeError } from '../errors.js';

/** The symbol under which kafkajs 2.x keeps a client's cluster factory (index.js, `PRIVATE.CREATE_CLUSTER`). */
const CREATE_CLUSTER = 'private:Kafka:createCluster';

/**
 * A kafkajs client adapted to the mock's one quirk that stops an idempotent producer: the mock's
 * metadata names controller 0, which does not exist, and kafkajs asks "the controller" for a
 * producer id. Here a controller lookup that finds no such broker falls back to the first known
 * broker (the mock answers InitProducerId on any broker), so specs run the producer exactly as
 * production does (idempotent, acks=all). Admin CreateTopics still fails: the mock does not
 * implement it (pre-create topics). It reaches into a kafkajs private, so it is used only when
 * `cluster.kafkaControllerFallback` is set (`troupe local-cluster` and the specs), never on real Kafka.
 */
export function kafkaClientWithControllerFallback(config: KafkaConfig): Kafka {
  const client = new Kafka(config);
  const holder = client as unknown as Record<symbol, unknown>;
  const symbol = Object.getOwnPropertySymbols(client).find((s) => s.description === CREATE_CLUSTER);
  const create = symbol === undefined ? undefined : holder[symbol];
  if (symbol === undefined || typeof create !== 'function') {
    throw new TroupeError('config', 'cluster.kafkaControllerFallback: this kafkajs version keeps its cluster factory elsewhere; turn the setting off');
  }
  holder[symbol] = (options: unknown) => {
    const cluster = (create as (options: unknown) => Cluster)(options);
    const findController = cluster.findControllerBroker.bind(cluster);
    cluster.findControllerBroker = async () => {
      try {
        return await findController();
      } catch (err) {
        const first = cluster.getNodeIds()[0];
        if ((err as Error).name !== 'KafkaJSBrokerNotFound' || first === undefined) throw err;
        return cluster.findBroker({ nodeId: String(first) });
      }
    };
    return cluster;
  };
  return client;
}
