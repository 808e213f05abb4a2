/**
 * One process of the hop floor (bench/hop-floor.ts): a bare client or server of one dependency a
 * message passes through in the cluster, with no Troupe code in between. Clients run their
 * operation at a fixed rate, open loop, sleeping between operations as a cluster's processes do
 * at a few hundred messages a second; servers answer. Each reports the operations it finished
 * and its own CPU (process.cpuUsage: every thread) when the parent asks.
 *
 *   hop-peer <role> <json options>
 *
 * Roles, one dependency each: kafka-producer, kafka-consumer, grpc-server, grpc-client,
 * mysql-client, redis-client, ws-server, ws-client. The pipeline, a message's whole path:
 * pipe-edge (a gateway's Kafka side: produces each message upstream, consumes its downstream
 * topic), pipe-logic (consumes upstream; per turn one Redis lookup, one gRPC call per repo
 * stand-in and one produce downstream, as the cluster coalesces them) and pipe-repo (a gRPC
 * server committing each call's messages in one MySQL transaction of two round trips).
 */
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { logLevel, type Consumer, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import mysql from 'mysql2';
import uWS from 'uWebSockets.js';
import WebSocket from 'ws';
import { kafkaClientWithControllerFallback } from '../../transport/log/kafka-controller-fallback.js';
import { fixKafkaIdleSpin } from '../../transport/log/kafka-idle-spin-fix.js';
import { oneInFlight, perTurn } from './batching.js';

export interface HopPeerOptions {
  /** Operations a second (clients and producers). */
  rate?: number;
  brokers?: string[];
  topic?: string;
  group?: string;
  /** Fetch wait of a consumer, ms. */
  maxWaitMs?: number;
  /** grpc-client: the servers' ports (calls alternate); ws-client: the servers' ports. */
  ports?: number[];
  url?: string;
  /** Bytes of each payload (a message record, a call, a frame). */
  payloadBytes?: number;
  /** pipe-edge: which of the two gateway stand-ins, 0 or 1. */
  edge?: number;
  /** pipe-logic: append over one bidi stream per repo stand-in instead of a unary call per turn. */
  stream?: boolean;
  /** The pipeline's topics and groups end with it, so two pipelines of one run share nothing. */
  tag?: string;
}

export type ToHopPeer = { type: 'start' } | { type: 'report' };
export type FromHopPeer = { type: 'ready'; port?: number } | { type: 'report'; ops: number; failures: number; cpuUs: number } | { type: 'failed'; error: string };

function send(message: FromHopPeer): void {
  process.send?.(message);
}

function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

let ops = 0;
let failures = 0;
const done = (): void => void (ops += 1);
const failed = (): void => void (failures += 1);

/** Calls `op` `rate` times a second, open loop: a late timer runs every operation that fell due meanwhile. */
function paced(rate: number, op: (i: number) => void): void {
  const start = performance.now();
  let issued = 0;
  const tick = (): void => {
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    while (issued < due) op(issued++);
    setTimeout(tick, Math.max(1, ((issued + 1) * 1000) / rate - (performance.now() - start)));
  };
  tick();
}

function payload(bytes: number): Buffer {
  return Buffer.alloc(bytes, 'm');
}

/** A started client: what to run once the parent says start. */
type Starter = () => void;

async function kafkaProducer(o: HopPeerOptions): Promise<Starter> {
  fixKafkaIdleSpin();
  const kafka = kafkaClientWithControllerFallback({ brokers: o.brokers ?? [], clientId: 'floor', logLevel: logLevel.NOTHING });
  // As the cluster's producers: idempotent, acks=all, one request in flight.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const value = payload(o.payloadBytes ?? 300);
  return () =>
    paced(o.rate ?? 1, (i) => {
      producer.send({ topic: o.topic ?? '', acks: -1, messages: [{ key: `c${i % 1000}`, value }] }).then(done, failed);
    });
}

async function kafkaConsumer(o: HopPeerOptions): Promise<void> {
  fixKafkaIdleSpin();
  const kafka = kafkaClientWithControllerFallback({ brokers: o.brokers ?? [], clientId: 'floor', logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: o.group ?? 'floor', maxWaitTimeInMs: o.maxWaitMs ?? 20, minBytes: 1 });
  await consumer.connect();
  await consumer.subscribe({ topics: [o.topic ?? ''], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 16,
    // Offsets committed once a second, as the cluster commits on a shared tick, not after every batch.
    autoCommitInterval: 1_000,
    eachBatch: async ({ batch }) => {
      ops += batch.messages.length;
    },
  });
}

const RAW = {
  path: '/floor.Hop/Call',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
} as const;

async function grpcServer(): Promise<number> {
  const server = new grpc.Server();
  const answer = payload(40);
  server.addService({ call: RAW }, {
    call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      ops += 1;
      callback(null, answer);
    },
  });
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err))));
}

