/**
 * What the cluster's large-group specs share: a member's WebSocket that keeps only what they
 * check (thousands of them stay cheap), a bounded pool to open or register thousands at once, and
 * timed setup phases that report progress while they run long.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { api, closeSocket, SPEC_PASSWORD, uniqueName, type Api, type Json } from '../support/client.js';
import { waitFor } from '../support/wait-for.js';
import { launchLocalCluster, type RunningCluster } from './local-cluster.js';

/** A phase running longer than this reports its progress on stderr; set SPEC_PHASE_TIMES=1 for every phase's time. */
export const SLOW_PHASE_MS = 30_000;

export interface Member {
  id: string;
  accessToken: string;
  /** 0 or 1: the gateway this member registered on and is connected to. */
  gateway: number;
}


/** A group message as one socket received it. */
export interface Received {
  seq: number;
  id: string;
  from: string;
  body: Json;
}

/**
 * A member's WebSocket that keeps only what this spec checks, so 5,000 of them stay cheap: the
 * group's `msg` frames in arrival order, and the few other frames (ready, acks, errors).
 */
export class MemberSocket {
  readonly received: Received[] = [];
  readonly otherFrames: Json[] = [];
  /** `msg` frames of any other conversation (none expected). */
  strayMsgs = 0;
  closeCode: number | undefined;
  /** Why the socket failed (a refused upgrade's status, a transport error), for failure messages. */
  failure: string | undefined;
  /** The upgrade succeeded (whatever happened afterwards). */
  upgraded = false;
  private readonly closed: Promise<void>;

  private constructor(
    private readonly socket: WebSocket,
    private readonly conv: string,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', (code) => {
      this.closeCode = code;
      resolve();
    }));
    socket.once('unexpected-response', (_req, res) => {
      this.failure = `upgrade refused with HTTP ${res.statusCode}`;
      res.resume();
      socket.terminate();
    });
    // An error also surfaces as a close (1006), which the spec checks; keep its message.
    socket.on('error', (err) => (this.failure ??= err.message));
    socket.on('message', (data) => this.receive(data));
    socket.once('open', () => (this.upgraded = true));
  }

  /** Opens the socket and resolves once its `ready` frame came. */
  static async open(url: string, conv: string, timeoutMs = 30_000): Promise<MemberSocket> {
    const member = new MemberSocket(new WebSocket(url), conv);
    try {
      await waitFor(() => {
        if (member.closeCode !== undefined) throw new Error(`socket closed with ${member.closeCode} before ready (${member.upgraded ? 'after' : 'before'} the upgrade; ${member.failure ?? 'no error'})`);
        return member.ready !== undefined;
      }, { timeoutMs, intervalMs: 20, message: 'ready frame' });
    } catch (err) {
      await member.close();
      throw err;
    }
    return member;
  }

  get ready(): Json {
    return this.otherFrames.find((f) => f.type === 'ready');
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends a message to `conv` and resolves with its ack (or rejects on an error frame). */
  async sendAndAck(conv: string, id: string, body: Json, timeoutMs = 20_000): Promise<Json> {
    this.send({ type: 'send', id, conv, body });
    let answer: Json;
    await waitFor(() => {
      answer = this.otherFrames.find((f) => (f.type === 'ack' || f.type === 'error') && (f.id === id || f.ref === id));
      return answer !== undefined;
    }, { timeoutMs, message: `ack of ${id}` });
    if (answer.type !== 'ack') throw new Error(`send ${id} refused: ${JSON.stringify(answer)}`);
    return answer;
  }

  async close(): Promise<void> {
    await closeSocket(this.socket, this.closed);
  }

  private receive(data: WebSocket.RawData): void {
    let frame: Json;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      frame = { type: '<not json>', data: data.toString() };
    }
    if (frame.type !== 'msg') this.otherFrames.push(frame);
    else if (frame.conv !== this.conv) this.strayMsgs++;
    else this.received.push({ seq: frame.seq, id: frame.id, from: frame.from, body: frame.body });
  }
}

/**
 * Runs `work` on every item with at most `concurrency` at once; `done` counts finished items.
 * After a failure no new item starts, and the first error is thrown once the rest settled, so
 * nothing is still being opened when the spec cleans up.
 */
export async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>, progress: { done: number }): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await work(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
      progress.done++;
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return results;
}

