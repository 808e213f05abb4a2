/**
 * The setup routes (bench/peers/setup-routes.ts) over node:http, the server Socket.IO attaches
 * to: Socket.IO takes its own path (/socket.io/) and hands every other request to this listener.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { answerSetup, MAX_SETUP_BODY_BYTES, type SetupAnswer, type SetupBackend } from '../setup-routes.js';

const TOO_LARGE: SetupAnswer = {
  status: 413,
  contentType: 'application/json',
  body: JSON.stringify({ error: { code: 'too_large', message: `request body over ${MAX_SETUP_BODY_BYTES} bytes` } }),
};

export function setupRequestListener(backend: SetupBackend): RequestListener {
  return (req, res) => {
    void handle(req, res, backend);
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, backend: SetupBackend): Promise<void> {
  const body = await readBody(req);
  const answer = body === null
    ? TOO_LARGE
    : await answerSetup({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, authorization: req.headers.authorization, body }, backend);
  res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
}

/** The body as text, or null once it is over the limit (the rest is drained unread). */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_SETUP_BODY_BYTES) {
      req.resume();
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_SETUP_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_SETUP_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    // The client went away mid-body: whatever is answered goes nowhere.
    req.on('error', () => resolve(null));
  });
}