async function grpcClient(o: HopPeerOptions): Promise<Starter> {
  const Client = grpc.makeGenericClientConstructor({ call: RAW }, 'Hop');
  type HopClient = grpc.Client & { call: (b: Buffer, opts: grpc.CallOptions, cb: (err: unknown) => void) => void };
  const clients = (o.ports ?? []).map((port) => new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HopClient);
  const request = payload(o.payloadBytes ?? 300);
  // Connect first, so the measured calls are steady-state calls.
  await Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())))));
  return () =>
    paced(o.rate ?? 1, (i) => {
      const client = clients[i % clients.length];
      client?.call(request, { deadline: Date.now() + 5_000 }, (err) => (err ? failed() : done()));
    });
}

async function mysqlClient(o: HopPeerOptions): Promise<Starter> {
  const connection = mysql.createConnection({ uri: o.url ?? '', multipleStatements: true });
  const body = 'm'.repeat(o.payloadBytes ?? 100);
  const id = `${process.pid}-`;
  return () =>
    paced(o.rate ?? 1, (i) => {
      // Two round trips, as the cluster's append: everything up to the COMMIT, then the COMMIT.
      connection.query('BEGIN; INSERT INTO floor_messages (id, body, ts) VALUES (?, ?, ?)', [id + i, body, Date.now()], (err) => {
        if (err) return failed();
        connection.query('COMMIT', (commitErr) => (commitErr ? failed() : done()));
      });
    });
}

async function redisClient(o: HopPeerOptions): Promise<Starter> {
  const redis = new Redis(o.url ?? '');
  await redis.hset('floor:a', { gw: 'gateway-1', at: '1' });
  await redis.hset('floor:b', { gw: 'gateway-2', at: '1' });
  redis.defineCommand('lookup', { numberOfKeys: 2, lua: "return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}" });
  const lookup = (redis as unknown as { lookup: (a: string, b: string) => Promise<unknown> }).lookup.bind(redis);
  return () => paced(o.rate ?? 1, () => void lookup('floor:a', 'floor:b').then(done, failed));
}

/** A gateway stand-in: each frame in is answered on its socket (the ack) and pushed to another socket (the delivery). */
async function wsServer(): Promise<number> {
  const sockets: uWS.WebSocket<unknown>[] = [];
  const ack = payload(60);
  const delivery = payload(200);
  let next = 0;
  return new Promise((resolve, reject) => {
    uWS
      .App()
      .ws('/*', {
        open: (ws) => void sockets.push(ws),
        close: (ws) => {
          const index = sockets.indexOf(ws);
          if (index !== -1) sockets.splice(index, 1);
        },
        message: (ws) => {
          ws.send(ack, true);
          const peer = sockets[(next = (next + 1) % sockets.length)];
          peer?.send(delivery, true);
          ops += 1;
        },
      })
      .listen('127.0.0.1', 0, (listenSocket) => (listenSocket ? resolve(uWS.us_socket_local_port(listenSocket)) : reject(new Error('uWS could not listen'))));
  });
}

async function wsClient(o: HopPeerOptions): Promise<Starter> {
  const SOCKETS_PER_SERVER = 20;
  const sockets: WebSocket[] = [];
  for (const port of o.ports ?? []) {
    for (let i = 0; i < SOCKETS_PER_SERVER; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      sockets.push(ws);
    }
  }
  const frame = payload(o.payloadBytes ?? 150);
  return () => paced(o.rate ?? 1, (i) => sockets[i % sockets.length]?.send(frame));
}

// ---- The pipeline: the message path of a cluster with bare libraries, batching as the cluster does ----

/** Sends as the cluster's producers do: one request in flight, everything asked for meanwhile in the next. */
function coalescedProducer(producer: Producer): (topicMessages: Array<{ topic: string; messages: Message[] }>) => Promise<void> {
  return oneInFlight((batches: Array<Array<{ topic: string; messages: Message[] }>>) => producer.sendBatch({ acks: -1, topicMessages: batches.flat() }).then(() => undefined));
}

