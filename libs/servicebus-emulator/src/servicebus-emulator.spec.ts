// The emulator driven only through the real @azure/service-bus client, as the services will drive it: one emulator
// for the file, an entity per test so tests do not see each other's messages.

import { isServiceBusError, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorConfig, startTestBus, type TestBus } from '../test/emulator.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let bus: TestBus;

beforeAll(async () => {
  bus = await startTestBus(
    emulatorConfig({
      queues: [
        { name: 'orders' },
        { name: 'batches' },
        { name: 'completions' },
        { name: 'abandons' },
        { name: 'modifications' },
        { name: 'poison', maxDeliveryCount: 3 },
        { name: 'short-locks', lockDuration: 'PT1S' },
        { name: 'renewals', lockDuration: 'PT2S' },
        { name: 'mixed-locks', lockDuration: 'PT1S' },
        { name: 'deletions' },
        { name: 'deferrals' },
        { name: 'peeks' },
        { name: 'queue-dead-letters' },
      ],
      topics: [
        { name: 'fan-out', subscriptions: [{ name: 'first' }, { name: 'second' }] },
        { name: 'dead-letters', subscriptions: [{ name: 'audit' }] },
        { name: 'quiet', subscriptions: [{ name: 'idle' }] },
      ],
    }),
  );
});

afterAll(async () => {
  await bus?.close();
});

/** Receives until `count` messages arrived (the client hands out at most what it asked for). */
async function receiveAll(
  receiver: {
    receiveMessages(n: number, o: { maxWaitTimeInMs: number }): Promise<ServiceBusReceivedMessage[]>;
  },
  count: number,
): Promise<ServiceBusReceivedMessage[]> {
  const received: ServiceBusReceivedMessage[] = [];
  const deadline = Date.now() + 10_000;
  while (received.length < count && Date.now() < deadline) {
    received.push(...(await receiver.receiveMessages(count - received.length, { maxWaitTimeInMs: 2000 })));
  }
  return received;
}

