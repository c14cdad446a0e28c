// Group commit of tracker records to Service Bus. Thousands of devices each send a packet of a few records; one
// message per packet would make the broker's per-message cost the gateway's limit. So records that arrive while
// `maxInFlight` sends are under way wait, and the next free slot sends all of them as one push (split into parts
// only past the message size limit). Alone, a packet is sent at once: grouping adds no latency, it only appears
// under load. Each caller's promise resolves only once the broker accepted the message holding its records, and
// that is when the device gets its ack; a failed or timed-out send rejects every caller in it, so none of those
// devices is acked and each sends its records again.

import { randomUUID } from 'node:crypto';
import { toPushMessages, type MessageSender } from '@transit-fusion/messaging';
import type { VendorRecord } from '@transit-fusion/model';
import { GatewayError } from './gateway-error.js';

export interface RecordForwarderDeps {
  readonly sender: Pick<MessageSender, 'send'>;
  readonly vendorId: string;
  readonly maxMessageBytes: number;
  readonly sendTimeoutMs: number;
  /** Sends under way at once (default 4). */
  readonly maxInFlight?: number;
  /** Most records sent together (default 5,000). */
  readonly maxGroupRecords?: number;
  readonly clock?: { now(): number };
}

export interface RecordForwarder {
  /** Resolves once the broker accepted the records; rejects with GatewayError FORWARD_FAILED or CLOSED. */
  forward(records: readonly VendorRecord[]): Promise<void>;
  /** Records waiting or being sent. */
  readonly pending: number;
  /** Refuses new records, then waits for everything already accepted for sending to settle. */
  close(): Promise<void>;
}

interface Waiting {
  readonly records: readonly VendorRecord[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function createRecordForwarder(deps: RecordForwarderDeps): RecordForwarder {
  const maxInFlight = deps.maxInFlight ?? 4;
  const maxGroupRecords = deps.maxGroupRecords ?? 5_000;
  const clock = deps.clock ?? Date;
  const queue: Waiting[] = [];
  let pending = 0;
  let inFlight = 0;
  let closed = false;
  let idle: (() => void) | undefined;

  const takeGroup = (): Waiting[] => {
    const group: Waiting[] = [];
    let records = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (group.length > 0 && records + next.records.length > maxGroupRecords) break;
      queue.shift();
      records += next.records.length;
      group.push(next);
    }
    return group;
  };

  async function send(group: readonly Waiting[]): Promise<void> {
    const records = group.length === 1 ? group[0]!.records : group.flatMap((w) => w.records);
    const messages = toPushMessages(
      { pushId: randomUUID(), vendorId: deps.vendorId, receivedAt: clock.now(), records },
      deps.maxMessageBytes,
    );
    try {
      await deps.sender.send(messages, { abortSignal: AbortSignal.timeout(deps.sendTimeoutMs) });
      for (const w of group) w.resolve();
    } catch (error) {
      const failure = new GatewayError(
        'FORWARD_FAILED',
        `${records.length} record(s) not accepted by the broker: ${(error as Error).message}`,
        { cause: error },
      );
      for (const w of group) w.reject(failure);
    } finally {
      pending -= records.length;
    }
  }

  const pump = () => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const group = takeGroup();
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        pump();
        if (inFlight === 0 && queue.length === 0) idle?.();
      });
    }
  };

  return {
    forward(records) {
      if (closed) return Promise.reject(new GatewayError('CLOSED', 'the gateway is shutting down'));
      if (records.length === 0) return Promise.resolve();
      pending += records.length;
      return new Promise<void>((resolve, reject) => {
        queue.push({ records, resolve, reject });
        pump();
      });
    },
    get pending() {
      return pending;
    },
    async close() {
      closed = true;
      if (inFlight === 0 && queue.length === 0) return;
      await new Promise<void>((resolve) => (idle = resolve));
    },
  };
}
