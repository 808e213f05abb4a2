/**
 * Stand-in for `k6/http`: synchronous, like k6's. A call posts its request(s) to a helper thread
 * (http-host.ts), blocks this VU thread in Atomics.wait until the answers are in, and reads them
 * with receiveMessageOnPort. Sockets of the VU get no events while it blocks, as in k6.
 *
 * Emulated: request, get, post, put, patch, del, head, options and batch (array or object form);
 * string bodies as given, object bodies form-encoded; params.headers and params.timeout; Response's
 * status, status_text, body (text), headers (canonical names), url, error, error_code (1000 for
 * any failure), timings.duration and json(). Records http_reqs, http_req_duration and
 * http_req_failed (failed = status 0 or ≥ 400). Not emulated: cookies, redirects' details, TLS and
 * compression options, responseType other than text, tags on the samples, the other timings.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { WireRequest, WireResponse } from './http-wire.js';
import { recorder, requirePhase } from './recorder.js';
import { startTsWorker } from './ts-worker.js';

type Body = string | Record<string, unknown> | null | undefined;

interface Params {
  headers?: Record<string, string>;
  timeout?: string | number;
  tags?: Record<string, string>;
}

type ArrayRequest = [string, string, Body?, (Params | null)?];
interface ObjectRequest {
  method: string;
  url: string;
  body?: Body;
  params?: Params | null;
}
type BatchRequest = string | ArrayRequest | ObjectRequest;

export class Response {
  readonly status: number;
  readonly status_text: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly error: string;
  readonly error_code: number;
  readonly timings: { duration: number };

  constructor(readonly url: string, wire: WireResponse) {
    this.status = wire.status;
    this.status_text = wire.statusText;
    this.body = wire.body;
    this.headers = Object.fromEntries(wire.headers.map(([name, value]) => [canonical(name), value]));
    this.error = wire.error ?? '';
    this.error_code = wire.error === undefined ? 0 : 1000;
    this.timings = { duration: wire.durationMs };
  }

  json(): unknown {
    return JSON.parse(this.body);
  }
}

/** Go's canonical header name, which k6 uses for response headers: content-type → Content-Type. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

function timeoutMs(timeout: string | number | undefined): number {
  if (timeout === undefined) return 60_000;
  if (typeof timeout === 'number') return timeout;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(timeout);
  if (!match) throw new Error(`params.timeout: ${timeout} is not a duration the stand-in understands`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

function toWire(method: string, url: string, body: Body, params: Params | null | undefined): WireRequest {
  const headers = { ...(params?.headers ?? {}) };
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (body !== null && body !== undefined) {
    text = new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString();
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  return { method: method.toUpperCase(), url, headers, body: text, timeoutMs: timeoutMs(params?.timeout) };
}

let host: { port: MessagePort; signal: Int32Array } | null = null;

/** Posts `batch` to the host thread (started on first use) and blocks until it answers. */
function perform(batch: WireRequest[]): WireResponse[] {
  requirePhase('an HTTP request', ['setup', 'iteration']);
  if (host === null) {
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const thread = startTsWorker(new URL('./http-host.ts', import.meta.url), { workerData: { port: port2, signal }, transferList: [port2] });
    thread.unref();
    host = { port: port1, signal };
  }
  Atomics.store(host.signal, 0, 0);
  host.port.postMessage(batch);
  const deadline = Math.max(...batch.map((r) => r.timeoutMs)) + 5_000;
  if (Atomics.wait(host.signal, 0, 0, deadline) === 'timed-out') throw new Error(`k6/http stand-in: no answer from the HTTP thread within ${deadline} ms`);
  const answer = receiveMessageOnPort(host.port);
  if (!answer) throw new Error('k6/http stand-in: woken without an answer');
  const responses = answer.message as WireResponse[];
  for (const res of responses) {
    recorder.addSample('http_reqs', 1);
    recorder.addSample('http_req_duration', res.durationMs);
    recorder.addSample('http_req_failed', res.status === 0 || res.status >= 400 ? 1 : 0);
  }
  return responses;
}

recorder.declareMetric('http_reqs', 'counter', false);
recorder.declareMetric('http_req_duration', 'trend', true);
recorder.declareMetric('http_req_failed', 'rate', false);

export function request(method: string, url: string, body?: Body, params?: Params | null): Response {
  const [res] = perform([toWire(method, url, body, params)]);
  return new Response(url, res as WireResponse);
}

export const get = (url: string, params?: Params | null): Response => request('GET', url, null, params);
export const head = (url: string, params?: Params | null): Response => request('HEAD', url, null, params);
export const post = (url: string, body?: Body, params?: Params | null): Response => request('POST', url, body, params);
export const put = (url: string, body?: Body, params?: Params | null): Response => request('PUT', url, body, params);
export const patch = (url: string, body?: Body, params?: Params | null): Response => request('PATCH', url, body, params);
export const del = (url: string, body?: Body, params?: Params | null): Response => request('DELETE', url, body, params);
export const options = (url: string, body?: Body, params?: Params | null): Response => request('OPTIONS', url, body, params);

function normalise(req: BatchRequest): ObjectRequest {
  if (typeof req === 'string') return { method: 'GET', url: req };
  if (Array.isArray(req)) return { method: req[0], url: req[1], body: req[2], params: req[3] };
  return req;
}

/** Runs the requests in parallel; answers in the same shape (array or object) as asked. */
export function batch(requests: BatchRequest[] | Record<string, BatchRequest>): Response[] | Record<string, Response> {
  const entries = Array.isArray(requests) ? requests.map((r, i) => [String(i), r] as const) : Object.entries(requests);
  const asked = entries.map(([, r]) => normalise(r));
  const answers = perform(asked.map((r) => toWire(r.method, r.url, r.body, r.params)));
  const responses = answers.map((a, i) => new Response((asked[i] as ObjectRequest).url, a));
  return Array.isArray(requests) ? responses : Object.fromEntries(entries.map(([key], i) => [key, responses[i] as Response]));
}

export default { request, get, head, post, put, patch, del, options, batch };
