/**
 * The one table from error codes to what clients see (actors/gateway/error-map.ts): HTTP
 * statuses of docs/protocol.md, internal codes mapped to protocol codes, `internal` messages hidden,
 * and `Retry-After` on `rate_limited`.
 */
import { expect } from 'chai';
import { clientCode, errorResponse, frameMessage, httpStatus } from '../../../actors/gateway/error-map.js';
import { TroupeError, type ErrorCode, type ProtocolErrorCode } from '../../../transport/errors.js';

const STATUSES: Record<ProtocolErrorCode, number> = {
  invalid_argument: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

const INTERNAL_CODES: Array<[Exclude<ErrorCode, ProtocolErrorCode>, ProtocolErrorCode]> = [
  ['not_owner', 'unavailable'],
  ['stale_epoch', 'unavailable'],
  ['timeout', 'unavailable'],
  ['closed', 'unavailable'],
  ['config', 'internal'],
];

function body(response: ReturnType<typeof errorResponse>): { code: string; message: string } {
  return (response.body as { error: { code: string; message: string } }).error;
}

describe('error map', function () {
  describe('HTTP statuses', function () {
    for (const [code, status] of Object.entries(STATUSES) as Array<[ProtocolErrorCode, number]>) {
      it(`answers ${code} with HTTP ${status}${code === 'internal' ? '' : " and the error's own message"}`, function () {
        expect(httpStatus(code)).to.equal(status);
        const response = errorResponse(new TroupeError(code, `${code}: what went wrong`), 'req-1');
        expect(response.status).to.equal(status);
        expect(body(response).code).to.equal(code);
        if (code !== 'internal') expect(body(response).message).to.equal(`${code}: what went wrong`);
      });
    }
  });

  describe('internal codes', function () {
    for (const [code, seen] of INTERNAL_CODES) {
      it(`shows ${code} to clients as ${seen}, without its own text`, function () {
        expect(clientCode(code)).to.equal(seen);
        const response = errorResponse(new TroupeError(code, 'epoch 17 of upstream/3 is stale'), 'req-2');
        expect(response.status).to.equal(STATUSES[seen]);
        expect(body(response).code).to.equal(seen);
        expect(body(response).message).to.not.include('upstream/3');
        const frame = frameMessage(new TroupeError(code, 'epoch 17 of upstream/3 is stale'));
        expect(frame.code).to.equal(seen);
        expect(frame.message).to.not.include('upstream/3');
      });
    }
  });

  describe('internal errors', function () {
    it('hides the message of an internal TroupeError behind the request id', function () {
      const response = errorResponse(new TroupeError('internal', 'SQLITE_CORRUPT at /var/data/troupe.db'), 'req-42');
      expect(response.status).to.equal(500);
      expect(body(response).code).to.equal('internal');
      expect(body(response).message).to.include('req-42');
      expect(body(response).message).to.not.include('SQLITE');
    });

    it('treats anything that is not a TroupeError as internal and hides it', function () {
      const failure = new TypeError("Cannot read properties of undefined (reading 'id')");
      const response = errorResponse(failure, 'req-43');
      expect(response.status).to.equal(500);
      expect(body(response)).to.deep.equal({ code: 'internal', message: 'internal error (request req-43)' });
      expect(frameMessage(failure)).to.deep.equal({ code: 'internal', message: 'internal error' });
      expect(frameMessage('a thrown string')).to.deep.equal({ code: 'internal', message: 'internal error' });
    });

    it('sets no Retry-After on other errors', function () {
      expect(errorResponse(new TroupeError('unavailable', 'down'), 'r').headers).to.equal(undefined);
    });
  });

  describe('rate limiting', function () {
    it('sets Retry-After in whole seconds, rounded up', function () {
      const response = errorResponse(new TroupeError('rate_limited', 'too many failed logins', { retryAfterMs: 2500 }), 'r');
      expect(response.status).to.equal(429);
      expect(response.headers).to.deep.equal({ 'retry-after': '3' });
    });

    it('sets Retry-After to at least one second', function () {
      expect(errorResponse(new TroupeError('rate_limited', 'x', { retryAfterMs: 10 }), 'r').headers).to.deep.equal({ 'retry-after': '1' });
      expect(errorResponse(new TroupeError('rate_limited', 'x'), 'r').headers).to.deep.equal({ 'retry-after': '1' });
    });
  });

  describe('error frames', function () {
    it('keeps a protocol code and its message', function () {
      expect(frameMessage(new TroupeError('not_found', 'no such conversation'))).to.deep.equal({ code: 'not_found', message: 'no such conversation' });
      expect(frameMessage(new TroupeError('rate_limited', 'slow down'))).to.deep.equal({ code: 'rate_limited', message: 'slow down' });
    });
  });
});
