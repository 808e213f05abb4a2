/**
 * The server's CPU by kind of process (bench/lib/process-cpu.ts): a process's kind from its
 * command line, the per-kind rows made of two /proc readings, a window read on this very process,
 * and the wakeup floor's ping-pong on short phases.
 */
import { expect } from 'chai';
import { cpuByKind, processKind, ProcessCpuWindow, type CpuReading, type KindedProcess } from '../../bench/lib/process-cpu.js';
import { readCpuMillis } from '../../bench/lib/proc-stats.js';
import { measureWakeupFloor } from '../../bench/lib/wakeup-floor.js';
import type { ProcessCpuRow } from '../../bench/report/types.js';

describe('bench: server CPU by process kind', () => {
  describe('processKind', () => {
    const cases: Array<[string[], string]> = [
      [['/usr/bin/node', '/work/x/dist/bin/troupe.js', 'gateway', '--port', '8080'], 'gateway'],
      [['/usr/bin/node', '--import', 'tsx', '/work/x/bin/troupe.ts', 'logic'], 'logic'],
      [['node', '--cpu-prof', 'dist/bin/troupe.js', 'repo', '--config', 'x.yaml'], 'repo'],
      [['node', 'dist/bin/troupe.js', 'task'], 'task'],
      [['node', 'dist/bin/troupe.js', 'dev', '--port', '4000'], 'embedded'],
      [['node', 'dist/bin/troupe.js', 'migrate'], 'other'],
      [['/usr/sbin/mariadbd', '--no-defaults', '--datadir=/tmp/x/my'], 'mariadb'],
      [['/usr/sbin/mysqld', '--no-defaults'], 'mariadb'],
      // Redis rewrites its title to one string with spaces.
      [['/usr/bin/redis-server 127.0.0.1:40123'], 'redis'],
      [['redis-server', '--port', '0'], 'redis'],
      [['/usr/bin/etcd', '--data-dir', '/tmp/etcd'], 'etcd'],
      [['/work/x/node_modules/.cache/troupe/kafka-mock-launcher-282956df2198bd91', '1', 'im-upstream:16'], 'kafka-mock'],
      [['node', 'bench/peers/socketio/server.js'], 'other'],
      [['/usr/bin/node', '/work/x/not-troupe.js', 'gateway'], 'other'],
      [[], 'other'],
    ];
    for (const [argv, kind] of cases) {
      it(`${JSON.stringify(argv)} is ${kind}`, () => {
        expect(processKind(argv)).to.equal(kind);
      });
    }
  });

  describe('cpuByKind', () => {
    const processes: KindedProcess[] = [
      { pid: 11, kind: 'gateway' }, { pid: 12, kind: 'gateway' }, { pid: 21, kind: 'logic' }, { pid: 22, kind: 'logic' },
      { pid: 31, kind: 'repo' }, { pid: 41, kind: 'task' },
      { pid: 51, kind: 'mariadb' }, { pid: 52, kind: 'redis' }, { pid: 53, kind: 'etcd' }, { pid: 54, kind: 'kafka-mock' },
    ];
    const start: CpuReading = { at: 1_000_000, millis: new Map([[11, 100], [12, 100], [21, 50], [22, 50], [31, 10], [41, 5], [51, 1000], [52, 20], [53, 30], [54, 400]]) };
    // Ten seconds later; gateway 12 spent most, task 41 ended (no end reading).
    const spentInWindow = new Map([[11, 300], [12, 500], [21, 400], [22, 200], [31, 250], [51, 600], [52, 40], [53, 60], [54, 900]]);
    const end: CpuReading = { at: 1_010_000, millis: new Map([...spentInWindow].map(([pid, ms]) => [pid, start.millis.get(pid)! + ms])) };
    const rowOf = (rows: ProcessCpuRow[], key: string): ProcessCpuRow => {
      const row = rows.find((r) => r.key === key);
      expect(row, key).to.not.equal(undefined);
      return row!;
    };

    it('sums each kind, picks the busiest gateway, and sums the Troupe processes, the services and everything', () => {
      const cpu = cpuByKind(processes, start, end, 2000);
      expect(cpu.windowSec).to.equal(10);
      expect(cpu.messages).to.equal(2000);
      expect(cpu.rows.map((r) => r.key)).to.deep.equal(['gateway', 'gateway-busiest', 'logic', 'repo', 'task', 'roles', 'mariadb', 'redis', 'etcd', 'kafka-mock', 'services', 'server']);
      const expected: Record<string, [number, number]> = {
        gateway: [2, 800], 'gateway-busiest': [1, 500], logic: [2, 600], repo: [1, 250], task: [1, 0],
        roles: [6, 1650], mariadb: [1, 600], redis: [1, 40], etcd: [1, 60], 'kafka-mock': [1, 900], services: [4, 1600], server: [10, 3250],
      };
      for (const [key, [count, ms]] of Object.entries(expected)) {
        const row = rowOf(cpu.rows, key);
        expect([row.processes, row.cpuMs], key).to.deep.equal([count, ms]);
        // Ten seconds: 1,000 ms of CPU is 10 % of one core.
        expect(row.cpuPct, key).to.be.closeTo(ms / 100, 1e-9);
        expect(row.msPerMessage, key).to.be.closeTo(ms / 2000, 1e-9);
      }
    });

    it('has no per-message figures without messages (idle), and no sum rows for kinds that are absent', () => {
      const embedded = cpuByKind([{ pid: 7, kind: 'embedded' }], { at: 0, millis: new Map([[7, 100]]) }, { at: 20_000, millis: new Map([[7, 140]]) });
      expect(embedded.messages).to.equal(undefined);
      expect(embedded.rows.map((r) => r.key)).to.deep.equal(['embedded', 'roles']);
      expect(embedded.rows[1]!.cpuPct).to.be.closeTo(0.2, 1e-9);
      expect(embedded.rows.every((r) => r.msPerMessage === undefined)).to.equal(true);
      const peer = cpuByKind([{ pid: 1, kind: 'other' }, { pid: 2, kind: 'mariadb' }], { at: 0, millis: new Map([[1, 0], [2, 0]]) }, { at: 1000, millis: new Map([[1, 10], [2, 5]]) }, 0);
      expect(peer.messages).to.equal(undefined);
      expect(peer.rows.map((r) => r.key)).to.deep.equal(['mariadb', 'services', 'other', 'server']);
    });

    it('divides CPU per second of the readings by messages per second of the sends when a reading came late', () => {
      // The end reading came 2.5 s late: 1,000 ms over 12.5 s is 80 ms a second; 100 messages over 10 s is 10 a second.
      const late = cpuByKind([{ pid: 1, kind: 'logic' }], { at: 0, millis: new Map([[1, 0]]) }, { at: 12_500, millis: new Map([[1, 1000]]) }, 100, 10_000);
      expect(late.rows[0]!.msPerMessage).to.be.closeTo(8, 1e-9);
      expect(late.rows[0]!.cpuPct).to.be.closeTo(8, 1e-9);
      expect(late.windowSec).to.equal(12.5);
    });
  });

  describe('ProcessCpuWindow on this process', () => {
    it('reads the CPU spent between its start and end readings', async () => {
      const window = (await ProcessCpuWindow.of([process.pid]))!;
      window.startAt();
      // Spin until /proc shows 50 ms more CPU than at the start (no fixed sleep).
      const from = await readCpuMillis(process.pid);
      while ((await readCpuMillis(process.pid)) < from + 50) for (let i = 0; i < 1e6; i++) Math.sqrt(i);
      window.endAt();
      const cpu = await window.result(10);
      const row = cpu.rows.find((r) => r.key === 'other')!;
      expect(row.processes).to.equal(1);
      expect(row.cpuMs).to.be.at.least(30);
      expect(row.msPerMessage).to.equal(row.cpuMs / 10);
      expect(cpu.rows.map((r) => r.key)).to.deep.equal(['other', 'server']);
    });
  });

  describe('measureWakeupFloor', function () {
    this.timeout(30_000);

    it('counts round trips with a gap and back to back, and the CPU of both processes per round trip', async () => {
      const floor = await measureWakeupFloor({ gapMs: 5, gappedMs: 200, backToBackMs: 100 });
      expect(floor.gapMs).to.equal(5);
      // A round trip takes at least the gap: at most 200 / 5 of them in 200 ms.
      expect(floor.gappedRoundTrips).to.be.within(1, 41);
      expect(floor.backToBackRoundTrips).to.be.greaterThan(floor.gappedRoundTrips);
      expect(floor.gappedUsPerRoundTrip).to.be.greaterThan(0);
      expect(floor.backToBackUsPerRoundTrip).to.be.greaterThan(0);
    });
  });
});
