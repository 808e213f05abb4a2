/**
 * A measurement's helper process (bench/lib/ipc-child.ts) never leaves the measurement waiting:
 * the next message comes, or an error naming the child when it exits, reports a failure or stays
 * silent past the timeout; stop() ends it either way.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { IpcChild } from '../../bench/lib/ipc-child.js';

type From = { type: 'pong' } | { type: 'failed'; error: string };
type To = { type: 'ping' };

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ipc-child-fixture.js');

function start(mode: string, timeoutMs = 10_000): IpcChild<From, To> {
  return IpcChild.start<From, To>(FIXTURE, true, [mode], {
    name: `fixture ${mode}`,
    timeoutMs,
    failure: (m) => (m.type === 'failed' ? m.error : undefined),
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('bench: a helper process of a measurement', function () {
  this.timeout(30_000);
  const started: Array<IpcChild<From, To>> = [];
  const child = (mode: string, timeoutMs?: number): IpcChild<From, To> => {
    const c = start(mode, timeoutMs);
    started.push(c);
    return c;
  };

  afterEach(async () => {
    await Promise.all(started.splice(0).map((c) => c.stop()));
  });

  it('answers: the next message of the asked type arrives', async () => {
    expect(await child('answer').next('pong', { type: 'ping' })).to.deep.equal({ type: 'pong' });
  });

  it('exits: the wait rejects naming the child and its status', async () => {
    expect((await rejection(child('exit').next('pong'))).message).to.equal('fixture exit exited (status 3)');
  });

  it('reports a failure: the wait rejects with the child\'s own words', async () => {
    expect((await rejection(child('fail').next('pong'))).message).to.equal('fixture fail: the dependency refused');
  });

  it('stays silent: the wait rejects once the timeout passes, and stop() ends the child', async () => {
    const silent = child('silent', 1_500);
    expect((await rejection(silent.next('pong', { type: 'ping' }))).message).to.equal('fixture silent did not answer pong within 1500 ms');
    await silent.stop();
    expect(silent.child.signalCode ?? silent.child.exitCode).to.not.equal(null);
  });
});
