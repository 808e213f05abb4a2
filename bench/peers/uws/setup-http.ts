/**
 * The setup routes (bench/peers/setup-routes.ts) served by uWebSockets.js: the request's head is
 * copied before the handler returns (uWS reuses the request object), the body is streamed in
 * with Troupe's own reader, and the answer is written corked unless the client went away.
 */
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { declaredLength, readBody } from '../../../transport/http/uws-request.js';
import { answerSetup, MAX_SETUP_BODY_BYTES, type SetupAnswer, type SetupBackend } from '../setup-routes.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: '200 OK',
  201: '201 Created',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const TOO_LARGE: SetupAnswer = {
  status: 413,
  contentType: 'application/json',
  body: JSON.stringify({ error: { code: 'too_large', message: `request body over ${MAX_SETUP_BODY_BYTES} bytes` } }),
};

/** Routes every HTTP request not taken by a more specific route to the setup subset. */
export function serveSetupRoutes(app: TemplatedApp, backend: SetupBackend): void {
  app.any('/*', (res, req) => {
    const method = req.getCaseSensitiveMethod();
    const path = req.getUrl();
    const authorization = req.getHeader('authorization') || undefined;
    const declared = declaredLength({ 'content-length': req.getHeader('content-length') });
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const write = (answer: SetupAnswer): void => {
      if (!aborted) writeAnswer(res, answer);
    };
    if (declared !== undefined && declared > MAX_SETUP_BODY_BYTES) {
      write(TOO_LARGE);
      return;
    }
    readBody(res, MAX_SETUP_BODY_BYTES, declared, (body) => {
      if (body === null) {
        write(TOO_LARGE);
        return;
      }
      void answerSetup({ method, path, authorization, body: body.toString('utf8') }, backend).then(write);
    });
  });
}

/** Writes `answer` on a response that is still open (also used to refuse an upgrade). */
export function writeAnswer(res: HttpResponse, answer: SetupAnswer): void {
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[answer.status] ?? String(answer.status)).writeHeader('content-type', answer.contentType).end(answer.body);
  });
}
