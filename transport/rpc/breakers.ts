/**
 * One circuit breaker (cockatiel) per target address. After `failures` consecutive calls to a
 * target that could not be answered, its breaker opens: calls are refused at once, without
 * touching the network, for `halfOpenMs`; then one trial call goes through, and its outcome
 * closes the breaker or opens it again.
 *
 * What counts as a failure is decided by the caller: the function given to `execute` must
 * throw only for failures of the target (unreachable, deadline passed) and resolve for
 * anything the server answered, errors included, since an answer proves the server healthy
 * (a success also resets the consecutive count).
 */
import { CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import type { BreakerState } from './observer.js';

export { BrokenCircuitError } from 'cockatiel';

export interface BreakerPoolOptions {
  failures: number;
  halfOpenMs: number;
  onState?: (target: string, state: BreakerState) => void;
}

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half_open';
  return 'open';
}

export class BreakerPool {
  private readonly breakers = new Map<string, CircuitBreakerPolicy>();

  constructor(private readonly options: BreakerPoolOptions) {}

  /** The breaker of `target`, made closed on first use. */
  get(target: string): CircuitBreakerPolicy {
    let breaker = this.breakers.get(target);
    if (breaker === undefined) {
      breaker = circuitBreaker(handleAll, {
        halfOpenAfter: this.options.halfOpenMs,
        breaker: new ConsecutiveBreaker(this.options.failures),
      });
      const onState = this.options.onState;
      if (onState !== undefined) {
        breaker.onStateChange((state) => onState(target, stateName(state)));
        onState(target, 'closed');
      }
      this.breakers.set(target, breaker);
    }
    return breaker;
  }
}
