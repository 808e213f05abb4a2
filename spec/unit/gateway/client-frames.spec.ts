/**
 * Client frame validation (actors/gateway/client-frames.ts) against docs/protocol.md: every refusal
 * with its code, a message naming the field, and the `ref` rule (the frame's `id` whenever it
 * is a string, even an invalid one); text counted in characters, bodies in bytes; sync limits;
 * a `conv` string that cannot be a conversation id answered `not_found` like a missing one.
 */
import { expect } from 'chai';
import { parseClientFrame, type FrameLimits, type ParsedFrame } from '../../../actors/gateway/client-frames.js';

const LIMITS: FrameLimits = { maxMessageBodyBytes: 8192, maxTextChars: 4000, syncDefaultLimit: 100, syncMaxLimit: 500 };

function parse(frame: unknown): ParsedFrame {
  return parseClientFrame(typeof frame === 'string' ? frame : JSON.stringify(frame), LIMITS);
}

const send = (overrides: Record<string, unknown>): Record<string, unknown> => ({ type: 'send', id: 'msg-1', conv: 'c_1', body: { text: 'hi' }, ...overrides });

interface Refusal {
  name: string;
  frame: unknown;
  code: 'bad_request' | 'too_large' | 'not_found';
  /** The field the message must name (it starts with `<field>:`); for not_found, no field. */
  field: string;
  /** The expected ref; absent means the refusal must carry none. */
  ref?: string;
}

