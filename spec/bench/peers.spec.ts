/**
 * The benchmark's peers (bench/peers/), each started as the benchmark starts it (pinned, through
 * its launcher) and driven through its wire and the benchmark's own setup code: two users, a
 * direct conversation, sends acked with seq 1 then 2 and delivered to the other member, refusals
 * as error frames, and for the Socket.IO peer (which stores) a re-send answered with the stored
 * seq and a sync that returns the history. Then stop() must leave no process behind.
 *
 * One launch per peer: MariaDB's start dominates this file's time.
 */
import { readdir, readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { HttpApi, type Session } from '../../bench/lib/http-api.js';
import type { LaunchOptions, RunningTarget } from '../../bench/lib/running-target.js';
import type { ServerFrame, WireSocket } from '../../bench/lib/wire.js';
import { DeliveryOrder } from '../../bench/peers/socketio/delivery-order.js';
import type { MessagePayload } from '../../bench/peers/socketio/events.js';
import { launchSocketIoPeer } from '../../bench/peers/socketio/launch.js';
import { launchUwsBound } from '../../bench/peers/uws/launch.js';
import { uniqueName, waitFor } from '../support/wait-for.js';

/** The CPU the peers are pinned to, as the benchmark pins a server. */
const PIN = '0';

/** Frames one connection received, for the assertions. */
class Received {
  readonly frames: ServerFrame[] = [];
  unexpectedClose: number | undefined;

  async next(match: (frame: ServerFrame) => boolean, what: string): Promise<ServerFrame> {
    await waitFor(() => this.frames.some(match), { message: what });
    return this.frames.find(match)!;
  }

  msgSeqs(conv: string): number[] {
    return this.frames.filter((f) => f.type === 'msg' && f.conv === conv).map((f) => f.seq!);
  }
}

interface Member {
  session: Session;
  socket: WireSocket;
  received: Received;
}

interface Pair {
  conv: string;
  alice: Member;
  bob: Member;
}

/** POST /v1/conversations/:id/members as docs/protocol.md has it; resolves to the status. */
async function addMembers(baseUrl: string, owner: Session, conv: string, members: string[]): Promise<number> {
  const res = await fetch(`${baseUrl}/v1/conversations/${conv}/members`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.accessToken}` },
    body: JSON.stringify({ members }),
  });
  await res.arrayBuffer();
  return res.status;
}

function describePeer(title: string, launch: (options: LaunchOptions) => Promise<RunningTarget>, stores: boolean): void {
  describe(title, function () {
    let target: RunningTarget | undefined;
    const progress: string[] = [];
    const sockets: WireSocket[] = [];

    before(async function () {
      this.timeout(120_000); // a first run may install mariadb-server
      target = await launch({ pinServer: PIN, progress: (line) => progress.push(line) });
    });

    after(async function () {
      this.timeout(60_000);
      await Promise.all(sockets.splice(0).map((socket) => socket.close()));
      await target?.stop();
    });

    function api(): HttpApi {
      return new HttpApi(target!.baseUrls[0]!);
    }

    /** Connects `session` through entry point `index` (modulo their count): with two, neighbours sit on different processes. */
    function connect(session: Session, index: number): Member {
      const received = new Received();
      const baseUrl = target!.baseUrls[index % target!.baseUrls.length]!;
      const socket = target!.wire.connect(index, { baseUrl, token: session.accessToken }, {
        onFrame: (_socket, frame) => received.frames.push(frame),
        onUnexpectedClose: (_socket, code) => (received.unexpectedClose = code),
      });
      sockets.push(socket);
      return { session, socket, received };
    }

    /** Two users sharing a direct conversation, connected through different entry points when there are two. */
    async function directPair(): Promise<Pair> {
      const [a, b] = await Promise.all([api().registerAndLogin(uniqueName('alice')), api().registerAndLogin(uniqueName('bob'))]);
      const conv = await api().createDirect(a, b.userId);
      const pair = { conv, alice: connect(a, 0), bob: connect(b, 1) };
      await Promise.all([pair.alice.socket.ready, pair.bob.socket.ready]);
      return pair;
    }

    it(`${title}: acks seq 1 then 2 and delivers each message to the other member`, async function () {
      const { conv, alice, bob } = await directPair();
      expect(alice.received.frames[0]?.type).to.equal('ready');
      alice.socket.sendMessage(conv, 'first', 'hello bob');
      const first = await alice.received.next((f) => f.type === 'ack' && f.id === 'first', 'ack of first');
      alice.socket.sendMessage(conv, 'second', 'still there?');
      const second = await alice.received.next((f) => f.type === 'ack' && f.id === 'second', 'ack of second');
      expect([first.seq, second.seq, first.conv]).to.deep.equal([1, 2, conv]);
      await bob.received.next((f) => f.type === 'msg' && f.seq === 2, 'msg 2 at bob');
      const delivered = bob.received.frames.filter((f) => f.type === 'msg').map((f) => [f.seq, f.id, f.from]);
      expect(delivered).to.deep.equal([[1, 'first', alice.session.userId], [2, 'second', alice.session.userId]]);
      expect(alice.received.msgSeqs(conv), 'the sender gets no msg of its own').to.deep.equal([]);
      expect([alice.received.unexpectedClose, bob.received.unexpectedClose]).to.deep.equal([undefined, undefined]);
    });

    it(`${title}: refuses a send to a conversation the sender is not in with an error naming the frame`, async function () {
      const { alice } = await directPair();
      const { conv: elsewhere } = await directPair();
      alice.socket.sendMessage(elsewhere, 'intruder', 'let me in');
      const refusal = await alice.received.next((f) => f.type === 'error', 'error frame');
      expect([refusal.ref, refusal.code]).to.deep.equal(['intruder', 'not_found']);
    });

    it(`${title}: delivers a group message to every other member, one added while online included`, async function () {
      const names = ['owner', 'member', 'late'].map(uniqueName);
      const [owner, member, late] = await Promise.all(names.map((name) => api().registerAndLogin(name)));
      const conv = await api().createGroup(owner!, 'peers spec', [member!.userId]);
      // The late member sits on the other process than the one answering the HTTP calls.
      const online = [connect(owner!, 0), connect(member!, 0), connect(late!, 1)];
      await Promise.all(online.map((m) => m.socket.ready));
      expect(await addMembers(target!.baseUrls[0]!, owner!, conv, [late!.userId])).to.equal(200);
      expect(await addMembers(target!.baseUrls[0]!, member!, conv, [late!.userId]), 'only the owner adds').to.equal(403);
      online[0]!.socket.sendMessage(conv, 'hello-all', 'hello group');
      await Promise.all(online.slice(1).map((m) => m.received.next((f) => f.type === 'msg' && f.conv === conv, 'group msg')));
      expect(online.map((m) => m.received.msgSeqs(conv))).to.deep.equal([[], [1], [1]]);
      const view = await api().getConversation(owner!, conv);
      expect([view.memberCount, view.lastSeq]).to.deep.equal([3, 1]);
    });

    if (stores) {
      it(`${title}: answers a re-sent client id with the stored seq and tells nobody again`, async function () {
        const { conv, alice, bob } = await directPair();
        alice.socket.sendMessage(conv, 'once', 'only once');
        await alice.received.next((f) => f.type === 'ack' && f.id === 'once', 'ack of once');
        alice.socket.sendMessage(conv, 'once', 'only once');
        await waitFor(() => alice.received.frames.filter((f) => f.type === 'ack').length === 2, { message: 'ack of the re-send' });
        alice.socket.sendMessage(conv, 'then', 'and then');
        await bob.received.next((f) => f.type === 'msg' && f.id === 'then', 'msg then at bob');
        const acks = alice.received.frames.filter((f) => f.type === 'ack').map((f) => [f.id, f.seq]);
        expect(acks).to.deep.equal([['once', 1], ['once', 1], ['then', 2]]);
        expect(bob.received.msgSeqs(conv)).to.deep.equal([1, 2]);
      });

      it(`${title}: sync returns the stored history in pages`, async function () {
        const { conv, alice, bob } = await directPair();
        for (const id of ['h1', 'h2', 'h3']) alice.socket.sendMessage(conv, id, `text ${id}`);
        await alice.received.next((f) => f.type === 'ack' && f.id === 'h3', 'ack of h3');
        bob.socket.sync(conv, 0, 2);
        const page = await bob.received.next((f) => f.type === 'history', 'first history page');
        expect(page.messages!.map((m) => [m.seq, m.id, m.from])).to.deep.equal([[1, 'h1', alice.session.userId], [2, 'h2', alice.session.userId]]);
        expect([page.conv, page.more]).to.deep.equal([conv, true]);
        bob.socket.sync(conv, 2, 10);
        await waitFor(() => bob.received.frames.filter((f) => f.type === 'history').length === 2, { message: 'second history page' });
        const rest = bob.received.frames.filter((f) => f.type === 'history')[1]!;
        expect([rest.messages!.map((m) => m.seq), rest.more]).to.deep.equal([[3], false]);
      });
    } else {
      it(`${title}: refuses sync, having nothing stored`, async function () {
        const { conv, bob } = await directPair();
        bob.socket.sync(conv, 0, 10);
        const refusal = await bob.received.next((f) => f.type === 'error', 'error frame');
        expect(refusal.code).to.equal('bad_request');
      });
    }

    it(`${title}: runs every server process on the pinned CPU and stop() leaves none behind`, async function () {
      this.timeout(60_000);
      const pids = target!.serverPids();
      expect(pids.length).to.equal(stores ? 4 : 1); // Socket.IO: two Node processes, mysqld, redis-server
      for (const pid of pids) expect(await cpusOfEveryThread(pid), `pid ${pid}`).to.deep.equal([PIN]);
      await Promise.all(sockets.splice(0).map((socket) => socket.close()));
      await target!.stop();
      await target!.stop(); // idempotent
      expect(pids.filter(isAlive)).to.deep.equal([]);
    });
  });
}

/** The distinct CPU lists the threads of `pid` may run on. */
async function cpusOfEveryThread(pid: number): Promise<string[]> {
  const lists = new Set<string>();
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const status = await readFile(`/proc/${pid}/task/${task}/status`, 'utf8').catch(() => ''); // a thread may end meanwhile
    const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    if (list !== undefined) lists.add(list);
  }
  return [...lists];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('bench peers: Socket.IO delivery order', function () {
  const message = (seq: number): MessagePayload => ({ conv: 'c_order', seq, id: `m${seq}`, from: 'u_sender', body: {}, ts: 0 });

  it('holds a message that overtook its predecessor until the predecessor went out', function () {
    const delivered: number[] = [];
    const order = new DeliveryOrder((m) => delivered.push(m.seq));
    order.joined('c_order', 4);
    order.arrived(message(6), 's1');
    expect(delivered, 'seq 6 waits for 5').to.deep.equal([]);
    order.arrived(message(5), 's2');
    order.arrived(message(7), 's1');
    expect(delivered).to.deep.equal([5, 6, 7]);
  });

  it('lets held messages go, in order, when their predecessor never comes', async function () {
    const delivered: number[] = [];
    const reported: string[] = [];
    const order = new DeliveryOrder((m) => delivered.push(m.seq), (line) => reported.push(line), 20);
    order.joined('c_order', 0);
    order.arrived(message(3), 's1');
    order.arrived(message(2), 's1');
    await waitFor(() => delivered.length === 2, { message: 'held messages released' });
    order.arrived(message(4), 's1');
    expect(delivered).to.deep.equal([2, 3, 4]);
    expect(reported).to.deep.equal(['conversation c_order: seq 1 did not arrive within 20 ms; delivering from seq 2']);
  });
});

describe('bench peers', function () {
  describePeer('uWS bound', launchUwsBound, false);
  describePeer('Socket.IO peer', launchSocketIoPeer, true);
});