/** A wire message of the pipeline: "<edge>|<recipientEdge>|<conv>|<sentAt>|<body>". */
async function pipeEdge(o: HopPeerOptions): Promise<Starter> {
  fixKafkaIdleSpin();
  const kafka = kafkaClientWithControllerFallback({ brokers: o.brokers ?? [], clientId: 'floor-edge', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const send = coalescedProducer(producer);
  const consumer = kafka.consumer({ groupId: `floor-edge${o.tag ?? ''}-${o.edge}`, maxWaitTimeInMs: o.maxWaitMs ?? 20, minBytes: 1 });
  await consumer.connect();
  await consumer.subscribe({ topics: [`floor-down${o.tag ?? ''}-${o.edge}`], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 16,
    autoCommitInterval: 1_000,
    eachBatch: async ({ batch }) => {
      // Acks count the messages; deliveries are the other half of the downstream records.
      for (const m of batch.messages) if (m.value?.[0] === 0x61) ops += 1;
    },
  });
  const body = 'm'.repeat(o.payloadBytes ?? 100);
  return () =>
    paced(o.rate ?? 1, (i) => {
      const to = i % 2 === 0 ? o.edge : (o.edge ?? 0) ^ 1;
      const conv = `c${o.edge}-${i % 200}`;
      send([{ topic: `floor-up${o.tag ?? ''}`, messages: [{ key: conv, value: `${o.edge}|${to}|${conv}|${Date.now()}|${body}` }] }]).catch(failed);
    });
}

async function pipeLogic(o: HopPeerOptions): Promise<void> {
  fixKafkaIdleSpin();
  const kafka = kafkaClientWithControllerFallback({ brokers: o.brokers ?? [], clientId: 'floor-logic', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const produce = coalescedProducer(producer);
  const redis = new Redis(o.url ?? '');
  redis.defineCommand('lookup', { lua: "local r = {} for i, k in ipairs(KEYS) do r[i] = redis.call('HGETALL', k) end return r" });
  await redis.hset('floor:presence:0', { gw: 'gateway-1', at: '1' });
  await redis.hset('floor:presence:1', { gw: 'gateway-2', at: '1' });
  const lookupScript = (redis as unknown as { lookup: (n: number, ...keys: string[]) => Promise<unknown[]> }).lookup.bind(redis);
  const lookup = perTurn<string[], unknown>(async (keyLists) => {
    const keys = keyLists.flat();
    await lookupScript(keys.length, ...keys);
    return keyLists.map(() => undefined);
  });
  const Client = grpc.makeGenericClientConstructor({ call: RAW }, 'Hop');
  type HopClient = grpc.Client & { call: (b: Buffer, opts: grpc.CallOptions, cb: (err: unknown, answer?: Buffer) => void) => void };
  const repos = (o.ports ?? []).map((port) => new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HopClient);
  const appendTo = repos.map((client) => {
    const append = o.stream
      ? streamAppender(client)
      : (lines: string[]) => new Promise<void>((resolve, reject) => client.call(Buffer.from(lines.join('\n')), { deadline: Date.now() + 5_000 }, (err) => (err ? reject(err) : resolve())));
    return perTurn<string[], void>(async (lists) => {
      await append(lists.flat());
      return lists.map(() => undefined);
    });
  });
  await Promise.all(repos.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())))));
  const relay = pipeRelay(lookup, appendTo, produce, o.tag ?? '');
  const consumer = kafka.consumer({ groupId: `floor-logic${o.tag ?? ''}`, maxWaitTimeInMs: o.maxWaitMs ?? 20, minBytes: 1 });
  await consumer.connect();
  await consumer.subscribe({ topics: [`floor-up${o.tag ?? ''}`], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 16,
    // Offsets committed once a second, as the cluster commits on a shared tick, not after every batch.
    autoCommitInterval: 1_000,
    eachBatch: async ({ batch }) => {
      try {
        await relay(batch.messages);
      } catch (err) {
        // kafkajs retries the batch; the parent sees the failure count, and the first error here.
        if (failures++ === 0) process.stderr.write(`pipe-logic: ${err instanceof Error ? err.message : String(err)}\n`);
        throw err;
      }
    },
  });
}

/** A logic stand-in's work for one batch: presence, the appends, then the downstream records. */
function pipeRelay(lookup: (keys: string[]) => Promise<unknown>, appendTo: Array<(lines: string[]) => Promise<void>>, produce: (batches: Array<{ topic: string; messages: Message[] }>) => Promise<void>, tag: string): (messages: KafkaMessage[]) => Promise<void> {
  return async (messages) => {
    const lines = messages.map((m) => m.value?.toString() ?? '');
    const byRepo = new Map<number, string[]>();
    for (const line of lines) {
      const conv = line.split('|', 3)[2] ?? '';
      let hash = 0;
      for (let i = 0; i < conv.length; i++) hash = (hash * 31 + conv.charCodeAt(i)) | 0;
      const repo = Math.abs(hash) % appendTo.length;
      const list = byRepo.get(repo);
      if (list === undefined) byRepo.set(repo, [line]);
      else list.push(line);
    }
    await Promise.all([
      lookup(lines.flatMap((line) => line.split('|', 2).map((edge) => `floor:presence:${edge}`))),
      ...[...byRepo].map(([repo, list]) => appendTo[repo]!(list)),
    ]);
    const down = new Map<string, Message[]>();
    for (const line of lines) {
      const [from, to] = line.split('|', 2);
      const key = line.split('|', 3)[2] ?? '';
      const add = (topic: string, value: string): void => {
        const list = down.get(topic);
        if (list === undefined) down.set(topic, [{ key, value }]);
        else list.push({ key, value });
      };
      add(`floor-down${tag}-${from}`, `a|${line.slice(0, 60)}`);
      add(`floor-down${tag}-${to}`, `d|${line}`);
    }
    await produce([...down].map(([topic, records]) => ({ topic, messages: records })));
    ops += lines.length;
  };
}

