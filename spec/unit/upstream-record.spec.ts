import { expect } from 'chai';
import { decodeUpstream } from '../../actors/records/codec.js';
import { typeHeaders, upstreamRecord } from '../../actors/records/upstream-record.js';

describe('upstreamRecord: an im-upstream record as produced', function () {
  it('carries its type in the headers, from one shared frozen object per type', function () {
    const origin = { gatewayId: 'g1', connId: 'c1' };
    const online = upstreamRecord('u_1', { type: 'online', user: 'u_1', origin });
    const offline = upstreamRecord('u_1', { type: 'offline', user: 'u_1', origin });
    expect(online.key).to.equal('u_1');
    expect(online.headers).to.deep.equal({ type: 'online' });
    expect(offline.headers).to.deep.equal({ type: 'offline' });
    expect(upstreamRecord('u_2', { type: 'online', user: 'u_2', origin }).headers).to.equal(online.headers);
    expect(Object.isFrozen(typeHeaders('send'))).to.equal(true);
    expect(decodeUpstream(online.value)).to.deep.equal({ type: 'online', user: 'u_1', origin });
  });

  it('uses given headers (a trace\'s, holding the type too) instead of the shared ones', function () {
    const headers = { type: 'send', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const record = upstreamRecord('c_1', { type: 'send', conv: 'c_1', from: 'u_1', origin: { gatewayId: 'g', connId: 'c' }, clientId: 'm1', body: '{}' }, headers);
    expect(record.headers).to.equal(headers);
  });
});
