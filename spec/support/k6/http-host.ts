/**
 * The thread that carries out the k6/http stand-in's requests. The VU thread posts a batch and
 * blocks in Atomics.wait (k6/http is synchronous); this thread runs the batch with fetch, posts the
 * answers and wakes it.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { ANSWERED, type WireRequest, type WireResponse } from './http-wire.js';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

async function perform(req: WireRequest): Promise<WireResponse> {
  const started = performance.now();
  try {
    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(req.timeoutMs) });
    const body = await res.text();
    return { status: res.status, statusText: res.statusText, headers: [...res.headers], body, durationMs: performance.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return { status: 0, statusText: '', headers: [], body: '', durationMs: performance.now() - started, error: cause ?? (err as Error).message };
  }
}

port.on('message', async (batch: WireRequest[]) => {
  const answers = await Promise.all(batch.map(perform));
  port.postMessage(answers);
  Atomics.store(signal, 0, ANSWERED);
  Atomics.notify(signal, 0);
});
