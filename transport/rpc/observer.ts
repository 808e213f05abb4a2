/**
 * What an RPC client tells about its calls, so that bin/ can turn it into metrics (prom-client)
 * without transport/ knowing about them. Every method is optional to act on, and must be cheap
 * and must not throw: it runs on every call.
 */

/**
 * How one attempt ended: `ok`; `error` when the server answered with a failure (a `conflict`,
 * `not_found`, … : the server is healthy); `unavailable` when the call could not be answered
 * in time or at all; `breaker_open` when the target's breaker refused it without sending.
 */
export type RpcOutcome = 'ok' | 'error' | 'unavailable' | 'breaker_open';

/** The circuit breaker of one target. `half_open` lets one trial call through. */
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface RpcObserver {
  /** Once per attempt sent to `target` (`host:port`) or refused by its breaker. `method` is like `GetUser`. */
  onCall(target: string, method: string, outcome: RpcOutcome, seconds: number): void;
  /** When a target's breaker is made (`closed`) and at every change of its state. */
  onBreakerState(target: string, state: BreakerState): void;
}
