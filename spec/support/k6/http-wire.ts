/** What the VU thread and the HTTP host thread of the k6/http stand-in exchange. */

export interface WireRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface WireResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: string;
  durationMs: number;
  /** Set when no answer came (refused, reset, timed out); status is then 0, as in k6. */
  error?: string;
}

/** Index 0 of the shared Int32Array: 0 while a call is under way, 1 once its answer is posted. */
export const ANSWERED = 1;