/** The method the logic stand-ins use when `stream` is set: one bidi stream per repo, each message "<id>\n<lines>", each answer "<id>". */
const RAW_STREAM = { ...RAW, path: '/floor.Hop/Stream', requestStream: true, responseStream: true } as const;

/** A repo node stand-in: every call (or stream message) is one transaction of its messages, in two round trips. */
async function pipeRepo(o: HopPeerOptions): Promise<number> {
  const pool = mysql.createPool({ uri: o.url ?? '', multipleStatements: true, connectionLimit: 4 });
  const commit = (lines: string[], then: (err: Error | null) => void): void => {
    const values: unknown[] = [];
    for (const line of lines) values.push(`${process.pid}-${ops++}`, line, Date.now());
    pool.getConnection((err, connection) => {
      if (err) return then(err);
      const placeholders = lines.map(() => '(?, ?, ?)').join(', ');
      connection.query(`BEGIN; INSERT INTO floor_messages (id, body, ts) VALUES ${placeholders}`, values, (insertErr) => {
        if (insertErr) {
          connection.release();
          return then(insertErr);
        }
        connection.query('COMMIT', (commitErr) => {
          connection.release();
          then(commitErr);
        });
      });
    });
  };
  const server = new grpc.Server();
  const answer = payload(40);
  server.addService({ call: RAW, stream: RAW_STREAM }, {
    call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      commit(call.request.toString().split('\n'), (err) => (err ? callback({ code: grpc.status.INTERNAL, details: err.message }) : callback(null, answer))),
    stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (request: Buffer) => {
        const [id, ...lines] = request.toString().split('\n');
        commit(lines, (err) => call.write(Buffer.from(err ? `${id}!${err.message}` : (id ?? ''))));
      });
      call.on('end', () => call.end());
    },
  });
  return new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err))));
}

/** Appends to one repo stand-in over one long-lived bidi stream: no HTTP/2 stream per call. */
function streamAppender(client: grpc.Client): (lines: string[]) => Promise<void> {
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  const stream = client.makeBidiStreamRequest(RAW_STREAM.path, RAW_STREAM.requestSerialize, RAW_STREAM.responseDeserialize);
  stream.on('data', (answer: Buffer) => {
    const text = answer.toString();
    const bang = text.indexOf('!');
    const id = bang === -1 ? text : text.slice(0, bang);
    const w = waiting.get(id);
    waiting.delete(id);
    if (bang === -1) w?.resolve();
    else w?.reject(new Error(text.slice(bang + 1)));
  });
  stream.on('error', (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  });
  let next = 0;
  return (lines) =>
    new Promise<void>((resolve, reject) => {
      const id = String(next++);
      waiting.set(id, { resolve, reject });
      stream.write(Buffer.from(`${id}\n${lines.join('\n')}`));
    });
}

async function main(): Promise<void> {
  const [role, json] = process.argv.slice(2);
  const o = JSON.parse(json ?? '{}') as HopPeerOptions;
  let starter: Starter | undefined;
  let port: number | undefined;
  if (role === 'kafka-producer') starter = await kafkaProducer(o);
  else if (role === 'kafka-consumer') await kafkaConsumer(o);
  else if (role === 'grpc-server') port = await grpcServer();
  else if (role === 'grpc-client') starter = await grpcClient(o);
  else if (role === 'mysql-client') starter = await mysqlClient(o);
  else if (role === 'redis-client') starter = await redisClient(o);
  else if (role === 'ws-server') port = await wsServer();
  else if (role === 'ws-client') starter = await wsClient(o);
  else if (role === 'pipe-edge') starter = await pipeEdge(o);
  else if (role === 'pipe-logic') await pipeLogic(o);
  else if (role === 'pipe-repo') port = await pipeRepo(o);
  else throw new Error(`hop-peer: unknown role ${String(role)}`);
  process.on('message', (message: ToHopPeer) => {
    if (message.type === 'start') starter?.();
    else if (message.type === 'report') send({ type: 'report', ops, failures, cpuUs: cpuMicros() });
  });
  send(port === undefined ? { type: 'ready' } : { type: 'ready', port });
}

process.on('disconnect', () => process.exit(0));
main().catch((err: unknown) => {
  send({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
