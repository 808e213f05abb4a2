/**
 * The partitioned log of the cluster mode: Apache Kafka through kafkajs (docs/architecture.md).
 *
 * It keeps every guarantee of port.ts (spec/transport/log-kafka.spec.ts runs the shared contract
 * against it) and only translates port calls into kafkajs calls:
 *
 * - **Producing.** One idempotent kafkajs producer per log (acks=all), shared by every
 *   `producer()` handle; concurrent sends are coalesced into one request at a time
 *   (kafka-send-batcher.ts) and each resolves once its records are acknowledged, with their
 *   positions. Records are partitioned by `partitionFor` (kafkajs' default rule too).
 * - **Consuming.** One kafkajs consumer per `consumer()` (kafka-consumer.ts): manual commits,
 *   eager revocation before every re-join, assignment from kafkajs' GROUP_JOIN event.
 * - **Topics.** `createTopics` uses the admin API, or the `topicCreator` option when the cluster
 *   has no usable admin API (librdkafka's mock names a controller that does not exist, so
 *   CreateTopics cannot be sent: the specs pass the mock launcher's `create` command).
 *   `partitionCount` and `createTopics` read the metadata of every topic rather than of one, so
 *   that asking about an unknown topic never auto-creates it (the mock creates any topic named in
 *   a metadata request, whatever the request's `allowAutoTopicCreation` says).
 * - **Errors.** kafkajs failures become TroupeErrors (kafka-errors.ts): `unavailable` (retriable)
 *   while brokers are unreachable; `closed` after `close()`; consumer crashes and listener
 *   failures go to `onError`.
 *
 * Known limits: a producer handle's `close()` only closes the handle (the shared kafkajs producer
 * lives until the log closes); `endOffset` and `committedOffset` name the topic in a metadata
 * request, so on a broker that auto-creates topics they create an unknown one. Rebalance limits:
 * see kafka-consumer.ts.
 */

import { fixKafkaIdleSpin } from './kafka-idle-spin-fix.js';
import { Kafka, logLevel, type Admin, type KafkaConfig, type Producer as KafkaProducer, type RetryOptions } from 'kafkajs';
import { TroupeError } from '../errors.js';
import { checkTopicName, positiveInteger } from './arguments.js';
import { ProducerHandle } from './producer-handle.js';
import { KafkaGroupConsumer, type KafkaConsumerHost, type KafkaConsumerSettings } from './kafka-consumer.js';
import { fromKafkaError } from './kafka-errors.js';
import { toKafkaMessages } from './kafka-records.js';
import { SendBatcher } from './kafka-send-batcher.js';
import { SameTurnReads } from './same-turn-reads.js';
import type {
  ConsumerOptions,
  GroupConsumer,
  Log,
  ProduceRecord,
  Producer,
  RecordPosition,
  TopicPartition,
  TopicSpec,
} from './port.js';

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Default `troupe`. */
  clientId?: string;
  /** kafkajs' log level. Default NOTHING: failures that matter reach `onError`. */
  logLevel?: logLevel;
  /** Retries of every kafkajs call (kafkajs' own defaults: 5 retries from 300 ms, doubling). */
  retry?: RetryOptions;
  /** Builds each kafkajs client (default `new Kafka(config)`): a seam for tests. */
  createClient?: (config: KafkaConfig) => Kafka;
  /**
   * Creates a topic that `createTopics` found missing, instead of the admin API. For brokers whose
   * admin API cannot be used, such as librdkafka's mock cluster in the specs.
   */
  topicCreator?: (topic: string, partitions: number) => Promise<void>;
  /** Idempotent producer (acks=all, deduplicated retries). Default true. */
  idempotent?: boolean;
  /** Consumer group session timeout. Default 30 000 ms (kafkajs' default). */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to re-join. Default 60 000 ms. */
  rebalanceTimeoutMs?: number;
  /** Default 3 000 ms; must be below the session timeout. */
  heartbeatIntervalMs?: number;
  /** Longest wait of a fetch for new records. Default 5 000 ms. */
  maxWaitTimeMs?: number;
  /**
   * The same for a consumer whose fetches came back empty for a second; its first records bring
   * it back to `maxWaitTimeMs` (kafka-fetch-wait.ts). Default: `maxWaitTimeMs`.
   */
  idleWaitTimeMs?: number;
  /**
   * How long a produce request waits for more `send` calls to join it (kafka-send-batcher.ts).
   * Default 0: only the calls of the same event-loop turn.
   */
  produceLingerMs?: number;
  /** Default 1 byte: a fetch returns as soon as anything is there. */
  minBytes?: number;
  /** Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Batches of different partitions handed to a listener at once. Default 16. */
  partitionsConsumedConcurrently?: number;
  /** Delay before a batch whose `onRecords` rejected is delivered again. Default 250 ms. */
  retryDelayMs?: number;
  /** Told about consumer crashes and listener failures. Default: a process warning. */
  onError?: (error: unknown, what: string) => void;
  /**
   * A consumer crashed with an error kafkajs does not retry and will not consume again: the
   * owner should treat the node as broken (a cluster node exits so that it is restarted).
   */
  onMemberFailed?: (groupId: string, error: unknown) => void;
}

