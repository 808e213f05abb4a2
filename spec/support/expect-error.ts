/**
 * Assertions of the protocol's error shapes: `{"error": {"code", "message"}}` over HTTP and
 * `{"type": "error", "ref"?, "code", "message"}` over WebSockets.
 */
import { expect } from 'chai';
import type { ApiResponse, Json } from './client.js';

/**
 * Asserts an HTTP error answer: status, code, a non-empty message, and, for
 * `invalid_argument`, that the message names `field` when one is given.
 */
export function expectHttpError(res: ApiResponse, status: number, code: string, field?: string): void {
  expect(res.status, `status (body ${res.text})`).to.equal(status);
  expect(res.body, `body ${res.text}`).to.be.an('object');
  expect(res.body.error, `body ${res.text}`).to.be.an('object');
  expect(res.body.error.code).to.equal(code);
  expect(res.body.error.message).to.be.a('string').and.not.equal('');
  if (field !== undefined) expect(res.body.error.message, 'message names the field').to.include(field);
}

/** Asserts an error frame's code and its `ref` (absent when `ref` is undefined). */
export function expectErrorFrame(frame: Json, code: string, ref?: string): void {
  expect(frame.type).to.equal('error');
  expect(frame.code, JSON.stringify(frame)).to.equal(code);
  expect(frame.message).to.be.a('string');
  if (ref === undefined) expect(frame, 'no ref').to.not.have.property('ref');
  else expect(frame.ref).to.equal(ref);
}
