/**
 * The one lifecycle of a placement unit (an upstream or task partition, a repo shard) on the node
 * that serves it (docs/architecture.md, "Supervision: every record finishes"):
 *
 *     claiming → hosted → draining → released
 *                      ↘ fenced → (released → claiming → hosted)   re-claimed with a new epoch
 *
 * - **claiming**: the claim key is created under the node's lease. A claim the node's own lease
 *   already holds (a release that failed earlier) is adopted. A claim held by another node (it
 *   is still draining the unit) is tried again every `claimRetryMs` for up to `maxClaimWaitMs`.
 *   Errors reaching the coordinator are retried with backoff (`retry()`, the one retry helper).
 * - **hosted**: the unit serves, with the claim's create revision as its fencing epoch.
 * - **draining**: intake stopped; in-flight work finishes and is committed before the release.
 * - **fenced**: a write was refused for an older epoch; the unit stops at once, uncommitted.
 * - **released**: the claim is deleted (with retries), so the next owner may take it.
 *
 * Nothing fails silently: a claim or release that still fails after its retries, or a claim held
 * by someone else for longer than `maxClaimWaitMs`, is escalated (`onEscalate`): a cluster node
 * exits for its supervisor, as on lease loss. Every state is reported to the UnitRegistry, so
 * `/readyz` and `troupe status` show it.
 */
import type { Lease } from '../../transport/coord/port.js';
import { asTroupeError, retry, TroupeError } from '../../transport/errors.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from './logger.js';
import type { UnitProbe, UnitRegistry } from './unit-registry.js';

export type EscalationStep = 'claim' | 'release' | 'host';

/** What a node does when a unit cannot be claimed, hosted or released: e.g. exit for the supervisor. */
export type Escalate = (unit: string, step: EscalationStep, error: TroupeError) => void;

export interface UnitLifecycleSettings {
  /** Pause between attempts to take a claim another node holds. Default 200. */
  claimRetryMs?: number;
  /** Longest wait for a claim another node holds before escalating. Default 60 s. */
  maxClaimWaitMs?: number;
  /** Attempts at a claim or release that fails with a retriable error. Default 6. */
  attempts?: number;
  /** First backoff of those attempts (doubling, jittered). Default 100. */
  retryDelayMs?: number;
}

export interface UnitLifecycleOptions extends UnitLifecycleSettings {
  /** e.g. `upstream/3`. */
  unit: string;
  /** `/troupe/<cluster>/claims/<unit>`. */
  claimKey: string;
  /** The claim's value: the owner's node id (repo shards: the node's id and address). */
  claimValue: string;
  lease: Lease;
  registry?: UnitRegistry;
  onEscalate: Escalate;
  logger: Logger;
  metrics?: TroupeMetrics;
}

export class UnitLifecycle {
  private currentEpoch: number | null = null;
  private claimed = false;
  /** When the current claiming began (ms); null while not claiming. */
  private claimingSince: number | null = null;
  private hasEscalated = false;

  constructor(private readonly options: UnitLifecycleOptions) {}

  get unit(): string {
    return this.options.unit;
  }

  get epoch(): number | null {
    return this.currentEpoch;
  }

  /** The unit was escalated: the node is on its way out, nothing more is tried. */
  get escalated(): boolean {
    return this.hasEscalated;
  }

  /**
   * Takes the claim; resolves with its epoch, or null when `wanted()` turned false first (the
   * unit was revoked, the lease lost) or the claim was escalated.
   */
  async claim(wanted: () => boolean): Promise<number | null> {
    for (;;) {
      if (!wanted()) return this.abandon();
      const epoch = await this.tryClaim(wanted);
      if (epoch !== null) {
        if (wanted()) return epoch;
        await this.release();
        return null;
      }
      if (this.hasEscalated || this.claimingSince === null) return null; // escalated, or the lease ended
      await new Promise((resolve) => setTimeout(resolve, this.options.claimRetryMs ?? 200).unref());
    }
  }

