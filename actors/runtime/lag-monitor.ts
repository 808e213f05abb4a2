/**
 * Publishes consumer lag (records appended but not yet committed by a group) per partition as
 * the `troupe_log_lag` gauge, polled every few seconds: cheap enough for any log, and the
 * figure an operator watches to see logic falling behind.
 */
import type { Log } from '../../transport/log/port.js';
import type { TroupeMetrics } from '../metrics.js';
import type { Logger } from './logger.js';

export interface LagMonitorOptions {
  log: Log;
  groupId: string;
  topic: string;
  metrics: TroupeMetrics;
  logger: Logger;
  intervalMs?: number;
}

export class LagMonitor {
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(private readonly options: LagMonitorOptions) {
    this.timer = setInterval(() => void this.poll(), options.intervalMs ?? 5000);
    this.timer.unref();
  }

  async poll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { log, groupId, topic, metrics } = this.options;
    try {
      const partitions = await log.partitionCount(topic);
      // All partitions at once: a log that answers a whole topic per request (Kafka) reads the
      // ends and the commits of one round in two requests, not two per partition.
      const reads: Array<Promise<void>> = [];
      for (let partition = 0; partition < partitions; partition++) {
        const tp = { topic, partition };
        reads.push(
          Promise.all([log.endOffset(tp), log.committedOffset(groupId, tp)]).then(([end, committed]) => {
            const lag = Number(end) - Number(committed ?? 0);
            metrics.logLag.set({ topic, partition: String(partition) }, Math.max(0, lag));
          }),
        );
      }
      await Promise.all(reads);
    } catch (err) {
      this.options.logger.debug('lag poll failed', { topic, error: (err as Error).message });
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