const refusals: Refusal[] = [
  { name: 'text that is not JSON', frame: '{"type":"ping"', code: 'bad_request', field: 'frame' },
  { name: 'a JSON array', frame: '[{"type":"ping"}]', code: 'bad_request', field: 'frame' },
  { name: 'JSON null', frame: 'null', code: 'bad_request', field: 'frame' },
  { name: 'a JSON string', frame: '"ping"', code: 'bad_request', field: 'frame' },
  { name: 'a JSON number', frame: '42', code: 'bad_request', field: 'frame' },
  { name: 'a frame without type', frame: { id: 'r-1' }, code: 'bad_request', field: 'type', ref: 'r-1' },
  { name: 'an unknown type', frame: { type: 'shout', id: 'r-2' }, code: 'bad_request', field: 'type', ref: 'r-2' },
  { name: 'a non-string type', frame: { type: 7 }, code: 'bad_request', field: 'type' },
  { name: 'an unknown type with a numeric id', frame: { type: 'shout', id: 5 }, code: 'bad_request', field: 'type' },

  { name: 'send without id', frame: send({ id: undefined }), code: 'bad_request', field: 'id' },
  { name: 'send with a numeric id', frame: send({ id: 12 }), code: 'bad_request', field: 'id' },
  { name: 'send with an empty id', frame: send({ id: '' }), code: 'bad_request', field: 'id', ref: '' },
  { name: 'send with a space in its id', frame: send({ id: 'bad id' }), code: 'bad_request', field: 'id', ref: 'bad id' },
  { name: 'send with a non-ASCII id', frame: send({ id: 'é' }), code: 'bad_request', field: 'id', ref: 'é' },
  { name: 'send with a 65-character id', frame: send({ id: 'a'.repeat(65) }), code: 'bad_request', field: 'id', ref: 'a'.repeat(65) },
  { name: 'send without conv', frame: send({ conv: undefined }), code: 'bad_request', field: 'conv', ref: 'msg-1' },
  { name: 'send with a numeric conv', frame: send({ conv: 3 }), code: 'bad_request', field: 'conv', ref: 'msg-1' },
  { name: 'send with a null conv', frame: send({ conv: null }), code: 'bad_request', field: 'conv', ref: 'msg-1' },
  { name: 'send with an object conv', frame: send({ conv: { id: 'c_1' } }), code: 'bad_request', field: 'conv', ref: 'msg-1' },
  // A string that cannot be a conversation id names no conversation (docs/protocol.md, "Errors").
  { name: 'send with an empty conv', frame: send({ conv: '' }), code: 'not_found', field: '', ref: 'msg-1' },
  { name: 'send with a 65-character conv', frame: send({ conv: `c_${'c'.repeat(63)}` }), code: 'not_found', field: '', ref: 'msg-1' },
  { name: 'send with an SQL fragment as conv', frame: send({ conv: "' OR 1=1 --" }), code: 'not_found', field: '', ref: 'msg-1' },
  { name: 'send with a user id as conv', frame: send({ conv: 'u_1' }), code: 'not_found', field: '', ref: 'msg-1' },
  { name: 'send with a slash in its conv', frame: send({ conv: 'c_a/b' }), code: 'not_found', field: '', ref: 'msg-1' },
  { name: 'send with a 10 KB conv', frame: send({ conv: `c_${'a'.repeat(10_240)}` }), code: 'not_found', field: '', ref: 'msg-1' },
  // Every other field is judged first, as it is for a well-formed conversation that does not exist.
  { name: 'send with a malformed conv and no body', frame: send({ conv: 'c_a b', body: undefined }), code: 'bad_request', field: 'body', ref: 'msg-1' },
  { name: 'send with a malformed conv and a malformed id', frame: send({ conv: 'c_a b', id: 'a b' }), code: 'bad_request', field: 'id', ref: 'a b' },
  { name: 'send without body', frame: send({ body: undefined }), code: 'bad_request', field: 'body', ref: 'msg-1' },
  { name: 'send with a null body', frame: send({ body: null }), code: 'bad_request', field: 'body', ref: 'msg-1' },
  { name: 'send with a string body', frame: send({ body: 'hi' }), code: 'bad_request', field: 'body', ref: 'msg-1' },
  { name: 'send with an array body', frame: send({ body: ['hi'] }), code: 'bad_request', field: 'body', ref: 'msg-1' },
  { name: 'send with a numeric text', frame: send({ body: { text: 5 } }), code: 'bad_request', field: 'body.text', ref: 'msg-1' },
  { name: 'send with 4,001 characters of text', frame: send({ body: { text: 'a'.repeat(4001) } }), code: 'too_large', field: 'body.text', ref: 'msg-1' },
  { name: 'send with 4,001 emoji of text', frame: send({ body: { text: '😀'.repeat(4001) } }), code: 'too_large', field: 'body.text', ref: 'msg-1' },
  { name: 'send with a body of 8,193 bytes of JSON', frame: send({ body: { d: 'x'.repeat(8185) } }), code: 'too_large', field: 'body', ref: 'msg-1' },
  { name: 'send with 3,000 characters of text in 9,000 bytes', frame: send({ body: { text: '€'.repeat(3000) } }), code: 'too_large', field: 'body', ref: 'msg-1' },

  { name: 'read without conv', frame: { type: 'read', seq: 1, id: 'r' }, code: 'bad_request', field: 'conv', ref: 'r' },
  { name: 'read without seq', frame: { type: 'read', conv: 'c_1' }, code: 'bad_request', field: 'seq' },
  { name: 'read with a negative seq', frame: { type: 'read', conv: 'c_1', seq: -1 }, code: 'bad_request', field: 'seq' },
  { name: 'read with a fractional seq', frame: { type: 'read', conv: 'c_1', seq: 1.5 }, code: 'bad_request', field: 'seq' },
  { name: 'read with a string seq', frame: { type: 'read', conv: 'c_1', seq: '3', id: 'r' }, code: 'bad_request', field: 'seq', ref: 'r' },
  { name: 'read with a malformed conv', frame: { type: 'read', conv: 'c_..', seq: 1, id: 'r' }, code: 'not_found', field: '', ref: 'r' },
  { name: 'read with a malformed conv and no id', frame: { type: 'read', conv: 'c_%2F', seq: 1 }, code: 'not_found', field: '' },
  { name: 'read with a malformed conv and a bad seq', frame: { type: 'read', conv: 'c_%2F', seq: -1, id: 'r' }, code: 'bad_request', field: 'seq', ref: 'r' },

  { name: 'typing without conv', frame: { type: 'typing', id: 't' }, code: 'bad_request', field: 'conv', ref: 't' },
  { name: 'typing with a numeric conv', frame: { type: 'typing', conv: 1 }, code: 'bad_request', field: 'conv' },
  { name: 'typing with a malformed conv', frame: { type: 'typing', conv: 'c_\u0000', id: 't' }, code: 'not_found', field: '', ref: 't' },
  { name: 'typing with a message id as conv', frame: { type: 'typing', conv: 'm_1', id: 't' }, code: 'not_found', field: '', ref: 't' },

  { name: 'sync without conv', frame: { type: 'sync', after: 0 }, code: 'bad_request', field: 'conv' },
  { name: 'sync without after', frame: { type: 'sync', conv: 'c_1', id: 's' }, code: 'bad_request', field: 'after', ref: 's' },
  { name: 'sync with a negative after', frame: { type: 'sync', conv: 'c_1', after: -1 }, code: 'bad_request', field: 'after' },
  { name: 'sync with limit 0', frame: { type: 'sync', conv: 'c_1', after: 0, limit: 0 }, code: 'bad_request', field: 'limit' },
  { name: 'sync with a fractional limit', frame: { type: 'sync', conv: 'c_1', after: 0, limit: 2.5 }, code: 'bad_request', field: 'limit' },
  { name: 'sync with a string limit', frame: { type: 'sync', conv: 'c_1', after: 0, limit: '10', id: 's' }, code: 'bad_request', field: 'limit', ref: 's' },
  { name: 'sync with a null limit', frame: { type: 'sync', conv: 'c_1', after: 0, limit: null }, code: 'bad_request', field: 'limit' },
  { name: 'sync with a non-string conv', frame: { type: 'sync', conv: ['c_1'], after: 0, id: 's' }, code: 'bad_request', field: 'conv', ref: 's' },
  { name: 'sync with a malformed conv', frame: { type: 'sync', conv: 'c_😀', after: 0, id: 's' }, code: 'not_found', field: '', ref: 's' },
  { name: 'sync with a malformed conv and a bad limit', frame: { type: 'sync', conv: 'c_😀', after: 0, limit: 0, id: 's' }, code: 'bad_request', field: 'limit', ref: 's' },
];