describe('queues', () => {
  it('delivers a message with its properties, a sequence number, an enqueued time and a lock', async () => {
    const sender = bus.client.createSender('orders');
    const receiver = bus.client.createReceiver('orders');
    const before = Date.now();
    await sender.sendMessages({
      body: { orderId: 42 },
      messageId: 'order-42',
      subject: 'created',
      contentType: 'application/json',
      correlationId: 'corr-1',
      partitionKey: 'vehicle-7',
      timeToLive: 3_600_000,
      applicationProperties: { vendor: 'v1', attempt: 7 },
    });

    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(message).toMatchObject({
      body: { orderId: 42 },
      messageId: 'order-42',
      subject: 'created',
      contentType: 'application/json',
      correlationId: 'corr-1',
      partitionKey: 'vehicle-7',
      timeToLive: 3_600_000,
      applicationProperties: { vendor: 'v1', attempt: 7 },
      deliveryCount: 0,
      state: 'active',
    });
    expect(message!.sequenceNumber!.toNumber()).toBe(1);
    expect(message!.enqueuedTimeUtc!.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(message!.lockToken).toMatch(UUID);
    // LockDuration defaults to PT1M, as in Microsoft's emulator and Azure.
    expect(message!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    await receiver.completeMessage(message!);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('unpacks sendMessages([...]) and createMessageBatch() into single messages, in order', async () => {
    const sender = bus.client.createSender('batches');
    await sender.sendMessages(Array.from({ length: 100 }, (_, i) => ({ body: { i }, messageId: `m-${i}` })));
    const batch = await sender.createMessageBatch();
    for (let i = 100; i < 110; i++) expect(batch.tryAddMessage({ body: { i } })).toBe(true);
    await sender.sendMessages(batch);
    expect(bus.emulator.stats('batches')).toEqual({ active: 110, locked: 0, deferred: 0, deadLettered: 0 });

    const receiver = bus.client.createReceiver('batches', { receiveMode: 'receiveAndDelete' });
    const received = await receiveAll(receiver, 110);
    expect(received.map((m) => (m.body as { i: number }).i)).toEqual(
      Array.from({ length: 110 }, (_, i) => i),
    );
    expect(received.map((m) => m.sequenceNumber!.toNumber())).toEqual(
      Array.from({ length: 110 }, (_, i) => i + 1),
    );
    expect(received[5]!.messageId).toBe('m-5');
    // Messages sent without an id get one, as from Service Bus.
    expect(received[105]!.messageId).toMatch(/^[0-9a-f]{32}$/);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('removes a completed message', async () => {
    const sender = bus.client.createSender('completions');
    const receiver = bus.client.createReceiver('completions');
    await sender.sendMessages({ body: 'done' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(bus.emulator.stats('completions')).toMatchObject({ active: 0, locked: 1 });

    await receiver.completeMessage(message!);
    expect(bus.emulator.stats('completions')).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 0 });
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('redelivers an abandoned message with its delivery count raised', async () => {
    const sender = bus.client.createSender('abandons');
    const receiver = bus.client.createReceiver('abandons');
    await sender.sendMessages([{ body: 'first', messageId: 'a-1' }, { body: 'second' }]);
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    await receiver.abandonMessage(first!);

    // An abandoned message comes back before newer ones.
    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(again).toMatchObject({ messageId: 'a-1', body: 'first', deliveryCount: 1 });
    expect(again!.lockToken).not.toBe(first!.lockToken);
    expect(again!.sequenceNumber!.toNumber()).toBe(first!.sequenceNumber!.toNumber());
    await receiver.completeMessage(again!);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('applies propertiesToModify on abandon', async () => {
    const sender = bus.client.createSender('modifications');
    const receiver = bus.client.createReceiver('modifications');
    await sender.sendMessages({ body: 'x', applicationProperties: { kept: 'yes', attempt: 1 } });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    await receiver.abandonMessage(message!, { attempt: 2, reason: 'busy' });
    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(again!.applicationProperties).toEqual({ kept: 'yes', attempt: 2, reason: 'busy' });
    await receiver.completeMessage(again!);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('dead-letters a message once MaxDeliveryCount deliveries ended without completion', async () => {
    const sender = bus.client.createSender('poison');
    const receiver = bus.client.createReceiver('poison');
    await sender.sendMessages({ body: 'poison', messageId: 'p-1' });
    for (let attempt = 0; attempt < 3; attempt++) {
      const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
      expect(message!.deliveryCount).toBe(attempt);
      await receiver.abandonMessage(message!);
    }
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);
    expect(bus.emulator.stats('poison')).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 1 });

    const deadLetters = bus.client.createReceiver('poison', { subQueueType: 'deadLetter' });
    const [dead] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(dead).toMatchObject({
      messageId: 'p-1',
      body: 'poison',
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deliveryCount: 3,
    });
    expect(dead!.deadLetterErrorDescription).toContain('3 delivery attempts');
    await deadLetters.completeMessage(dead!);
    expect(bus.emulator.stats('poison').deadLettered).toBe(0);
    await Promise.all([sender.close(), receiver.close(), deadLetters.close()]);
  });

  it('redelivers a message whose lock expired; the late settlement fails with MessageLockLost', async () => {
    const sender = bus.client.createSender('short-locks');
    // The client renews locks by itself (for 5 min by default): off, to let this one expire.
    const receiver = bus.client.createReceiver('short-locks', { maxAutoLockRenewalDurationInMs: 0 });
    await sender.sendMessages({ body: 'slow', messageId: 's-1' });
    const [first] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(first!.lockedUntilUtc!.getTime() - Date.now()).toBeLessThanOrEqual(1000);

    const [again] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 4000 });
    expect(again).toMatchObject({ messageId: 's-1', deliveryCount: 1 });
    const lateError = await receiver.completeMessage(first!).catch((error: unknown) => error);
    expect(isServiceBusError(lateError) && lateError.code).toBe('MessageLockLost');

    await receiver.completeMessage(again!);
    expect(bus.emulator.stats('short-locks')).toMatchObject({ active: 0, locked: 0 });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('extends a lock with renewMessageLock', async () => {
    const sender = bus.client.createSender('renewals');
    const receiver = bus.client.createReceiver('renewals', { maxAutoLockRenewalDurationInMs: 0 });
    await sender.sendMessages({ body: 'long job' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    const firstLock = message!.lockedUntilUtc!.getTime();

    await new Promise((resolve) => setTimeout(resolve, 1000));
    const renewed = await receiver.renewMessageLock(message!);
    expect(renewed.getTime()).toBeGreaterThan(firstLock + 500);
    expect(message!.lockedUntilUtc!.getTime()).toBe(renewed.getTime());

    // Past the first lock's end, the message is still locked, and completes.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstLock - Date.now()) + 300));
    expect(bus.emulator.stats('renewals')).toMatchObject({ active: 0, locked: 1 });
    await receiver.completeMessage(message!);
    expect(bus.emulator.stats('renewals')).toMatchObject({ active: 0, locked: 0 });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('answers each settlement of one tick on its own: a lost lock next to a good one', async () => {
    const sender = bus.client.createSender('mixed-locks');
    const receiver = bus.client.createReceiver('mixed-locks', { maxAutoLockRenewalDurationInMs: 0 });
    await sender.sendMessages([{ body: 'expires' }, { body: 'renewed' }]);
    const [expires, renewed] = await receiveAll(receiver, 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await receiver.renewMessageLock(renewed!);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, expires!.lockedUntilUtc!.getTime() - Date.now()) + 100),
    );

    // Settled in the same tick, so the answers leave the broker together (consecutive deliveries).
    const [first, second] = await Promise.allSettled([
      receiver.completeMessage(expires!),
      receiver.completeMessage(renewed!),
    ]);
    expect(first.status === 'rejected' && isServiceBusError(first.reason) && first.reason.code).toBe(
      'MessageLockLost',
    );
    expect(second.status).toBe('fulfilled');
    expect(bus.emulator.stats('mixed-locks')).toMatchObject({ active: 1, locked: 0 });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('removes messages as it delivers them in receive-and-delete mode', async () => {
    const sender = bus.client.createSender('deletions');
    const receiver = bus.client.createReceiver('deletions', { receiveMode: 'receiveAndDelete' });
    await sender.sendMessages([{ body: 1 }, { body: 2 }]);
    const received = await receiveAll(receiver, 2);
    expect(received.map((m) => m.body)).toEqual([1, 2]);
    expect(received.every((m) => m.lockToken === undefined)).toBe(true);
    expect(bus.emulator.stats('deletions')).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 0 });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('sets a deferred message aside; it can be received by sequence number and settled', async () => {
    const sender = bus.client.createSender('deferrals');
    const receiver = bus.client.createReceiver('deferrals');
    await sender.sendMessages({ body: 'later', messageId: 'd-1' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    await receiver.deferMessage(message!);
    expect(bus.emulator.stats('deferrals')).toEqual({ active: 0, locked: 0, deferred: 1, deadLettered: 0 });
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);

    const [deferred] = await receiver.receiveDeferredMessages(message!.sequenceNumber!);
    expect(deferred).toMatchObject({ messageId: 'd-1', body: 'later', state: 'deferred' });
    expect(deferred!.lockToken).toMatch(UUID);
    // A deferred message is settled through $management (update-disposition).
    await receiver.completeMessage(deferred!);
    expect(bus.emulator.stats('deferrals')).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 0 });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('peeks without locking', async () => {
    const sender = bus.client.createSender('peeks');
    const receiver = bus.client.createReceiver('peeks');
    await sender.sendMessages([{ body: 'a' }, { body: 'b' }, { body: 'c' }]);
    const peeked = await receiver.peekMessages(2);
    expect(peeked.map((m) => m.body)).toEqual(['a', 'b']);
    expect(peeked.every((m) => m.lockToken === undefined)).toBe(true);
    // The next peek goes on from where the last one ended.
    expect((await receiver.peekMessages(5)).map((m) => m.body)).toEqual(['c']);
    expect(await receiver.peekMessages(5)).toEqual([]);
    expect(bus.emulator.stats('peeks')).toMatchObject({ active: 3, locked: 0 });

    const received = await receiveAll(receiver, 3);
    expect(received.map((m) => m.body)).toEqual(['a', 'b', 'c']);
    await Promise.all(received.map((m) => receiver.completeMessage(m)));
    await Promise.all([sender.close(), receiver.close()]);
  });
});

describe('topics', () => {
  it('gives every subscription its own copy, with the topic’s sequence number', async () => {
    const sender = bus.client.createSender('fan-out');
    await sender.sendMessages([{ body: 'x' }, { body: 'y' }]);
    const first = bus.client.createReceiver('fan-out', 'first');
    const second = bus.client.createReceiver('fan-out', 'second');

    const fromFirst = await receiveAll(first, 2);
    await Promise.all(fromFirst.map((m) => first.completeMessage(m)));
    // Completing in one subscription leaves the other's copy alone.
    expect(bus.emulator.stats('fan-out/Subscriptions/second')).toMatchObject({ active: 2 });
    const fromSecond = await receiveAll(second, 2);
    await Promise.all(fromSecond.map((m) => second.completeMessage(m)));

    expect(fromFirst.map((m) => m.body)).toEqual(['x', 'y']);
    expect(fromSecond.map((m) => m.body)).toEqual(['x', 'y']);
    expect(fromSecond.map((m) => m.sequenceNumber!.toNumber())).toEqual(
      fromFirst.map((m) => m.sequenceNumber!.toNumber()),
    );
    expect(fromSecond[0]!.messageId).toBe(fromFirst[0]!.messageId);
    await Promise.all([sender.close(), first.close(), second.close()]);
  });

  it('moves a dead-lettered message to the subscription’s dead-letter queue with reason and description', async () => {
    const sender = bus.client.createSender('dead-letters');
    const receiver = bus.client.createReceiver('dead-letters', 'audit');
    await sender.sendMessages({ body: 'garbage', messageId: 'g-1', applicationProperties: { vendor: 'v9' } });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    await receiver.deadLetterMessage(message!, {
      deadLetterReason: 'Unparseable',
      deadLetterErrorDescription: 'body is not a vendor record',
    });
    expect(bus.emulator.stats('dead-letters/Subscriptions/audit')).toEqual({
      active: 0,
      locked: 0,
      deferred: 0,
      deadLettered: 1,
    });

    const deadLetters = bus.client.createReceiver('dead-letters', 'audit', { subQueueType: 'deadLetter' });
    const [dead] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(dead).toMatchObject({
      messageId: 'g-1',
      body: 'garbage',
      deadLetterReason: 'Unparseable',
      deadLetterErrorDescription: 'body is not a vendor record',
      applicationProperties: {
        vendor: 'v9',
        DeadLetterReason: 'Unparseable',
        DeadLetterErrorDescription: 'body is not a vendor record',
      },
    });
    await deadLetters.completeMessage(dead!);
    expect(bus.emulator.stats('dead-letters/Subscriptions/audit/$DeadLetterQueue')).toMatchObject({
      active: 0,
    });
    await Promise.all([sender.close(), receiver.close(), deadLetters.close()]);
  });

  it('answers receiveMessages on an empty subscription promptly, keeping the link (drain answered)', async () => {
    const receiver = bus.client.createReceiver('quiet', 'idle');
    for (let round = 0; round < 2; round++) {
      const started = Date.now();
      expect(await receiver.receiveMessages(16, { maxWaitTimeInMs: 300 })).toEqual([]);
      expect(Date.now() - started).toBeLessThan(1500);
    }
    // Had the drain gone unanswered, the client would have closed the link and attached a new one.
    const attaches = bus.logger.lines.filter(
      (l) => l.msg === 'receiver attached' && l.obj.entity === 'quiet/Subscriptions/idle',
    );
    expect(attaches).toHaveLength(1);
    await receiver.close();
  });
});

describe('addresses', () => {
  it('refuses an unknown entity with MessagingEntityNotFound', async () => {
    const codeOf = (error: unknown) => (isServiceBusError(error) ? error.code : String(error));
    const sender = bus.client.createSender('no-such-queue');
    expect(codeOf(await sender.sendMessages({ body: 1 }).catch((e: unknown) => e))).toBe(
      'MessagingEntityNotFound',
    );
    const receiver = bus.client.createReceiver('fan-out', 'no-such-subscription');
    expect(codeOf(await receiver.receiveMessages(1, { maxWaitTimeInMs: 500 }).catch((e: unknown) => e))).toBe(
      'MessagingEntityNotFound',
    );
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('refuses to send to a subscription', async () => {
    const sender = bus.client.createSender('fan-out/Subscriptions/first');
    await expect(sender.sendMessages({ body: 1 })).rejects.toThrow(/Cannot send to/);
    await sender.close();
  });

  it('receives a queue’s dead letters from queue/$DeadLetterQueue', async () => {
    const sender = bus.client.createSender('queue-dead-letters');
    const receiver = bus.client.createReceiver('queue-dead-letters');
    await sender.sendMessages({ body: 'bad' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    await receiver.deadLetterMessage(message!);
    const deadLetters = bus.client.createReceiver('queue-dead-letters/$DeadLetterQueue', {
      receiveMode: 'receiveAndDelete',
    });
    const [dead] = await deadLetters.receiveMessages(1, { maxWaitTimeInMs: 2000 });
    expect(dead!.body).toBe('bad');
    // Dead-lettered without a reason: none is made up.
    expect(dead!.deadLetterReason).toBeUndefined();
    await Promise.all([sender.close(), receiver.close(), deadLetters.close()]);
  });

  it('names entities case-insensitively, as Azure does', () => {
    expect(bus.emulator.stats('FAN-OUT/subscriptions/First')).toBeDefined();
    expect(() => bus.emulator.stats('fan-out')).toThrow(/ENTITY_NOT_FOUND/);
  });
});
