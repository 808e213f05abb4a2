/**
 * `troupe bench group --members M --group-size G`: a group of M members of whom G are online.
 * The flag against the rest of the command line; the offline users written straight into a
 * SQLite file while a store has it open, as the embedded server does; the target checks naming
 * the sizes of the run they judged (issue 9's group of 5,000 online, issue 11's 100,000 members
 * with 20,000 online); and one small run against the embedded server, whose report states both
 * sizes.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { BenchUsageError, parseBenchArgs } from '../../bench/lib/bench-options.js';
import { offlineUsername, writeOfflineUsers } from '../../bench/lib/offline-users.js';
import { HEADLINE_KEYS, headline, SCENARIO_PARAMS } from '../../bench/report/headline-keys.js';
import { targetChecks, type TargetCheck } from '../../bench/report/target-checks.js';
import type { BenchRun, ScenarioRun } from '../../bench/report/types.js';
import { migrateLatest } from '../../sql/migrate.js';
import { openSqliteStore } from '../../transport/store/sqlite.js';
import { runFromSources } from '../support/run-from-sources.js';

const FIXTURE: BenchRun = JSON.parse(readFileSync(new URL('./fixtures/run.json', import.meta.url), 'utf8')) as BenchRun;

function usageError(argv: string[]): string {
  try {
    parseBenchArgs(argv);
  } catch (err) {
    expect(err).to.be.instanceOf(BenchUsageError);
    return (err as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('bench: group --members on the command line', () => {
  it('defaults to the group size (every member online) and takes any total at least that', () => {
    expect(parseBenchArgs(['group', '--group-size', '500']).members).to.equal(undefined);
    expect(parseBenchArgs(['group', '--members', '3000', '--group-size', '500'])).to.include({ members: 3000, groupSize: 500 });
    expect(parseBenchArgs(['group', '--cluster', '--members=100000', '--group-size=20000'])).to.include({ members: 100_000, groupSize: 20_000 });
    // Nobody offline: nothing to write, so a target without storage access will do.
    expect(parseBenchArgs(['group', '--url', 'http://127.0.0.1:1', '--members', '500', '--group-size', '500']).members).to.equal(500);
  });

  it('refuses fewer members than online, other scenarios, compare, and targets whose storage the run cannot write', () => {
    expect(usageError(['group', '--members', '400', '--group-size', '500'])).to.match(/^--members \(400\) must be at least --group-size \(500\)/);
    expect(usageError(['direct', '--members', '3000'])).to.match(/^--members is for the group scenario/);
    expect(usageError(['compare', '--members', '3000'])).to.match(/^--members is for the group scenario/);
    expect(usageError(['group', '--url', 'http://127.0.0.1:1', '--members', '3000', '--group-size', '500'])).to.match(/^--members above --group-size .* not --url$/);
    expect(usageError(['group', '--peer', 'uws', '--members', '3000', '--group-size', '500'])).to.match(/not --peer uws$/);
  });
});

describe('bench: offline users written straight into the SQLite file', function () {
  this.timeout(30_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'troupe-bench-offline-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes them in transactions of 1,000 beside an open store, which then reads them', async () => {
    const filename = join(dir, 'troupe.sqlite');
    const { store, knex } = await openSqliteStore(filename);
    try {
      await migrateLatest(knex);
      const lines: string[] = [];
      const ids = await writeOfflineUsers({ kind: 'sqlite', filename }, 'bspec', 2345, (line) => lines.push(line));
      expect(ids).to.have.length(2345);
      expect(new Set(ids).size).to.equal(2345);
      expect(lines.at(-1)).to.match(/^ {2}wrote 2345\/2345 offline users to the SQLite file \(\d+\.\d s\)$/);
      const rows = await knex('users').count({ n: '*' });
      expect(Number(rows[0]!.n)).to.equal(2345);
      const [first, last] = await store.getUsers([ids[0]!, ids[2344]!]);
      expect([first?.username, last?.username].sort()).to.deep.equal([offlineUsername('bspec', 0), offlineUsername('bspec', 2344)].sort());
      expect(offlineUsername('bspec', 2344)).to.match(/^[a-z0-9_.-]{3,32}$/);
      // Nobody to write: no file is opened.
      expect(await writeOfflineUsers({ kind: 'sqlite', filename: join(dir, 'absent', 'x.sqlite') }, 'bspec', 0, () => undefined)).to.deep.equal([]);
    } finally {
      await store.close();
    }
  });

  it('fails with the database\'s reason, not the statement of a thousand rows', async () => {
    const filename = join(dir, 'unmigrated.sqlite');
    let message = '';
    try {
      await writeOfflineUsers({ kind: 'sqlite', filename }, 'bspec', 10, () => undefined);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/^writing offline users 0-9 into the SQLite file failed: no such table: users$/);
  });
});

describe('bench: the group target checks name the sizes they judged', () => {
  /** The fixture with its Troupe target's group run made `members` members, `online` online, with `p99` ms and `duplicated`. */
  function runWith(members: number | undefined, online: number, p99: number, duplicated = 0): BenchRun {
    const run = structuredClone(FIXTURE);
    const subject = run.targets.find((t) => t.role === 'subject')!;
    const group = subject.scenarios.find((s) => s.scenario === 'group')!;
    group.params = { ...(members === undefined ? {} : { [SCENARIO_PARAMS.members]: members }), [SCENARIO_PARAMS.groupSize]: online, rate: 1 };
    group.headline = [headline(HEADLINE_KEYS.deliveryP99, p99)];
    group.correctness = { ...group.correctness, duplicated, ok: duplicated === 0 };
    return run;
  }

  const checkOf = (run: BenchRun, start: string): TargetCheck => {
    const checks = targetChecks(run).filter((c) => c.subject === 'Troupe embedded' && c.target.startsWith(start));
    expect(checks, `one check starting "${start}" in ${targetChecks(run).map((c) => c.target).join(' | ')}`).to.have.length(1);
    return checks[0]!;
  };

  it('issue 9: judged only on a group of 5,000, all online; other sizes are not its target', () => {
    expect(checkOf(runWith(undefined, 5000, 965), 'group of 5,000 online: p99 delivery under 1 s').outcome).to.equal('met');
    expect(checkOf(runWith(5000, 5000, 1200), 'group of 5,000 online: p99 delivery under 1 s').outcome).to.equal('missed');
    for (const [members, online, ran] of [[3000, 500, '3,000 members, 500 online'], [100_000, 20_000, '100,000 members, 20,000 online'], [19_000, 19_000, '19,000 online'], [20_000, 5000, '20,000 members, 5,000 online']] as const) {
      const other = checkOf(runWith(members, online, 1500), 'group of 5,000 online: p99 delivery under 1 s');
      expect(other.outcome, ran).to.equal('not measured');
      expect(other.detail).to.equal(`group ran with ${ran}: none of 5,000, all online, with a delivery_p99`);
    }
  });

  it('issue 11: 100,000 members with 20,000 online, delivery p99 under 2 s and none twice', () => {
    const met = checkOf(runWith(100_000, 20_000, 1500), 'group of 100,000 members, 20,000 online: delivery p99 < 2 s, none twice');
    expect(met.outcome).to.equal('met');
    expect(met.detail).to.equal('p99 1,500 ms (needs below 2,000 ms), 0 delivered twice, 0 lost: met');
    const slow = checkOf(runWith(120_000, 20_000, 2500), 'group of 120,000 members, 20,000 online: delivery p99 < 2 s, none twice');
    expect(slow.outcome).to.equal('missed');
    expect(slow.detail).to.contain('missed (p99 missed by 500 ms');
    const twice = checkOf(runWith(100_000, 20_000, 900, 3), 'group of 100,000 members, 20,000 online: delivery p99');
    expect(twice.outcome).to.equal('missed');
    expect(twice.detail).to.contain('3 delivered twice').and.to.contain('missed (some delivered twice)');
    // Too few members, or too few online: not measured, whatever the latency.
    for (const run of [runWith(99_999, 20_000, 10), runWith(100_000, 19_999, 10), runWith(undefined, 20_000, 10)]) {
      const check = checkOf(run, 'group of 100,000 members, 20,000 online: delivery p99 < 2 s, none twice');
      expect(check.outcome).to.equal('not measured');
      expect(check.detail).to.match(/^group ran with .*: none with 100,000 or more members, 20,000 or more online and a delivery_p99$/);
    }
  });
});

