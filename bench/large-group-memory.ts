/**
 * What one 100,000-member group costs in memory on each role (docs/architecture.md, "Large
 * groups"), measured as retained heap after full collections:
 *
 * - logic: a conversation actor's state holding the group, loaded from SQLite as the actor
 *   loads it (the row and every member with its read cursor), then its task pool slots' digests;
 * - logic, per message: the fanout jobs of one message (one per slot, naming no member),
 *   encoded, held until the task topic took them;
 * - task: the node's copy of the group's members (actors/task/member-directory.ts), read from
 *   the store as on first use, and one message's jobs decoded.
 *
 *     node --expose-gc --import tsx bench/large-group-memory.ts [members] [poolSize]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConversationState } from '../actors/conversation/conversation-state.js';
import { FanoutJobs } from '../actors/logic/fanout-jobs.js';
import { decodeTask } from '../actors/records/codec.js';
import type { TaskRecord } from '../actors/records/types.js';
import { MemberDirectory } from '../actors/task/member-directory.js';
import { migrateLatest } from '../sql/migrate.js';
import type { ProduceRecord, Producer } from '../transport/log/port.js';
import { openSqliteStore } from '../transport/store/sqlite.js';

const MEMBERS = Number(process.argv[2] ?? 100_000);
const POOL = Number(process.argv[3] ?? 16);
/** A `msg` frame with a 100-character text, as the benchmark sends. */
const FRAME = JSON.stringify({ type: 'msg', conv: 'c_bench0000000000', seq: 1, id: 'm_0000000000000000', from: 'u_0000000000000000', body: { text: 'x'.repeat(100) }, ts: Date.now() });

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

/** Heap in use after full collections, with the buffers outside it (encoded records live there). */
function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** A producer that keeps what it is given, as the log's client holds a send until it is taken. */
class HoldingProducer implements Producer {
  records: ProduceRecord[] = [];
  async send(_topic: string, records: ProduceRecord[]): Promise<never[]> {
    this.records.push(...records);
    return [];
  }
  async close(): Promise<void> {}
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-lg-memory-'));
  const { store, knex } = await openSqliteStore(join(dir, 'troupe.db'));
  try {
    await migrateLatest(knex);
    const ids = Array.from({ length: MEMBERS }, (_, i) => `u_${i.toString(36).padStart(16, '0')}`);
    for (let i = 0; i < ids.length; i += 5000) {
      await knex.batchInsert('users', ids.slice(i, i + 5000).map((id) => ({ id, username: id.slice(2), display_name: id, password_hash: 'x', created_at: 1 })), 400);
    }
    await store.createGroup({ id: 'c_bench0000000000', type: 'group', name: 'bench', ownerId: ids[0]!, lastSeq: 0, memberCount: MEMBERS, createdAt: 1 }, ids);
    console.log(`${MEMBERS} members, ${POOL} pool slots`);

    // Logic: the conversation actor's state.
    let before = heap();
    const state = new ConversationState('c_bench0000000000', store);
    await state.load();
    const loaded = heap() - before;
    before = heap();
    const slots = state.slots(POOL);
    const slotted = heap() - before;
    console.log(`logic: conversation state ${mib(loaded)} (${Math.round(loaded / MEMBERS)} B a member), its pool slots' digests ${(slotted / 1024).toFixed(1)} KiB more`);

    // Logic: one message's jobs, encoded and held until produced: one per slot, naming no member.
    const producer = new HoldingProducer();
    before = heap();
    const batch = new FanoutJobs(producer, 'im-task').batch();
    batch.addWhole(state.id, slots, (wholeSlot): TaskRecord => ({ type: 'fanout', conv: state.id, seq: 1, frames: [FRAME], members: [], wholeSlot, except: { gatewayId: 'gw-1', connId: 'k_0000000000000000' } }));
    await batch.flush();
    const jobs = producer.records;
    const encoded = heap() - before;
    const bytes = jobs.reduce((n, r) => n + r.value.byteLength, 0);
    console.log(`logic: one message makes ${jobs.length} jobs, ${(bytes / 1024).toFixed(1)} KiB on the wire, ${(encoded / 1024).toFixed(0)} KiB of heap until produced`);

    // Task: the node's copy of the group (read from the store as on first use), then one message's jobs decoded.
    before = heap();
    const directory = new MemberDirectory(store);
    const first = decodeTask(jobs[0]!.value);
    if (first.type !== 'fanout' || first.wholeSlot === undefined) throw new Error('a whole-slot job was expected');
    await directory.slot(state.id, first.wholeSlot);
    const copied = heap() - before;
    console.log(`task: its copy of the group ${mib(copied)} (${Math.round(copied / MEMBERS)} B a member)`);
    before = heap();
    const all = jobs.map((r) => decodeTask(r.value));
    const allJobs = heap() - before;
    console.log(`task: one message's ${all.length} jobs in flight ${(allJobs / 1024).toFixed(0)} KiB`);
    if (state.members.size !== MEMBERS || directory.size !== MEMBERS || all.length === 0) throw new Error('nothing measured');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
