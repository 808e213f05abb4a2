/**
 * What both logs hand out as a `Producer`: a handle on the log's one append path. Closing a
 * handle closes only that handle; the log's own connection lives until the log closes.
 */
import { TroupeError } from '../errors.js';
import type { ProduceRecord, Producer, RecordPosition } from './port.js';

export class ProducerHandle implements Producer {
  private closed = false;

  constructor(private readonly append: (topic: string, records: ProduceRecord[]) => RecordPosition[] | Promise<RecordPosition[]>) {}

  async send(topic: string, records: ProduceRecord[]): Promise<RecordPosition[]> {
    if (this.closed) throw new TroupeError('closed', 'the producer is closed');
    return this.append(topic, records);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