describe('bench: troupe bench group --members against its own embedded server', function () {
  this.timeout(120_000);
  let outDir: string;

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'troupe-bench-members-'));
  });

  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('a group of 2,040 members, 4 online: the offline users and the group written into storage, the server counting them all, and both sizes reported', async () => {
    const args = ['group', '--members', '2040', '--group-size', '4', '--rate', '2', '--duration', '1', '--out', outDir];
    const { status, stdout, stderr } = await runFromSources('bin/troupe.ts', ['bench', ...args]);
    const output = stdout + stderr;
    expect(status, output).to.equal(0);
    expect(output).to.match(/wrote 2036\/2036 offline users to the SQLite file/);
    expect(output).to.contain('wrote a group of 2040 members into the target\'s storage, 4 of them online');
    const json = (await readdir(outDir)).find((f) => f.endsWith('.json'))!;
    const run = JSON.parse(await readFile(join(outDir, json), 'utf8')) as BenchRun;
    const group = run.targets[0]!.scenarios[0] as ScenarioRun;
    expect(group.params).to.include({ members: 2040, groupSize: 4 });
    expect(group.correctness.ok).to.equal(true);
    expect(group.correctness.expectedDeliveries).to.equal(3 * group.correctness.sent);
    expect(group.notes?.[0]).to.equal('one group of 2040 members, 4 of them online and 2036 offline (the offline users and the group written straight into storage); each message is delivered to the 3 other online members');
    const markdown = await readFile(join(outDir, json.replace(/\.json$/, '.md')), 'utf8');
    expect(markdown).to.contain('Parameters: members 2,040, groupSize 4');
  });
});
