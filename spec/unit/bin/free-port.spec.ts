/**
 * freePort (bin/services/processes.ts) picks listening ports for the test services and a local
 * cluster's roles below the kernel's ephemeral range, where no outgoing connection can take one
 * between the choice and the listen.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { expect } from 'chai';
import { freePort } from '../../../bin/services/processes.js';

describe('freePort', function () {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

  it('gives ports below the ephemeral range that a server can then listen on', async function () {
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    for (const port of ports) expect(port).to.be.within(20_000, ephemeralLow - 1);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('skips a candidate a server is listening on and tries another', async function () {
    const server = createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => server.listen(taken, '127.0.0.1', resolve));
    // The first candidate drawn is the taken port, the next one another.
    const draws = [(taken - 20_000 + 0.5) / (ephemeralLow - 20_000), 0.5];
    const random = Math.random;
    Math.random = () => draws.shift() ?? random();
    try {
      const port = await freePort();
      expect(port).to.not.equal(taken);
      expect(port).to.equal(20_000 + Math.floor(0.5 * (ephemeralLow - 20_000)));
      expect(draws, 'both candidates were drawn').to.deep.equal([]);
    } finally {
      Math.random = random;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
