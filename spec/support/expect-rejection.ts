/**
 * Asserts that a call rejects with a TroupeError of a given code: the stable codes are part of
 * every port's contract, so specs check the code, never the message.
 */
import { expect } from 'chai';
import { TroupeError, type ErrorCode } from '../../transport/errors.js';

export async function expectTroupeRejection(promise: Promise<unknown>, code: ErrorCode): Promise<TroupeError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `a rejection with TroupeError '${code}'`).to.be.instanceOf(TroupeError);
  const err = caught as TroupeError;
  expect(err.code, err.message).to.equal(code);
  return err;
}
