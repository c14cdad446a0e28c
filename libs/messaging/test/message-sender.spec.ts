// The sender against the real @azure/service-bus client and the project's emulator (and, for UNAVAILABLE, a port
// where nothing listens).

import { freePort } from '@transit-fusion/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMessageSender,
  createServiceBusClient,
  isMessagingError,
  messagingConfigFromEnv,
  type OutgoingMessage,
} from '../src/index.js';
import { startTestBus, takeAll, text, type TestBus } from './bus.js';

let bus: TestBus;

beforeAll(async () => {
  bus = await startTestBus({
    topics: [
      { name: 'batching', subscriptions: [{ name: 'collector' }] },
      { name: 'shapes', subscriptions: [{ name: 'collector' }] },
      { name: 'too-large', subscriptions: [{ name: 'collector' }] },
    ],
  });
});
afterAll(() => bus?.stop());

describe('createMessageSender', () => {
  it('packs 1,000 messages into batches and every one arrives exactly once', async () => {
    const sender = createMessageSender({ client: bus.client, entity: 'batching' });
    // ~600 bytes each: ~600 KB in all, more than one batch can hold, so packing must split.
    const messages: OutgoingMessage[] = Array.from({ length: 1_000 }, (_, i) => ({
      messageId: `m-${i}`,
      body: { i, pad: 'x'.repeat(560) },
    }));
    await sender.send(messages);
    await sender.close();

    const received = await takeAll(bus.client, 'batching', 'collector');
    const ids = received.map((m) => m.messageId);
    expect(ids).toHaveLength(1_000);
    expect(new Set(ids).size).toBe(1_000);
    // One sender, batches sent in order: arrival order is send order.
    expect(ids).toEqual(messages.map((m) => m.messageId));
  });

  it('sends bytes as they are, strings as UTF-8 and values as JSON, with their metadata', async () => {
    const sender = createMessageSender({ client: bus.client, entity: 'shapes' });
    const bytes = Uint8Array.from([0x93, 0x01, 0x02, 0x03]); // MessagePack [1, 2, 3]: must not be JSON-guessed
    await sender.send([
      { messageId: 'bytes', body: bytes, contentType: 'application/msgpack' },
      { messageId: 'string', body: 'Tallinn → Tartu', contentType: 'text/plain' },
      {
        messageId: 'json',
        body: { vehicle: '1001', delaySeconds: 40 },
        subject: 'vendor-b',
        applicationProperties: { vendorId: 'b', records: 1, partial: false },
      },
    ]);
    await sender.send({ body: 42 }); // one message, no id: one is assigned
    await sender.close();

    const received = await takeAll(bus.client, 'shapes', 'collector');
    expect(received).toHaveLength(4);
    const [b, s, j, n] = received;
    expect([...(b!.body as Buffer)]).toEqual([0x93, 0x01, 0x02, 0x03]);
    expect(b!.contentType).toBe('application/msgpack');
    expect(text(s!.body)).toBe('Tallinn → Tartu');
    expect(JSON.parse(text(j!.body))).toEqual({ vehicle: '1001', delaySeconds: 40 });
    expect(j).toMatchObject({
      contentType: 'application/json',
      subject: 'vendor-b',
      applicationProperties: { vendorId: 'b', records: 1, partial: false },
    });
    expect(text(n!.body)).toBe('42');
    expect(n!.messageId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a message too large for any batch with MESSAGE_TOO_LARGE, sending nothing of that send', async () => {
    const sender = createMessageSender({ client: bus.client, entity: 'too-large' });
    const error = await sender
      .send([
        { messageId: 'small', body: 'fits' },
        { messageId: 'huge', body: Buffer.alloc(2 * 1024 * 1024, 1) },
      ])
      .catch((e) => e);
    await sender.close();
    expect(isMessagingError(error) && error.code).toBe('MESSAGE_TOO_LARGE');
    expect(error.message).toMatch(/message 1 \(huge\)/);
    expect(error.acceptedCount).toBe(0);
    expect(await takeAll(bus.client, 'too-large', 'collector')).toEqual([]);
  });

  it('fails with ABORTED when the signal has fired', async () => {
    const sender = createMessageSender({ client: bus.client, entity: 'shapes' });
    const error = await sender.send({ body: 'late' }, { abortSignal: AbortSignal.abort() }).catch((e) => e);
    await sender.close();
    expect(isMessagingError(error) && error.code).toBe('ABORTED');
  });

  it('fails with UNAVAILABLE when Service Bus cannot be reached', async () => {
    const port = await freePort(); // nothing listens there
    const config = messagingConfigFromEnv({
      TF_SERVICEBUS_CONNECTION_STRING: `Endpoint=sb://127.0.0.1:${port};SharedAccessKeyName=any;SharedAccessKey=any;UseDevelopmentEmulator=true`,
    });
    const client = createServiceBusClient(config, {
      clientOptions: { retryOptions: { maxRetries: 0, timeoutInMs: 2_000 } },
    });
    const sender = createMessageSender({ client, entity: 'batching' });
    const error = await sender.send({ body: 'x' }).catch((e) => e);
    await sender.close().catch(() => {});
    await client.close();
    expect(isMessagingError(error) && error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/send to batching/);
    expect(error.message).not.toMatch(/SharedAccessKey/);
  }, 20_000);
});