  /**
   * One attempt at the claim (errors reaching the coordinator retried): its epoch, or null while
   * another node holds it. For callers that reconcile in passes (repo shards) rather than wait.
   * Escalates when the attempt keeps failing, or when the claim has been held elsewhere for
   * longer than `maxClaimWaitMs` since this claiming began.
   */
  async tryClaim(wanted: () => boolean = () => true): Promise<number | null> {
    if (this.hasEscalated) return null;
    const { lease, claimKey, claimValue, unit, registry } = this.options;
    if (this.claimingSince === null) {
      this.claimingSince = Date.now();
      registry?.enter(unit, 'claiming', { epoch: null });
    }
    let claim;
    try {
      claim = await this.withRetries('claim', () => lease.claim(claimKey, claimValue), wanted);
    } catch (raw) {
      const err = asTroupeError(raw);
      if (err.code === 'closed') this.abandon(); // the lease ended: not ours to escalate
      else if (wanted()) this.escalate('claim', err);
      return null;
    }
    if (claim !== null) {
      this.claimed = true;
      this.claimingSince = null;
      this.currentEpoch = claim.createRevision;
      return claim.createRevision;
    }
    // Another node still holds it: it releases once it has drained, or its lease runs out.
    if (Date.now() - this.claimingSince > (this.options.maxClaimWaitMs ?? 60_000)) {
      this.escalate('claim', new TroupeError('unavailable', `claim ${claimKey} held by another node for too long`));
    }
    return null;
  }

  /** No longer to be claimed (revoked, or no longer this node's to own): the unit leaves the registry. */
  abandon(): null {
    this.claimingSince = null;
    if (!this.claimed) this.options.registry?.enter(this.options.unit, 'released');
    return null;
  }

  hosted(probe: () => UnitProbe): void {
    this.options.registry?.enter(this.options.unit, 'hosted', { epoch: this.currentEpoch });
    this.options.registry?.attachProbe(this.options.unit, probe);
  }

  draining(): void {
    this.options.registry?.enter(this.options.unit, 'draining');
  }

  fenced(reason: string): void {
    this.options.registry?.enter(this.options.unit, 'fenced', { reason });
  }

  /** Deletes the claim (retrying); escalates when it cannot. The unit leaves the registry. */
  async release(): Promise<void> {
    const { lease, claimKey, unit, registry } = this.options;
    if (this.claimed) {
      try {
        await this.withRetries('release', () => lease.release(claimKey), () => true);
        this.claimed = false;
      } catch (raw) {
        const err = asTroupeError(raw);
        // A lease that ended holds no keys any more: nothing is left to release.
        if (err.code !== 'closed') {
          this.escalate('release', err);
          return;
        }
      }
    }
    this.currentEpoch = null;
    this.claimingSince = null;
    registry?.enter(unit, 'released');
  }

  /** The claim is gone without a release (with the lease, or deleted by someone else). */
  lost(reason = 'lease lost'): void {
    this.claimed = false;
    this.claimingSince = null;
    this.currentEpoch = null;
    this.options.registry?.enter(this.options.unit, 'fenced', { reason });
  }

  private withRetries<T>(step: 'claim' | 'release', call: () => Promise<T>, wanted: () => boolean): Promise<T> {
    const { logger, unit } = this.options;
    return retry(call, {
      attempts: this.options.attempts ?? 6,
      initialDelayMs: this.options.retryDelayMs ?? 100,
      abort: () => !wanted(),
      onRetry: (err, attempt, delayMs) => logger.warn(`unit ${step} failed; retrying`, { unit, attempt, delayMs, error: err.message }),
    });
  }

  private escalate(step: EscalationStep, error: TroupeError): void {
    const { logger, metrics, unit, registry } = this.options;
    this.hasEscalated = true;
    logger.error(`unit could not ${step === 'host' ? 'be hosted' : step === 'claim' ? 'be claimed' : 'be released'}; escalating`, { unit, error: error.message });
    metrics?.unitEscalations.inc({ step });
    registry?.enter(unit, 'fenced', { reason: `${step} failed: ${error.message}` });
    this.options.onEscalate(unit, step, error);
  }

  /** For a unit that failed repeatedly while hosted (fenced again and again). */
  escalateHosting(error: TroupeError): void {
    this.escalate('host', error);
  }
}
