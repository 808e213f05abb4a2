import { expect } from 'chai';
import { TroupeMetrics } from '../../../actors/metrics.js';
import { silentLogger } from '../../../actors/runtime/logger.js';
import { LagMonitor } from '../../../actors/runtime/lag-monitor.js';
import type { ConsumerListener } from '../../../transport/log/port.js';
import { MemoryLog } from '../../../transport/log/memory.js';
import { uniqueName, waitFor } from '../../support/wait-for.js';

describe('LagMonitor', function () {
  it('reports appended minus committed records per partition as troupe_log_lag', async function () {
    const log = new MemoryLog();
    const topic = uniqueName('lag');
    const groupId = uniqueName('group');
    await log.createTopics([{ topic, partitions: 2 }]);
    const producer = log.producer();
    // Keys chosen by their partition: five records on one partition, none on the other.
    const positions = await producer.send(topic, Array.from({ length: 5 }, () => ({ key: 'same-key', value: new Uint8Array([1]) })));
    const busy = (positions[0] as { partition: number }).partition;
    const consumer = log.consumer({ groupId, topics: [topic], fromBeginning: true });
    let seen = 0;
    const listener: ConsumerListener = {
      onAssigned: async () => undefined,
      onRevoked: async () => undefined,
      onRecords: async (_tp, records) => {
        seen += records.length;
      },
    };
    await consumer.start(listener);
    await waitFor(() => seen === 5);
    await consumer.commit({ topic, partition: busy }, '2');

    const metrics = new TroupeMetrics({ defaultMetrics: false });
    const monitor = new LagMonitor({ log, groupId, topic, metrics, logger: silentLogger, intervalMs: 60_000 });
    try {
      await monitor.poll();
      const values = (await metrics.logLag.get()).values;
      const lagOf = (p: number): number | undefined => values.find((v) => v.labels.partition === String(p))?.value;
      expect(lagOf(busy)).to.equal(3);
      expect(lagOf(1 - busy)).to.equal(0);
    } finally {
      monitor.stop();
      await consumer.stop();
      await log.close();
    }
  });
});
