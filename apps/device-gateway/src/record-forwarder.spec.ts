// Group commit, as logic (the broker is a fake here; the gateway tests use the real emulator): alone, records go
// out at once; under load they wait for a free slot and go out together as one push; each caller's promise
// settles with the send that carried its records; close waits for what was already handed over.

import type { OutgoingMessage } from '@transit-fusion/messaging';
import type { VendorRecord } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from './gateway-error.js';
import { createRecordForwarder } from './record-forwarder.js';

const record = (i: number): VendorRecord => ({
  vendorId: 'trackers',
  vehicleKey: `35${i}`,
  observedAt: 1_000 + i,
});

function fakeBroker() {
  const sends: { messages: readonly OutgoingMessage[]; settle: (error?: Error) => void }[] = [];
  return {
    sends,
    sender: {
      send: (messages: OutgoingMessage | readonly OutgoingMessage[]) =>
        new Promise<void>((resolve, reject) =>
          sends.push({
            messages: Array.isArray(messages) ? messages : [messages as OutgoingMessage],
            settle: (error) => (error ? reject(error) : resolve()),
          }),
        ),
    },
  };
}

/** A forwarder with one send slot over a fake broker the test settles by hand. */
function oneSlot(maxGroupRecords?: number) {
  const broker = fakeBroker();
  const forwarder = createRecordForwarder({
    sender: broker.sender,
    vendorId: 'trackers',
    maxMessageBytes: 200_000,
    sendTimeoutMs: 5_000,
    maxInFlight: 1,
    ...(maxGroupRecords ? { maxGroupRecords } : {}),
  });
  return { broker, forwarder };
}

const recordsOf = (messages: readonly OutgoingMessage[]) =>
  messages.flatMap((m) => (JSON.parse(String(m.body)) as { records: VendorRecord[] }).records);

describe('createRecordForwarder', () => {
  it('sends alone at once, and groups what arrives while the slots are busy', async () => {
    const { broker, forwarder } = oneSlot();
    const settled: string[] = [];
    const first = forwarder.forward([record(1)]).then(() => settled.push('first'));
    expect(broker.sends).toHaveLength(1);
    const second = forwarder.forward([record(2), record(3)]).then(() => settled.push('second'));
    const third = forwarder.forward([record(4)]).then(() => settled.push('third'));
    expect(broker.sends).toHaveLength(1);
    expect(forwarder.pending).toBe(4);

    broker.sends[0]!.settle();
    await first;
    expect(settled).toEqual(['first']);
    // The two waiting callers went out together, as one push of three records.
    await expect.poll(() => broker.sends.length).toBe(2);
    expect(recordsOf(broker.sends[1]!.messages).map((r) => r.vehicleKey)).toEqual(['352', '353', '354']);
    expect(broker.sends[1]!.messages[0]!.applicationProperties).toMatchObject({
      vendorId: 'trackers',
      recordCount: 3,
    });
    broker.sends[1]!.settle();
    await Promise.all([second, third]);
    expect(settled).toEqual(['first', 'second', 'third']);
    expect(forwarder.pending).toBe(0);
  });

  it('rejects every caller of a failed send, naming the failure, and goes on with the next', async () => {
    const { broker, forwarder } = oneSlot();
    const first = forwarder.forward([record(1)]);
    const waiting = [forwarder.forward([record(2)]), forwarder.forward([record(3)])];
    broker.sends[0]!.settle();
    await first;
    await expect.poll(() => broker.sends.length).toBe(2);
    broker.sends[1]!.settle(new Error('entity not found'));
    for (const outcome of await Promise.allSettled(waiting)) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      expect(isGatewayError(reason) && reason.code).toBe('FORWARD_FAILED');
      expect(reason.message).toMatch(/2 record\(s\) not accepted by the broker: entity not found/);
    }
    const later = forwarder.forward([record(4)]);
    await expect.poll(() => broker.sends.length).toBe(3);
    broker.sends[2]!.settle();
    await later;
  });

  it('caps a group by records, and refuses new records once closing while finishing the old', async () => {
    const { broker, forwarder } = oneSlot(2);
    const all = [1, 2, 3, 4].map((i) => forwarder.forward([record(i)]));
    const closed = forwarder.close();
    await expect(forwarder.forward([record(9)])).rejects.toThrow(/shutting down/);
    for (let i = 0; i < 3; i++) {
      await expect.poll(() => broker.sends.length).toBe(i + 1);
      broker.sends[i]!.settle();
    }
    await Promise.all(all);
    await closed;
    expect(broker.sends.map((s) => recordsOf(s.messages).length)).toEqual([1, 2, 1]);
  });
});