describe('parseClientFrame', function () {
  describe('refusals', function () {
    for (const refusal of refusals) {
      const what = refusal.code === 'not_found' ? 'as a missing conversation' : `naming ${refusal.field}`;
      it(`refuses ${refusal.name} with ${refusal.code} ${what}`, function () {
        const parsed = parse(refusal.frame);
        if (parsed.ok) expect.fail(`accepted: ${JSON.stringify(parsed.frame).slice(0, 80)}`);
        expect(parsed.code).to.equal(refusal.code);
        if (refusal.code === 'not_found') expect(parsed.message).to.equal('no such conversation');
        else expect(parsed.message.startsWith(`${refusal.field}:`), parsed.message).to.equal(true);
        if (refusal.ref === undefined) expect(parsed).to.not.have.property('ref');
        else expect(parsed.ref).to.equal(refusal.ref);
      });
    }
  });

  describe('send', function () {
    it('accepts a valid send, with the body as its JSON text', function () {
      expect(parse(send({ body: { text: 'hello', extra: [1, 2] } }))).to.deep.equal({
        ok: true,
        frame: { type: 'send', id: 'msg-1', conv: 'c_1', body: '{"text":"hello","extra":[1,2]}' },
      });
    });

    it('accepts an id of 64 characters of A-Z a-z 0-9 _ -', function () {
      const id = 'aZ09_-'.repeat(10) + 'abcd';
      expect(id).to.have.length(64);
      const parsed = parse(send({ id }));
      expect(parsed.ok && parsed.frame.type === 'send' && parsed.frame.id).to.equal(id);
    });

    it('accepts every conversation id the server makes, and hand-made ones up to 64 characters', function () {
      for (const conv of ['c_jObb9RJa4xYtB0qZ', 'c_1', `c_${'aZ09_-'.repeat(10)}ab`]) {
        const parsed = parse(send({ conv }));
        expect(parsed.ok && parsed.frame.type === 'send' && parsed.frame.conv, JSON.stringify(parsed).slice(0, 120)).to.equal(conv);
      }
    });

    it('accepts a body without text', function () {
      expect(parse(send({ body: { image: 'u' } })).ok).to.equal(true);
    });

    it('counts text in characters: 4,000 ASCII characters are accepted', function () {
      expect(parse(send({ body: { text: 'a'.repeat(4000) } })).ok).to.equal(true);
    });

    it('counts an emoji as one character: 4,000 emoji (8,000 UTF-16 units) are accepted', function () {
      const text = '😀'.repeat(4000);
      expect(text.length).to.equal(8000);
      // 4,000 emoji are 16,000 bytes of UTF-8: allow the body's bytes so only the count is tested.
      const parsed = parseClientFrame(JSON.stringify(send({ body: { text } })), { ...LIMITS, maxMessageBodyBytes: 64 * 1024 });
      expect(parsed.ok, JSON.stringify(parsed).slice(0, 120)).to.equal(true);
    });

    it('counts the body in bytes of JSON: 8,192 bytes are accepted', function () {
      const body = { d: 'x'.repeat(8184) };
      expect(Buffer.byteLength(JSON.stringify(body))).to.equal(8192);
      expect(parse(send({ body })).ok).to.equal(true);
    });
  });

  describe('read, typing, ping', function () {
    it('accepts read with a ref when the frame has a string id', function () {
      expect(parse({ type: 'read', conv: 'c_1', seq: 0, id: 'r-9' })).to.deep.equal({ ok: true, frame: { type: 'read', conv: 'c_1', seq: 0, ref: 'r-9' } });
      expect(parse({ type: 'read', conv: 'c_1', seq: 7 })).to.deep.equal({ ok: true, frame: { type: 'read', conv: 'c_1', seq: 7 } });
    });

    it('accepts typing, and ignores a non-string id as ref', function () {
      expect(parse({ type: 'typing', conv: 'c_1', id: 3 })).to.deep.equal({ ok: true, frame: { type: 'typing', conv: 'c_1' } });
    });

    it('accepts ping', function () {
      expect(parse({ type: 'ping' })).to.deep.equal({ ok: true, frame: { type: 'ping' } });
      expect(parse({ type: 'ping', id: 'p' })).to.deep.equal({ ok: true, frame: { type: 'ping', ref: 'p' } });
    });
  });

  describe('sync limits', function () {
    const limitOf = (limit: unknown): number | undefined => {
      const parsed = parse({ type: 'sync', conv: 'c_1', after: 3, ...(limit === undefined ? {} : { limit }) });
      return parsed.ok && parsed.frame.type === 'sync' ? parsed.frame.limit : undefined;
    };

    it('uses the default limit when none is given', function () {
      expect(limitOf(undefined)).to.equal(100);
    });

    it('keeps a limit within range', function () {
      expect(limitOf(1)).to.equal(1);
      expect(limitOf(250)).to.equal(250);
      expect(limitOf(500)).to.equal(500);
    });

    it('clamps a larger limit to the maximum', function () {
      expect(limitOf(501)).to.equal(500);
      expect(limitOf(1_000_000)).to.equal(500);
      expect(limitOf(1e20), 'an integer past 2^53 is still just larger').to.equal(500);
    });

    it('treats an after or read seq past 2^53 as the largest seq (an empty page, a clamped cursor)', function () {
      const sync = parse({ type: 'sync', conv: 'c_1', after: 2 ** 60 });
      expect(sync).to.deep.equal({ ok: true, frame: { type: 'sync', conv: 'c_1', after: Number.MAX_SAFE_INTEGER, limit: 100 } });
      const read = parse({ type: 'read', conv: 'c_1', seq: 2 ** 53 });
      expect(read).to.deep.equal({ ok: true, frame: { type: 'read', conv: 'c_1', seq: Number.MAX_SAFE_INTEGER } });
    });

    it('keeps after as given', function () {
      const parsed = parse({ type: 'sync', conv: 'c_1', after: 41, id: 's' });
      expect(parsed).to.deep.equal({ ok: true, frame: { type: 'sync', conv: 'c_1', after: 41, limit: 100, ref: 's' } });
    });
  });
});
