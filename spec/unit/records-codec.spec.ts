import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { expect } from 'chai';
import { decodeDownstream, decodeUpstream, encodeDownstream, encodeUpstream } from '../../actors/records/codec.js';
import type { DownstreamRecord, UpstreamRecord } from '../../actors/records/types.js';
import { PresenceState, Upstream } from '../../proto/gen/troupe/v1/records.js';
import { isTroupeError } from '../../transport/errors.js';

const origin = { gatewayId: 'gw-1', connId: 'conn-42' };
const reply = { gatewayId: 'gw-2', requestId: 'req-7' };

const unicode = 'héllo 👋🏽 世界 مرحبا \u0000 e\u0301 ' + '𝄞'.repeat(300);

const upstream: Record<string, UpstreamRecord> = {
  'send': { type: 'send', conv: 'c-1', from: 'u-1', origin, clientId: 'cl-1', body: '{"text":"hi"}' },
  'send with a unicode body': { type: 'send', conv: 'c-1', from: 'u-1', origin, clientId: 'cl-2', body: JSON.stringify({ text: unicode }) },
  'send with empty strings': { type: 'send', conv: '', from: '', origin: { gatewayId: '', connId: '' }, clientId: '', body: '' },
  'read without ref': { type: 'read', conv: 'c-1', user: 'u-1', origin, seq: 17 },
  'read with ref': { type: 'read', conv: 'c-1', user: 'u-1', origin, seq: 17, ref: 'frame-9' },
  'read with an empty ref': { type: 'read', conv: 'c-1', user: 'u-1', origin, seq: 1, ref: '' },
  'read at seq 0': { type: 'read', conv: 'c-1', user: 'u-1', origin, seq: 0 },
  'read at the largest safe seq': { type: 'read', conv: 'c-1', user: 'u-1', origin, seq: Number.MAX_SAFE_INTEGER },
  'typing without ref': { type: 'typing', conv: 'c-1', user: 'u-1', origin },
  'typing with ref': { type: 'typing', conv: 'c-1', user: 'u-1', origin, ref: 'ťyping-ref' },
  'members_add': { type: 'members_add', conv: 'c-1', actor: 'u-1', members: ['u-2', 'u-3'], reply },
  'members_add with no members': { type: 'members_add', conv: 'c-1', actor: 'u-1', members: [], reply },
  'members_add with 10,000 members': {
    type: 'members_add', conv: 'c-big', actor: 'u-1', members: Array.from({ length: 10_000 }, (_, i) => `user-${i}-ü`), reply,
  },
  'member_remove': { type: 'member_remove', conv: 'c-1', actor: 'u-1', user: 'u-2', reply },
  'conv_created': { type: 'conv_created', conv: 'c-1', actor: 'u-1' },
  'online': { type: 'online', user: 'u-1', origin },
  'offline': { type: 'offline', user: 'u-1', origin },
};

const downstream: Record<string, DownstreamRecord> = {
  'deliver': { type: 'deliver', connIds: ['conn-1', 'conn-2'], frame: '{"type":"msg","seq":1}' },
  'deliver with a unicode frame': { type: 'deliver', connIds: ['conn-1'], frame: JSON.stringify({ text: unicode }) },
  'deliver to 5,000 connections': { type: 'deliver', connIds: Array.from({ length: 5_000 }, (_, i) => `conn-${i}`), frame: '{}' },
  'deliver of a 200 KB frame': { type: 'deliver', connIds: ['conn-1'], frame: JSON.stringify({ text: 'ß'.repeat(100_000) }) },
  'reply with a result': { type: 'reply', requestId: 'req-1', result: '{"ok":true}' },
  'reply with an error': { type: 'reply', requestId: 'req-1', error: { code: 'forbidden', message: 'not a member — nein' } },
  'reply with neither': { type: 'reply', requestId: 'req-1' },
  'reply with an empty result': { type: 'reply', requestId: 'req-1', result: '' },
};