/** Times one setup phase of spec `label`; says on stderr how far it got while it runs long (quiet otherwise). */
export async function phase<R>(label: string, name: string, total: number, run: (progress: { done: number }) => Promise<R>): Promise<R> {
  const progress = { done: 0 };
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const ticker = setInterval(() => process.stderr.write(`    ${label}: ${name}: ${progress.done}/${total} after ${elapsed()}\n`), SLOW_PHASE_MS);
  try {
    return await run(progress);
  } finally {
    clearInterval(ticker);
    if (process.env.SPEC_PHASE_TIMES === '1' || Date.now() - started > SLOW_PHASE_MS) process.stderr.write(`    ${label}: ${name} took ${elapsed()}\n`);
  }
}

/** Whether a process still runs. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until every socket of `group` satisfies `got` (calling `check` each turn); on timeout says how many did. */
export async function waitForSockets(group: MemberSocket[], got: (s: MemberSocket) => boolean, what: string, check = (): void => undefined, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(() => {
      check();
      return group.every(got);
    }, { timeoutMs, intervalMs: 50 });
  } catch (err) {
    const closed = group.filter((s) => s.closeCode !== undefined).length;
    throw new Error(`${group.filter(got).length}/${group.length} sockets got ${what} (${closed} closed): ${(err as Error).message}`);
  }
}

/** A local cluster of two gateways and one logic, repo and task node, as the large-group specs run it. */
export interface GroupCluster {
  cluster: RunningCluster;
  gateways: [string, string];
  http: [Api, Api];
  /** The launcher's last stderr lines (it reports a role that ended there), shown when something failed. */
  log: string[];
}

export async function startGroupCluster(label: string): Promise<GroupCluster> {
  const cluster = await phase(label, 'local-cluster start', 1, () =>
    launchLocalCluster(
      { gateways: 2, logic: 1, repo: 1, task: 1 },
      // A node gives its etcd lease up (and exits 3) once no renewal was answered for half a TTL;
      // registering thousands of users loads both cores, and a long lease outlives that (and the
      // task node stopped on purpose for a few seconds) with room to spare. Cheap hashes for the
      // registrations.
      { logging: { level: 'warn' }, auth: { argon2: { memoryKiB: 1024, iterations: 1 } }, cluster: { leaseTtlMs: 30_000 } },
    ),
  );
  const log: string[] = [];
  cluster.child.stderr?.on('data', (chunk: Buffer) => {
    log.push(...chunk.toString().split('\n').filter((line) => line !== ''));
    log.splice(0, log.length - 60);
  });
  const gateways = cluster.gatewayUrls as [string, string];
  expect(gateways).to.have.length(2);
  return { cluster, gateways, http: [api(gateways[0]), api(gateways[1])], log };
}

/** The WebSocket URL of `member` on its gateway. */
export function wsUrlOf(group: GroupCluster, member: Member): string {
  return `${group.gateways[member.gateway]!.replace('http', 'ws')}/v1/ws?token=${encodeURIComponent(member.accessToken)}`;
}

/** Registers and logs in `count` users, alternating between the gateways, `concurrency` at once. */
export function registerMembers(group: GroupCluster, count: number, prefix: string, concurrency: number, progress: { done: number }): Promise<Member[]> {
  return inPool(Array.from({ length: count }, (_, i) => i % 2), concurrency, async (gateway) => {
    const username = uniqueName(prefix);
    const reg = await group.http[gateway]!('POST', '/v1/users', { username, password: SPEC_PASSWORD });
    if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
    const login = await group.http[gateway]!('POST', '/v1/sessions', { username, password: SPEC_PASSWORD });
    if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${login.text}`);
    return { id: login.body.user.id as string, accessToken: login.body.accessToken as string, gateway };
  }, progress);
}

/**
 * Closes the sockets and stops the cluster (checking it exits 0); first shows the cluster's last
 * log lines when a test of `suite` failed.
 */
export async function stopGroupCluster(label: string, suite: Mocha.Suite | undefined, group: GroupCluster | undefined, sockets: MemberSocket[]): Promise<void> {
  const allPassed = suite?.tests.every((t) => t.state === 'passed') ?? false;
  if (!allPassed && group !== undefined && group.log.length > 0) process.stderr.write(`    ${label}: the cluster's last log lines:\n${group.log.join('\n')}\n`);
  const opened = sockets.filter((s) => s !== undefined);
  await phase(label, 'close the sockets', opened.length, (progress) => inPool(opened, 256, (socket) => socket.close(), progress));
  if (group !== undefined) {
    const code = await phase(label, 'local-cluster stop', 1, () => group.cluster.stop());
    expect(code, 'local-cluster exit code after SIGTERM').to.equal(0);
  }
}
