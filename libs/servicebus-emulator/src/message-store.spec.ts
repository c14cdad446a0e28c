// The store's rules on their own, with in-memory consumers and fake timers: delivery, locks, expiry, delivery
// counts, dead-lettering, deferral.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { contentFromDecoded } from './broker-message.js';
import {
  MessageStore,
  type MessageConsumer,
  type MessageLock,
  type ReceiveMode,
  type StoredMessage,
} from './message-store.js';
import { codec } from './rhea-internals.js';

class FakeConsumer implements MessageConsumer {
  readonly delivered: { message: StoredMessage; lock: MessageLock | undefined; id: string }[] = [];
  constructor(
    readonly mode: ReceiveMode,
    public creditLeft = Number.POSITIVE_INFINITY,
  ) {}
  credit(): number {
    return this.creditLeft;
  }
  deliver(message: StoredMessage, lock: MessageLock | undefined): void {
    this.creditLeft--;
    this.delivered.push({ message, lock, id: String(codec.decode(message.content.bare).message_id) });
  }
  ids(): string[] {
    return this.delivered.map((d) => d.id);
  }
  last() {
    return this.delivered[this.delivered.length - 1]!;
  }
}

const content = (id: string) => contentFromDecoded({ message_id: id, body: id });

function createStore(options: { lockDurationMs?: number; maxDeliveryCount?: number } = {}) {
  const deadLetterQueue = new MessageStore('q/$DeadLetterQueue', {
    lockDurationMs: options.lockDurationMs ?? 1000,
    maxDeliveryCount: Number.POSITIVE_INFINITY,
  });
  return new MessageStore('q', {
    lockDurationMs: options.lockDurationMs ?? 1000,
    maxDeliveryCount: options.maxDeliveryCount ?? 10,
    deadLetterQueue,
  });
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('MessageStore', () => {
  it('numbers messages and hands them out round robin to receivers with credit', () => {
    const store = createStore();
    const a = new FakeConsumer('peekLock');
    const b = new FakeConsumer('peekLock', 1);
    store.addConsumer(a);
    store.addConsumer(b);
    for (const id of ['m1', 'm2', 'm3', 'm4']) store.enqueue(content(id));
    expect(a.ids()).toEqual(['m1', 'm3', 'm4']);
    expect(b.ids()).toEqual(['m2']);
    expect(a.delivered.map((d) => d.message.sequenceNumber)).toEqual([1, 3, 4]);
  });

  it('keeps messages while no receiver has credit and delivers them in order once one has', () => {
    const store = createStore();
    const consumer = new FakeConsumer('peekLock', 0);
    store.addConsumer(consumer);
    store.enqueue(content('m1'));
    store.enqueue(content('m2'));
    expect(store.stats()).toMatchObject({ active: 2, locked: 0 });
    consumer.creditLeft = 5;
    store.pump();
    expect(consumer.ids()).toEqual(['m1', 'm2']);
    expect(store.stats()).toMatchObject({ active: 0, locked: 2 });
  });

  it('removes a completed message and refuses a settlement under a stale lock', () => {
    const store = createStore();
    const consumer = new FakeConsumer('peekLock');
    store.addConsumer(consumer);
    store.enqueue(content('m1'));
    const { message, lock } = consumer.last();
    expect(store.settle(message, 'not-the-token', { kind: 'complete' })).toBe('lockLost');
    expect(store.settle(message, lock!.token, { kind: 'complete' })).toBe('settled');
    expect(store.settle(message, lock!.token, { kind: 'complete' })).toBe('lockLost');
    expect(store.stats()).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 0 });
  });

  it('puts an abandoned message back ahead of newer ones, one delivery counted', () => {
    const store = createStore();
    const consumer = new FakeConsumer('peekLock', 1);
    store.addConsumer(consumer);
    store.enqueue(content('m1'));
    store.enqueue(content('m2'));
    const first = consumer.last();
    consumer.creditLeft = 1;
    store.settle(first.message, first.lock!.token, { kind: 'abandon' });
    expect(consumer.ids()).toEqual(['m1', 'm1']);
    expect(consumer.last().message.deliveryCount).toBe(1);
  });

  it('expires a lock after LockDuration and redelivers; a renewed lock lasts', () => {
    const store = createStore({ lockDurationMs: 1000 });
    const consumer = new FakeConsumer('peekLock', 2);
    store.addConsumer(consumer);
    store.enqueue(content('expires'));
    store.enqueue(content('renewed'));
    const [expiring, renewed] = consumer.delivered;
    consumer.creditLeft = 0;

    vi.advanceTimersByTime(600);
    expect(store.renewLock(renewed!.lock!.token)).toBe(Date.now() + 1000);
    vi.advanceTimersByTime(500); // 1,100 ms in: the first lock is gone, the renewed one holds
    expect(store.stats()).toMatchObject({ active: 1, locked: 1 });
    expect(store.settle(expiring!.message, expiring!.lock!.token, { kind: 'complete' })).toBe('lockLost');

    consumer.creditLeft = 1;
    store.pump();
    expect(consumer.last()).toMatchObject({ id: 'expires', message: { deliveryCount: 1 } });
    expect(store.settle(renewed!.message, renewed!.lock!.token, { kind: 'complete' })).toBe('settled');
    expect(store.renewLock('unknown')).toBeUndefined();
  });

  it('dead-letters after MaxDeliveryCount deliveries, numbering the copy in the dead-letter queue', () => {
    const store = createStore({ maxDeliveryCount: 2 });
    const consumer = new FakeConsumer('peekLock');
    store.addConsumer(consumer);
    store.enqueue(content('poison'));
    for (let i = 0; i < 2; i++) {
      const { message, lock } = consumer.last();
      store.settle(message, lock!.token, { kind: 'abandon' });
    }
    expect(store.stats()).toEqual({ active: 0, locked: 0, deferred: 0, deadLettered: 1 });

    const deadLetters = new FakeConsumer('receiveAndDelete');
    store.deadLetterQueue!.addConsumer(deadLetters);
    store.deadLetterQueue!.pump();
    const dead = deadLetters.last();
    expect(dead.id).toBe('poison');
    expect(dead.message.sequenceNumber).toBe(1);
    expect(dead.message.deliveryCount).toBe(2);
    expect(codec.decode(dead.message.content.bare).application_properties).toMatchObject({
      DeadLetterReason: 'MaxDeliveryCountExceeded',
    });
  });

  it('refuses to dead-letter from a dead-letter queue', () => {
    const store = createStore();
    const dlq = store.deadLetterQueue!;
    const consumer = new FakeConsumer('peekLock');
    dlq.addConsumer(consumer);
    dlq.enqueue(content('dead'));
    const { message, lock } = consumer.last();
    expect(dlq.settle(message, lock!.token, { kind: 'deadLetter', reason: 'again' })).toBe('notAllowed');
  });

  it('sets deferred messages aside until received by sequence number', () => {
    const store = createStore();
    const consumer = new FakeConsumer('peekLock');
    store.addConsumer(consumer);
    store.enqueue(content('later'));
    const { message, lock } = consumer.last();
    store.settle(message, lock!.token, { kind: 'defer' });
    store.enqueue(content('now'));
    expect(consumer.ids()).toEqual(['later', 'now']);
    expect(store.stats()).toMatchObject({ deferred: 1, locked: 1 });

    expect(store.receiveDeferred([message.sequenceNumber, 99], 'peekLock')).toBeUndefined();
    const [taken] = store.receiveDeferred([message.sequenceNumber], 'peekLock')!;
    expect(store.stats()).toMatchObject({ deferred: 0, locked: 2 });
    // Abandoning a deferred message leaves it deferred.
    expect(store.settleByToken(taken!.lock!.token, { kind: 'abandon' })).toBe('settled');
    expect(store.stats()).toMatchObject({ deferred: 1, locked: 1 });
    expect(consumer.ids()).toEqual(['later', 'now']);
  });

  it('removes messages as it hands them out in receive-and-delete mode', () => {
    const store = createStore();
    const consumer = new FakeConsumer('receiveAndDelete');
    store.addConsumer(consumer);
    store.enqueue(content('m1'));
    expect(consumer.last().lock).toBeUndefined();
    expect(store.size()).toBe(0);
  });

  it('peeks active, locked and deferred messages from a sequence number, in order', () => {
    const store = createStore();
    const consumer = new FakeConsumer('peekLock', 1);
    store.addConsumer(consumer);
    for (const id of ['m1', 'm2', 'm3']) store.enqueue(content(id));
    expect(store.peek(2, 10).map((m) => m.sequenceNumber)).toEqual([2, 3]);
    expect(store.peek(1, 2).map((m) => m.state)).toEqual(['locked', 'active']);
    expect(store.peek(4, 10)).toEqual([]);
  });
});
