import { describe, expect, it } from 'vitest';
import { toPushMessages, type PushMessageBody, type VendorPush } from './push-messages.js';

const T0 = Date.UTC(2026, 10, 21, 8, 47, 0);
function sampleRecord(i: number, extra: Record<string, unknown> = {}) {
  return {
    vehicleKey: `bus-${i}`,
    observedAt: T0 - 1_000,
    position: { lat: 60.17 + i / 1000, lon: 24.94 },
    speed: 8.5,
    ...extra,
  };
}

const push = (n: number): VendorPush => ({
  pushId: '3f1c8a4e-0000-4000-8000-000000000001',
  vendorId: 'acme',
  receivedAt: T0,
  records: Array.from({ length: n }, (_, i) => ({ ...sampleRecord(i), vendorId: 'acme' })),
});

const bodyOf = (m: { body: unknown }) => JSON.parse((m.body as Buffer).toString('utf8')) as PushMessageBody;

describe('toPushMessages', () => {
  it('writes one JSON message per push, with the push id as message id', () => {
    const messages = toPushMessages(push(3), 200 * 1024);
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message).toMatchObject({
      contentType: 'application/json',
      messageId: '3f1c8a4e-0000-4000-8000-000000000001',
      applicationProperties: {
        vendorId: 'acme',
        pushId: '3f1c8a4e-0000-4000-8000-000000000001',
        recordCount: 3,
        partIndex: 0,
        partCount: 1,
      },
    });
    expect(bodyOf(message!)).toEqual({
      pushId: '3f1c8a4e-0000-4000-8000-000000000001',
      vendorId: 'acme',
      receivedAt: T0,
      records: push(3).records,
    });
  });

  it('splits a push that would exceed the limit into parts of whole records, each within the limit', () => {
    const big = push(2_000); // ~250 KB of JSON
    const limit = 64 * 1024;
    const messages = toPushMessages(big, limit);
    expect(messages.length).toBeGreaterThan(3);
    const bodies = messages.map(bodyOf);
    for (const [i, m] of messages.entries()) {
      expect((m.body as Buffer).length).toBeLessThanOrEqual(limit);
      expect(m.messageId).toBe(`${big.pushId}:${i}`);
      expect(m.applicationProperties).toMatchObject({ partIndex: i, partCount: messages.length });
      expect(bodies[i]!.part).toEqual({ index: i, count: messages.length });
      expect(m.applicationProperties!.recordCount).toBe(bodies[i]!.records.length);
    }
    expect(bodies.flatMap((b) => b.records)).toEqual(big.records);
    // Packed tightly: every part but the last is nearly full.
    expect((messages[0]!.body as Buffer).length).toBeGreaterThan(limit - 500);
  });
});
