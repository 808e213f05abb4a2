// Covers docs/protocol.md § WebSocket (close 1013 while shutting down) and § Guarantees: Durability,
// on the real process: `troupe dev` gets SIGTERM while clients are sending, exits 0, and after a
// restart on the same data every acked message is stored with the seq its ack named, seqs have
// no gap, and nothing is stored twice. Messages that were in flight are either acked and stored
// or not acked (stored-but-unacked is allowed: the client re-sends and gets the original ack).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'chai';
import { api, closeAllClients, connect, registerAndLogin, type Json, type WsClient } from '../support/client.js';
import { createGroup, fetchAllMessages } from '../support/chat.js';
import { waitFor } from '../support/wait-for.js';

interface ServerProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/** Fast password hashing, and frame rate limits out of the way of a deliberate stream. */
const SPEC_ENV = {
  TROUPE_AUTH__ARGON2__MEMORY_KIB: '1024',
  TROUPE_AUTH__ARGON2__ITERATIONS: '1',
  TROUPE_GATEWAY__RATE_LIMIT__BURST: '100000',
  TROUPE_GATEWAY__RATE_LIMIT__PER_SECOND: '100000',
};

/** Starts `troupe dev` as a child process on a free port; resolves once it logs its port. */
async function startServerProcess(dataDir: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/troupe.ts', 'dev', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], {
    env: { PATH: process.env.PATH ?? '', ...SPEC_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not report its port within 20 s')), 20_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { message?: string; port?: number };
        if (entry.message === 'troupe embedded server listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`server exited early with ${code}`)));
  });
  return { child, port, exited };
}

describe('protocol: graceful shutdown under load (SIGTERM of troupe dev)', function () {
  this.timeout(90_000);
  let dataDir: string;
  const children: ChildProcess[] = [];

  before(async function () {
    dataDir = await mkdtemp(join(tmpdir(), 'troupe-spec-shutdown-'));
  });
  afterEach(closeAllClients);
  after(async function () {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('exits 0, closes sockets with 1013, and loses no acked message', async function () {
    const first = await startServerProcess(dataDir);
    children.push(first.child);
    const baseUrl = `http://127.0.0.1:${first.port}`;
    const wsUrl = (token: string): string => `ws://127.0.0.1:${first.port}/v1/ws?token=${encodeURIComponent(token)}`;
    const users = [await registerAndLogin(baseUrl), await registerAndLogin(baseUrl), await registerAndLogin(baseUrl)];
    const [owner] = users as [(typeof users)[number]];
    const group = await createGroup(api(baseUrl), owner, users.slice(1).map((u) => u.user.id), 'shutdown');
    const clients: WsClient[] = [];
    for (const user of users) clients.push((await connect(wsUrl(user.accessToken))).client);

    // Every client streams sends without waiting for acks; acks are recorded as they come.
    const acked = new Map<string, Json>();
    const sent: string[] = [];
    let streaming = true;
    const streams = clients.map(async (client, c) => {
      for (let i = 0; streaming && i < 2000; i++) {
        const id = `c${c}-${i}`;
        sent.push(id);
        client.send({ type: 'send', id, conv: group.id, body: { text: id } });
        if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    for (const client of clients) {
      void (async () => {
        for (;;) {
          const ack = await client.next((f) => f.type === 'ack', 60_000).catch(() => null);
          if (ack === null) return;
          acked.set(ack.id, ack);
        }
      })();
    }
    await waitFor(() => acked.size >= 100, { timeoutMs: 20_000, message: '100 acks before the signal' });
    first.child.kill('SIGTERM');
    const closes = await Promise.all(clients.map((c) => c.closed));
    streaming = false;
    await Promise.all(streams);
    for (const close of closes) expect(close.code, 'close code while shutting down').to.equal(1013);
    expect(await first.exited, 'exit status after SIGTERM').to.equal(0);

    const second = await startServerProcess(dataDir);
    children.push(second.child);
    try {
      const stored = await fetchAllMessages(api(`http://127.0.0.1:${second.port}`), owner.accessToken, group.id);
      const seqs = stored.map((m: Json) => m.seq as number);
      expect(seqs, 'seqs 1..N without gap').to.deep.equal(seqs.map((_: number, i: number) => i + 1));
      const byId = new Map<string, Json>(stored.map((m: Json) => [`${m.from}/${m.id}`, m]));
      expect(byId.size, 'no message stored twice').to.equal(stored.length);
      const storedIds = new Set(stored.map((m: Json) => m.id as string));
      for (const [id, ack] of acked) {
        expect(storedIds.has(id), `acked ${id} is stored`).to.equal(true);
        const message = stored.find((m: Json) => m.id === id);
        expect(message.seq, `acked ${id} keeps its seq`).to.equal(ack.seq);
        expect(message.ts, `acked ${id} keeps its ts`).to.equal(ack.ts);
      }
      expect(stored.length, 'only sent messages are stored').to.be.at.most(sent.length);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).to.equal(0);
    }
  });
});
