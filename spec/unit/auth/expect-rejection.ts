/** Assertions on rejected promises and thrown TroupeErrors for the auth specs. */
import { expect } from 'chai';
import { TroupeError, type ErrorCode } from '../../../transport/errors.js';

/**
 * Awaits `promise`, asserts it rejected with a TroupeError of `code` whose message includes
 * `messagePart` (when given), and returns the error for further checks.
 */
export async function expectRejection(promise: Promise<unknown>, code: ErrorCode, messagePart?: string): Promise<TroupeError> {
  let outcome: { ok: true; value: unknown } | { ok: false; err: unknown };
  try {
    outcome = { ok: true, value: await promise };
  } catch (err) {
    outcome = { ok: false, err };
  }
  if (outcome.ok) expect.fail(`expected a rejection with ${code}, got ${JSON.stringify(outcome.value)}`);
  return checkError(outcome.err, code, messagePart);
}

/** Calls `fn`, asserts it threw a TroupeError of `code`, and returns the error. */
export function expectThrow(fn: () => unknown, code: ErrorCode, messagePart?: string): TroupeError {
  try {
    fn();
  } catch (err) {
    return checkError(err, code, messagePart);
  }
  return expect.fail(`expected a throw with ${code}`);
}

function checkError(err: unknown, code: ErrorCode, messagePart: string | undefined): TroupeError {
  expect(err, String(err)).to.be.instanceOf(TroupeError);
  const troupeError = err as TroupeError;
  expect(troupeError.code, troupeError.message).to.equal(code);
  if (messagePart !== undefined) expect(troupeError.message).to.include(messagePart);
  return troupeError;
}
