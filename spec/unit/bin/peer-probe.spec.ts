import { expect } from 'chai';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { probeTcp } from '../../../bin/cluster/peer-failover.js';

async function listening(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('probeTcp (the peer probe of bin/cluster/peer-failover.ts)', function () {
  it('answers alive for a port that accepts, refused once nothing listens there', async function () {
    const server = await listening();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect(await probeTcp(url, 1000)).to.equal('alive');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await probeTcp(url, 1000)).to.equal('refused');
  });

  it('answers alive for a URL it cannot read', async function () {
    expect(await probeTcp('not a url', 200)).to.equal('alive');
  });
});
