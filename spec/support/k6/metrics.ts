/**
 * Stand-in for `k6/metrics`: Counter, Gauge, Rate and Trend keep every sample in the recorder, so
 * the runner can aggregate them for thresholds. Tags are accepted and dropped.
 */
import { recorder, requirePhase, type MetricType } from './recorder.js';

/** k6's rule for metric names. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

abstract class Metric {
  protected constructor(readonly name: string, private readonly type: MetricType, isTime: boolean) {
    requirePhase('declaring a metric', ['init']);
    if (!NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    recorder.declareMetric(name, type, isTime);
  }

  add(value: number | boolean, _tags?: Record<string, string>): void {
    const number = typeof value === 'boolean' ? Number(value) : value;
    if (!Number.isFinite(number)) throw new Error(`${this.name}: ${String(value)} is not a number`);
    recorder.addSample(this.name, this.type === 'rate' ? Number(number !== 0) : number);
  }
}

export class Counter extends Metric {
  constructor(name: string, isTime = false) {
    super(name, 'counter', isTime);
  }
}

export class Gauge extends Metric {
  constructor(name: string, isTime = false) {
    super(name, 'gauge', isTime);
  }
}

export class Rate extends Metric {
  constructor(name: string, isTime = false) {
    super(name, 'rate', isTime);
  }
}

export class Trend extends Metric {
  constructor(name: string, isTime = false) {
    super(name, 'trend', isTime);
  }
}
