/**
 * Refusals in words a person can act on. The server's error codes (docs/protocol.md, "Errors")
 * become sentences; its own message, written for developers, is kept only where it says more.
 */
import { PeopleError } from './directory.js';
import { ApiError } from './session.js';

/** An error from the server's HTTP API, the directory or anything else, as one sentence. */
export function describe(err) {
  if (err instanceof PeopleError) return err.message;
  if (!(err instanceof ApiError)) return 'Something went wrong: please try again.';
  switch (err.code) {
    case 'unavailable':
      return err.status === 0 ? 'Cannot reach the server: check the connection and try again.' : 'The server cannot do that right now: try again in a moment.';
    case 'rate_limited':
      return `Too many attempts: try again ${err.retryAfter > 0 ? `in ${err.retryAfter} s` : 'in a minute'}.`;
    case 'forbidden':
      return 'Only the group’s owner can do that.';
    case 'conflict':
      return err.message.startsWith('username') ? 'That username is taken: pick another one.' : sentence(err.message);
    case 'too_large':
      return 'That is too long.';
    case 'internal':
      return `Something went wrong on the server (${err.message}).`;
    default:
      return sentence(err.message);
  }
}

/** A frame's refusal (`error` frame) as one sentence. */
export function describeFrame({ code, message }) {
  return describe(new ApiError(-1, code, message));
}

/** "username: must be 3-32 characters" → "Username: must be 3-32 characters." */
function sentence(text) {
  const trimmed = String(text).trim();
  if (trimmed === '') return 'The server refused that.';
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}