export class KafkaLog implements Log {
  private readonly config: KafkaConfig;
  private readonly createClient: (config: KafkaConfig) => Kafka;
  private readonly client: Kafka;
  private readonly admin: Admin;
  private readonly producerClient: KafkaProducer;
  private readonly batcher: SendBatcher;
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private readonly host: KafkaConsumerHost;
  private readonly topicCreator: ((topic: string, partitions: number) => Promise<void>) | undefined;
  private adminReady: Promise<void> | null = null;
  private producerReady: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  constructor(options: KafkaLogOptions) {
    fixKafkaIdleSpin();
    if (!Array.isArray(options.brokers) || options.brokers.length === 0) {
      throw new TroupeError('invalid_argument', 'KafkaLog needs at least one broker');
    }
    this.config = {
      brokers: options.brokers,
      clientId: options.clientId ?? 'troupe',
      logLevel: options.logLevel ?? logLevel.NOTHING,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    };
    this.createClient = options.createClient ?? ((config) => new Kafka(config));
    this.topicCreator = options.topicCreator;
    this.client = this.createClient(this.config);
    this.admin = this.client.admin();
    this.batcher = new SendBatcher((topicMessages) => this.producerClient.sendBatch({ topicMessages, acks: -1 }), undefined, options.produceLingerMs ?? 0);
    const idempotent = options.idempotent ?? true;
    this.producerClient = this.client.producer({
      idempotent,
      ...(idempotent ? { maxInFlightRequests: 1 } : {}),
      allowAutoTopicCreation: true,
      createPartitioner: () => this.batcher.partitioner,
    });
    const settings: KafkaConsumerSettings = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
      maxWaitTimeMs: options.maxWaitTimeMs ?? 5_000,
      idleWaitTimeMs: options.idleWaitTimeMs ?? options.maxWaitTimeMs ?? 5_000,
      minBytes: options.minBytes ?? 1,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1024 * 1024,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 16,
      retryDelayMs: options.retryDelayMs ?? 250,
    };
    const onError = options.onError ?? warn;
    // The narrow view of the log its consumers get (kept off the public surface).
    this.host = {
      isClosed: () => this.closing !== null,
      settings,
      createClient: () => this.createClient(this.config),
      committedOffsets: (groupId, topics) => this.groupOffsets(groupId, topics),
      left: (member) => this.consumers.delete(member),
      reportError: onError,
      memberFailed: (groupId, error) => options.onMemberFailed?.(groupId, error),
    };
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    this.assertOpen();
    for (const spec of topics) {
      checkTopicName(spec.topic);
      positiveInteger(spec.partitions, `partitions of ${spec.topic}`);
    }
    const existing = await this.topicPartitions();
    const missing = new Map<string, number>();
    for (const spec of topics) {
      if (!existing.has(spec.topic) && !missing.has(spec.topic)) missing.set(spec.topic, spec.partitions);
    }
    if (missing.size === 0) return;
    if (this.topicCreator !== undefined) {
      for (const [topic, partitions] of missing) await this.createWith(this.topicCreator, topic, partitions);
      return;
    }
    try {
      await this.admin.createTopics({
        topics: [...missing].map(([topic, numPartitions]) => ({ topic, numPartitions })),
        waitForLeaders: true,
      });
    } catch (err) {
      throw fromKafkaError(err, 'creating topics');
    }
  }

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    const count = (await this.topicPartitions()).get(topic);
    if (count === undefined) throw new TroupeError('not_found', `no topic ${topic}`);
    return count;
  }

  producer(): Producer {
    return new ProducerHandle((topic, records) => this.append(topic, records));
  }

  consumer(options: ConsumerOptions): GroupConsumer {
    const member = new KafkaGroupConsumer(this.host, options);
    this.consumers.add(member);
    return member;
  }

  async committedOffset(groupId: string, partition: TopicPartition): Promise<string | null> {
    this.assertOpen();
    const offsets = await this.groupOffsetReads.get(JSON.stringify([groupId, partition.topic]));
    const offset = offsets.get(`${partition.topic}/${partition.partition}`);
    return offset === undefined ? null : offset.toString();
  }

  async endOffset(partition: TopicPartition): Promise<string> {
    const offsets = await this.topicEndReads.get(partition.topic);
    const found = offsets.find((entry) => entry.partition === partition.partition);
    if (found === undefined) throw new TroupeError('not_found', `no partition ${partition.topic}/${partition.partition}`);
    return found.high;
  }

  /** Stops every consumer (each gets `onRevoked`), then disconnects; calls then reject with `closed`. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((member) => member.stop()));
      await Promise.all([
        this.producerReady === null ? undefined : this.producerClient.disconnect().catch(() => undefined),
        this.adminReady === null ? undefined : this.admin.disconnect().catch(() => undefined),
      ]);
    })();
    return this.closing;
  }

  // ---- internals ----

  private async append(topic: string, records: ProduceRecord[]): Promise<RecordPosition[]> {
    this.assertOpen();
    checkTopicName(topic);
    const messages = toKafkaMessages(records);
    if (messages.length === 0) return [];
    this.producerReady ??= this.producerClient.connect().catch((err: unknown) => {
      this.producerReady = null;
      throw err;
    });
    try {
      await this.producerReady;
      return await this.batcher.send(topic, messages);
    } catch (err) {
      if (this.closing !== null) throw new TroupeError('closed', 'the log is closed', { cause: err });
      throw fromKafkaError(err, `producing to ${topic}`);
    }
  }

  private async connectedAdmin(): Promise<Admin> {
    this.assertOpen();
    this.adminReady ??= this.admin.connect().catch((err: unknown) => {
      this.adminReady = null;
      throw err;
    });
    try {
      await this.adminReady;
    } catch (err) {
      throw fromKafkaError(err, 'connecting');
    }
    return this.admin;
  }

  /** Partition counts of every topic (one metadata request naming none, so nothing is auto-created). */
  private async topicPartitions(): Promise<Map<string, number>> {
    const admin = await this.connectedAdmin();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [] });
      return new Map(topics.map((topic) => [topic.name, topic.partitions.length]));
    } catch (err) {
      throw fromKafkaError(err, 'reading topic metadata');
    }
  }

  /** The end offsets of every partition of a topic: one request for the reads of one turn. */
  private readonly topicEndReads = new SameTurnReads(async (topic) => {
    const admin = await this.connectedAdmin();
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (err) {
      throw fromKafkaError(err, `reading the end of ${topic}`);
    }
  });

  /** A group's committed offsets in one topic (key: JSON of [group, topic]): one request per turn. */
  private readonly groupOffsetReads = new SameTurnReads((key) => {
    const [groupId, topic] = JSON.parse(key) as [string, string];
    return this.groupOffsets(groupId, [topic]);
  });

  private async groupOffsets(groupId: string, topics: readonly string[]): Promise<Map<string, bigint>> {
    const admin = await this.connectedAdmin();
    try {
      const result = await admin.fetchOffsets({ groupId, topics: [...topics] });
      const offsets = new Map<string, bigint>();
      for (const { topic, partitions } of result) {
        for (const { partition, offset } of partitions) {
          const value = BigInt(offset);
          if (value >= 0n) offsets.set(`${topic}/${partition}`, value);
        }
      }
      return offsets;
    } catch (err) {
      throw fromKafkaError(err, `reading the offsets of group ${groupId}`);
    }
  }

  private async createWith(
    creator: (topic: string, partitions: number) => Promise<void>,
    topic: string,
    partitions: number,
  ): Promise<void> {
    try {
      await creator(topic, partitions);
    } catch (err) {
      // Someone else may have created it meanwhile: that is what was asked for.
      if ((await this.topicPartitions()).has(topic)) return;
      throw new TroupeError('unavailable', `creating topic ${topic}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        retriable: true,
      });
    }
  }

  private assertOpen(): void {
    if (this.closing !== null) throw new TroupeError('closed', 'the log is closed');
  }
}

function warn(error: unknown, what: string): void {
  const detail = error instanceof Error ? error.message : String(error);
  process.emitWarning(`kafka log: ${what}: ${detail}`, { code: 'TROUPE_KAFKA_LOG' });
}
