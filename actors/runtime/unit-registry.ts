/**
 * What this node knows of the placement units it serves (upstream partitions, task partitions,
 * repo shards), for readiness, metrics and `troupe status` (docs/architecture.md, "Supervision: every record finishes").
 *
 * Every unit follows one lifecycle (unit-lifecycle.ts): claiming → hosted → draining | fenced →
 * released. The registry holds each unit's current state, epoch and since when, plus live figures
 * the unit's host reports through a probe (records in flight, age of the oldest unfinished
 * record, records parked). A released unit leaves the registry.
 *
 * The node is ready only while every unit it should serve is hosted and none is stuck: a unit
 * still claiming, one that is fenced, or one whose oldest unfinished record is older than
 * `stuckAfterMs` makes `ready()` false, so `/readyz` answers 503 and an orchestrator sees it.
 */
import type { TroupeMetrics } from '../metrics.js';

export type UnitState = 'claiming' | 'hosted' | 'draining' | 'fenced' | 'released';

/** Figures a hosted unit reports on demand. */
export interface UnitProbe {
  inFlight: number;
  /** Age in ms of the oldest record taken and not finished; 0 when none. */
  oldestInFlightMs: number;
  /** Records parked (dead-lettered) since the unit was hosted here. */
  parked: number;
}

/** One unit as `/units` and `troupe status` show it. */
export interface UnitStatus extends UnitProbe {
  /** `<prefix>/<n>`, e.g. `upstream/3`, `task/0`, `repo/17`. */
  unit: string;
  state: UnitState;
  /** The claim's create revision (fencing epoch); null while claiming. */
  epoch: number | null;
  /** Wall-clock ms when the unit entered its state (for people; nothing is timed by it). */
  since: number;
  /** Why the unit is in its state, when that is not the usual path (a fence, a failed claim). */
  reason?: string;
}

const STATE_CODE: Record<UnitState, number> = { claiming: 0, hosted: 1, draining: 2, fenced: 3, released: 4 };

interface Entry {
  status: Omit<UnitStatus, keyof UnitProbe>;
  probe: (() => UnitProbe) | null;
}

const IDLE: UnitProbe = { inFlight: 0, oldestInFlightMs: 0, parked: 0 };

export class UnitRegistry {
  private readonly units = new Map<string, Entry>();

  constructor(
    private readonly options: {
      metrics?: TroupeMetrics;
      /** A unit whose oldest unfinished record is older than this is stuck. Default 30 s. */
      stuckAfterMs?: number;
      now?: () => number;
    } = {},
  ) {}

  /** Moves `unit` to `state` (creating its entry); `released` removes it. */
  enter(unit: string, state: UnitState, details: { epoch?: number | null; reason?: string } = {}): void {
    const now = (this.options.now ?? Date.now)();
    const current = this.units.get(unit);
    const gauge = this.options.metrics?.unitState;
    if (state === 'released') {
      this.units.delete(unit);
      gauge?.remove({ unit });
      return;
    }
    const epoch = details.epoch !== undefined ? details.epoch : (current?.status.epoch ?? null);
    const status = { unit, state, epoch, since: now, ...(details.reason !== undefined ? { reason: details.reason } : {}) };
    this.units.set(unit, { status, probe: state === 'claiming' ? null : (current?.probe ?? null) });
    gauge?.set({ unit }, STATE_CODE[state]);
  }

  /** Where the hosted unit's live figures come from (its partition host or shard queue). */
  attachProbe(unit: string, probe: () => UnitProbe): void {
    const entry = this.units.get(unit);
    if (entry !== undefined) entry.probe = probe;
  }

  stateOf(unit: string): UnitState | undefined {
    return this.units.get(unit)?.status.state;
  }

  snapshot(): UnitStatus[] {
    const out: UnitStatus[] = [];
    for (const { status, probe } of this.units.values()) out.push({ ...status, ...(probe === null ? IDLE : probe()) });
    return out.sort((a, b) => compareUnits(a.unit, b.unit));
  }

  /** Units that keep the node from being ready, with why; empty when it is ready. */
  problems(): string[] {
    const stuckAfter = this.options.stuckAfterMs ?? 30_000;
    const problems: string[] = [];
    for (const status of this.snapshot()) {
      if (status.state === 'claiming') problems.push(`${status.unit} is not hosted yet`);
      else if (status.state === 'fenced') problems.push(`${status.unit} is fenced${status.reason ? `: ${status.reason}` : ''}`);
      else if (status.state === 'hosted' && status.oldestInFlightMs > stuckAfter) {
        problems.push(`${status.unit} has a record unfinished for ${Math.round(status.oldestInFlightMs / 1000)} s`);
      }
    }
    return problems;
  }

  ready(): boolean {
    return this.problems().length === 0;
  }
}

/** `upstream/2` before `upstream/10`. */
function compareUnits(a: string, b: string): number {
  const [pa, na] = splitUnit(a);
  const [pb, nb] = splitUnit(b);
  return pa === pb ? na - nb : pa < pb ? -1 : 1;
}

/** `upstream/3` → [`upstream`, 3]. */
export function splitUnit(unit: string): [string, number] {
  const slash = unit.lastIndexOf('/');
  return [unit.slice(0, slash), Number(unit.slice(slash + 1))];
}