function expectInvalid(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(isTroupeError(thrown, 'invalid_argument'), `expected invalid_argument, got ${String(thrown)}`).to.equal(true);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Bytes of an Upstream holding a Read whose seq is `seq` (which the codec itself refuses to write). */
function upstreamReadWithSeq(seq: bigint): Uint8Array {
  const w = new BinaryWriter();
  w.uint32((2 << 3) | 2).fork();
  w.uint32((1 << 3) | 2).string('c-1');
  w.uint32((3 << 3) | 2).fork().uint32((1 << 3) | 2).string('g').uint32((2 << 3) | 2).string('k').join();
  w.uint32((4 << 3) | 0).uint64(seq);
  return w.join().finish();
}

describe('records codec', () => {
  describe('round trips', () => {
    for (const [name, record] of Object.entries(upstream)) {
      it(`decodes an encoded upstream ${name} to an equal record`, () => {
        expect(decodeUpstream(encodeUpstream(record))).to.deep.equal(record);
      });
    }
    for (const [name, record] of Object.entries(downstream)) {
      it(`decodes an encoded downstream ${name} to an equal record`, () => {
        expect(decodeDownstream(encodeDownstream(record))).to.deep.equal(record);
      });
    }

    it('leaves absent optional fields absent, not present as undefined', () => {
      const read = decodeUpstream(encodeUpstream({ type: 'read', conv: 'c', user: 'u', origin, seq: 3 }));
      const typing = decodeUpstream(encodeUpstream({ type: 'typing', conv: 'c', user: 'u', origin }));
      const answer = decodeDownstream(encodeDownstream({ type: 'reply', requestId: 'r' }));
      expect(read).not.to.have.property('ref');
      expect(typing).not.to.have.property('ref');
      expect(answer).not.to.have.property('result');
      expect(answer).not.to.have.property('error');
    });

    it('decodes from a Buffer view that starts inside a larger buffer (as Kafka hands values over)', () => {
      const record = upstream['send'];
      if (record === undefined) throw new Error('fixture missing');
      const bytes = encodeUpstream(record);
      const backing = Buffer.alloc(bytes.length + 16, 0xff);
      backing.set(bytes, 7);
      expect(decodeUpstream(backing.subarray(7, 7 + bytes.length))).to.deep.equal(record);
    });

    it('returns bytes that later encodes do not overwrite', () => {
      const first = encodeUpstream({ type: 'conv_created', conv: 'c-first', actor: 'u-1' });
      const copy = Uint8Array.from(first);
      encodeUpstream({ type: 'conv_created', conv: 'c-second', actor: 'u-2' });
      encodeDownstream({ type: 'deliver', connIds: ['x'], frame: 'y'.repeat(100_000) });
      expect(first).to.deep.equal(copy);
      expect(decodeUpstream(first)).to.deep.equal({ type: 'conv_created', conv: 'c-first', actor: 'u-1' });
    });
  });

  describe('wire form (field numbers are a contract with records already in the log)', () => {
    it('writes a send as Upstream field 1 with fields 1..5', () => {
      const bytes = encodeUpstream({ type: 'send', conv: 'c', from: 'u', origin: { gatewayId: 'g', connId: 'k' }, clientId: 'x', body: '{}' });
      expect(hex(bytes)).to.equal('0a15' + '0a0163' + '120175' + '1a06' + '0a0167' + '12016b' + '220178' + '2a027b7d');
    });

    it('writes online and offline as Upstream field 7 with presence states 1 and 2', () => {
      const online = encodeUpstream({ type: 'online', user: 'u', origin: { gatewayId: 'g', connId: 'k' } });
      const offline = encodeUpstream({ type: 'offline', user: 'u', origin: { gatewayId: 'g', connId: 'k' } });
      expect(hex(online)).to.equal('3a0d' + '0a0175' + '1206' + '0a0167' + '12016b' + '1801');
      expect(hex(offline)).to.equal('3a0d' + '0a0175' + '1206' + '0a0167' + '12016b' + '1802');
    });

    it('writes a deliver as Downstream field 1 with connIds 1 and frame 2', () => {
      const bytes = encodeDownstream({ type: 'deliver', connIds: ['a', 'b'], frame: '{}' });
      expect(hex(bytes)).to.equal('0a0a' + '0a0161' + '0a0162' + '12027b7d');
    });
  });

  describe('invalid values', () => {
    const garbage: Record<string, Uint8Array> = {
      'empty bytes': new Uint8Array(0),
      'JSON text': new TextEncoder().encode('{"type":"send","conv":"c"}'),
      'all 0xff': new Uint8Array(64).fill(0xff),
      'a truncated varint': Uint8Array.of(0x0a, 0x80),
      'a length past the end': Uint8Array.of(0x0a, 0x7f, 0x0a, 0x01),
      'an end-group tag': Uint8Array.of(0x0c),
    };
    for (const [name, bytes] of Object.entries(garbage)) {
      it(`refuses ${name} with invalid_argument, upstream and downstream`, () => {
        expectInvalid(() => decodeUpstream(bytes));
        expectInvalid(() => decodeDownstream(bytes));
      });
    }

    it('refuses every truncation of a valid value with invalid_argument', () => {
      const up = encodeUpstream({ type: 'read', conv: 'c-1', user: 'u-1', origin, seq: 123456789, ref: 'r' });
      const down = encodeDownstream({ type: 'reply', requestId: 'req-1', error: { code: 'internal', message: 'boom' } });
      for (let n = 0; n < up.length; n++) expectInvalid(() => decodeUpstream(up.subarray(0, n)));
      for (let n = 0; n < down.length; n++) expectInvalid(() => decodeDownstream(down.subarray(0, n)));
    });

    it('refuses a value whose only record is of a type unknown to this build', () => {
      const w = new BinaryWriter();
      const bytes = w.uint32((99 << 3) | 2).bytes(Uint8Array.of(0x0a, 0x01, 0x63)).finish();
      expectInvalid(() => decodeUpstream(bytes));
      expectInvalid(() => decodeDownstream(bytes));
    });

    it('refuses records that lack a required origin or reply address', () => {
      const values = [
        Upstream.encode({ record: { $case: 'send', value: { conv: 'c', from: 'u', clientId: 'x', body: '{}' } } }).finish(),
        Upstream.encode({ record: { $case: 'read', value: { conv: 'c', user: 'u', seq: 1 } } }).finish(),
        Upstream.encode({ record: { $case: 'typing', value: { conv: 'c', user: 'u' } } }).finish(),
        Upstream.encode({ record: { $case: 'membersAdd', value: { conv: 'c', actor: 'u', members: ['v'] } } }).finish(),
        Upstream.encode({ record: { $case: 'memberRemove', value: { conv: 'c', actor: 'u', user: 'v' } } }).finish(),
        Upstream.encode({ record: { $case: 'presence', value: { user: 'u', state: PresenceState.PRESENCE_STATE_ONLINE } } }).finish(),
      ];
      for (const bytes of values) expectInvalid(() => decodeUpstream(bytes));
    });

    it('refuses a presence record whose state is unspecified or unknown', () => {
      for (const state of [PresenceState.PRESENCE_STATE_UNSPECIFIED, 9 as PresenceState]) {
        const bytes = Upstream.encode({ record: { $case: 'presence', value: { user: 'u', origin, state } } }).finish();
        expectInvalid(() => decodeUpstream(bytes));
      }
    });

    it('refuses a seq beyond 2^53 rather than rounding it', () => {
      expect(decodeUpstream(upstreamReadWithSeq(42n))).to.deep.equal({
        type: 'read', conv: 'c-1', user: '', origin: { gatewayId: 'g', connId: 'k' }, seq: 42,
      });
      expectInvalid(() => decodeUpstream(upstreamReadWithSeq(2n ** 60n)));
    });

    it('refuses to encode a record of unknown type', () => {
      expectInvalid(() => encodeUpstream({ type: 'shout', conv: 'c' } as unknown as UpstreamRecord));
      expectInvalid(() => encodeDownstream({ type: 'broadcast' } as unknown as DownstreamRecord));
    });

    it('refuses to encode a negative or fractional seq, and the next encode is unharmed', () => {
      expectInvalid(() => encodeUpstream({ type: 'read', conv: 'c-1', user: 'u-1', origin, seq: -1 }));
      expectInvalid(() => encodeUpstream({ type: 'read', conv: 'c-1', user: 'u-1', origin, seq: 1.5 }));
      const record: UpstreamRecord = { type: 'read', conv: 'c-2', user: 'u-2', origin, seq: 5 };
      expect(decodeUpstream(encodeUpstream(record))).to.deep.equal(record);
    });
  });
});
