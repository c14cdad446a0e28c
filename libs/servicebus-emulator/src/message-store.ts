// One queue, subscription or dead-letter queue: its messages, their locks and the receivers attached to it. Pure
// logic with no AMQP in it (consumers are an interface), so the rules — peek-lock, lock expiry, delivery counts,
// dead-lettering, deferral — read in one place.
//
// Every operation is O(1) per message: available messages sit in two FIFOs (returned ones first, so an abandoned
// or expired message comes back before newer ones, as in Service Bus), locks in a map by token, and lock expiries
// in a FIFO that is already sorted (every lock lasts the entity's LockDuration, from now), swept by one timer per
// entity rather than a timer per message.

import { withApplicationProperties, type MessageContent } from './broker-message.js';
import { Fifo } from './fifo.js';
import { newLockToken } from './lock-token.js';

export type ReceiveMode = 'peekLock' | 'receiveAndDelete';

export interface StoredMessage {
  content: MessageContent;
  readonly sequenceNumber: number;
  readonly enqueuedTime: number;
  /** Deliveries that ended without settlement (abandoned, lock expired); 0 on the first delivery. */
  deliveryCount: number;
  state: 'active' | 'locked' | 'deferred' | 'removed';
  /** Deferred messages stay deferred when a lock taken by sequence number ends. */
  deferred: boolean;
  lockToken: string | undefined;
  lockedUntil: number;
}

export interface MessageLock {
  readonly token: string;
  /** The token's bytes as a delivery tag (.NET GUID order). */
  readonly tag: Buffer;
  readonly until: number;
}

/** A receiver attached to the store: the AMQP link in the broker, a fake in unit tests. */
export interface MessageConsumer {
  readonly mode: ReceiveMode;
  /** How many more messages it can take right now. */
  credit(): number;
  /** Hands a message out; `lock` is set in peek-lock mode. */
  deliver(message: StoredMessage, lock: MessageLock | undefined): void;
}

/** Application properties to add or replace, as Service Bus's `propertiesToModify`. */
type PropertiesToModify = Readonly<Record<string, unknown>> | undefined;

export type Settlement =
  | { readonly kind: 'complete' }
  | { readonly kind: 'abandon'; readonly propertiesToModify?: PropertiesToModify }
  | { readonly kind: 'defer'; readonly propertiesToModify?: PropertiesToModify }
  | {
      readonly kind: 'deadLetter';
      readonly reason?: string | undefined;
      readonly description?: string | undefined;
      readonly propertiesToModify?: PropertiesToModify;
    }
  /** AMQP `released`: the receiver never looked at it; back without counting a delivery. */
  | { readonly kind: 'release' };

export type SettleResult = 'settled' | 'lockLost' | 'notAllowed';

export interface EntityStats {
  /** Available for delivery now. */
  readonly active: number;
  /** Delivered in peek-lock mode and not settled yet. */
  readonly locked: number;
  readonly deferred: number;
  /** Everything in the entity's dead-letter queue. */
  readonly deadLettered: number;
}

export interface MessageStoreOptions {
  readonly lockDurationMs: number;
  /** Deliveries before a message is dead-lettered; Infinity in a dead-letter queue. */
  readonly maxDeliveryCount: number;
  /** Absent for a dead-letter queue itself. */
  readonly deadLetterQueue?: MessageStore;
  /** The clock, for unit tests. */
  readonly now?: () => number;
}

export class MessageStore {
  readonly path: string;
  readonly lockDurationMs: number;
  readonly maxDeliveryCount: number;
  readonly deadLetterQueue: MessageStore | undefined;
  private readonly now: () => number;

  /** Every message held, by sequence number, in sequence order (for peek). */
  private readonly messages = new Map<number, StoredMessage>();
  private readonly fresh = new Fifo<StoredMessage>();
  private readonly returned = new Fifo<StoredMessage>();
  private activeCount = 0;
  private readonly deferredMessages = new Map<number, StoredMessage>();
  private readonly locks = new Map<string, StoredMessage>();
  private readonly lockExpiries = new Fifo<{ message: StoredMessage; token: string; until: number }>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private nextSequenceNumber = 1;

  private readonly consumers: MessageConsumer[] = [];
  private nextConsumer = 0;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;

  constructor(path: string, options: MessageStoreOptions) {
    this.path = path;
    this.lockDurationMs = options.lockDurationMs;
    this.maxDeliveryCount = options.maxDeliveryCount;
    this.deadLetterQueue = options.deadLetterQueue;
    this.now = options.now ?? Date.now;
  }

  /** Adds a message; delivers it at once if a receiver has credit. */
  enqueue(
    content: MessageContent,
    options: { sequenceNumber?: number; enqueuedTime?: number; deliveryCount?: number } = {},
  ): StoredMessage {
    const message: StoredMessage = {
      content,
      sequenceNumber: options.sequenceNumber ?? this.nextSequenceNumber++,
      enqueuedTime: options.enqueuedTime ?? this.now(),
      deliveryCount: options.deliveryCount ?? 0,
      state: 'active',
      deferred: false,
      lockToken: undefined,
      lockedUntil: 0,
    };
    this.messages.set(message.sequenceNumber, message);
    this.fresh.push(message);
    this.activeCount++;
    this.pump();
    return message;
  }

  addConsumer(consumer: MessageConsumer): void {
    this.consumers.push(consumer);
  }

  /** Detaches a receiver. Its locks stay until they expire, as in Service Bus (they can still be settled). */
  removeConsumer(consumer: MessageConsumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
  }

  /** Hands available messages to receivers with credit, round robin. Call when either may have changed. */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true; // a delivery re-entered (a consumer settled synchronously): loop once more
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (this.activeCount > 0) {
          const consumer = this.consumerWithCredit();
          if (!consumer) break;
          const message = this.takeActive();
          if (!message) break;
          this.handOut(message, consumer);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Settles a message under the lock `token` was given for. */
  settle(message: StoredMessage, token: string, settlement: Settlement): SettleResult {
    if (!this.holdsLock(message, token)) return 'lockLost';
    switch (settlement.kind) {
      case 'complete':
        this.remove(message);
        break;
      case 'abandon':
        this.modify(message, settlement.propertiesToModify);
        this.unlock(message, true);
        break;
      case 'release':
        this.unlock(message, false);
        break;
      case 'defer':
        this.modify(message, settlement.propertiesToModify);
        message.deferred = true;
        this.unlock(message, false);
        break;
      case 'deadLetter':
        if (!this.deadLetterQueue) return 'notAllowed';
        this.deadLetter(message, settlement.reason, settlement.description, settlement.propertiesToModify);
        break;
    }
    this.pump();
    return 'settled';
  }

  /** Settles by lock token alone ($management's update-disposition). */
  settleByToken(token: string, settlement: Settlement): SettleResult {
    const message = this.locks.get(token);
    return message ? this.settle(message, token, settlement) : 'lockLost';
  }

  /** Whether `token` still locks `message` (an expired lock found here is expired on the spot). */
  holdsLock(message: StoredMessage, token: string): boolean {
    if (message.state !== 'locked' || message.lockToken !== token) return false;
    if (message.lockedUntil <= this.now()) {
      this.expire(message);
      this.pump();
      return false;
    }
    return true;
  }

  /** Extends a lock by the entity's LockDuration from now; undefined when the lock is gone. */
  renewLock(token: string): number | undefined {
    const message = this.locks.get(token);
    if (!message || !this.holdsLock(message, token)) return undefined;
    message.lockedUntil = this.now() + this.lockDurationMs;
    this.lockExpiries.push({ message, token, until: message.lockedUntil });
    return message.lockedUntil;
  }

  /** Active, locked and deferred messages from a sequence number on, without locking them. */
  peek(fromSequenceNumber: number, count: number): StoredMessage[] {
    const found: StoredMessage[] = [];
    if (count <= 0) return found;
    for (const message of this.messages.values()) {
      if (message.sequenceNumber < fromSequenceNumber) continue;
      found.push(message);
      if (found.length >= count) break;
    }
    return found;
  }

  /**
   * Takes deferred messages by sequence number: locked in peek-lock mode, removed in receive-and-delete mode.
   * Returns undefined, taking none, when one of them is not a deferred message here.
   */
  receiveDeferred(
    sequenceNumbers: readonly number[],
    mode: ReceiveMode,
  ): { message: StoredMessage; lock: MessageLock | undefined }[] | undefined {
    const messages = sequenceNumbers.map((n) => this.deferredMessages.get(n));
    if (messages.some((m) => m === undefined)) return undefined;
    return (messages as StoredMessage[]).map((message) => {
      this.deferredMessages.delete(message.sequenceNumber);
      if (mode === 'receiveAndDelete') {
        this.remove(message);
        return { message, lock: undefined };
      }
      return { message, lock: this.lock(message) };
    });
  }

  stats(): EntityStats {
    return {
      active: this.activeCount,
      locked: this.locks.size,
      deferred: this.deferredMessages.size,
      deadLettered: this.deadLetterQueue ? this.deadLetterQueue.size() : 0,
    };
  }

  /** Messages held, in every state. */
  size(): number {
    return this.messages.size;
  }

  /** Stops the lock sweep; the store keeps its messages (an emulator stop drops it). */
  close(): void {
    this.closed = true;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.consumers.length = 0;
    this.deadLetterQueue?.close();
  }

  private consumerWithCredit(): MessageConsumer | undefined {
    const count = this.consumers.length;
    for (let i = 0; i < count; i++) {
      const index = (this.nextConsumer + i) % count;
      const consumer = this.consumers[index]!;
      if (consumer.credit() > 0) {
        this.nextConsumer = (index + 1) % count;
        return consumer;
      }
    }
    return undefined;
  }

  private takeActive(): StoredMessage | undefined {
    for (;;) {
      const message = this.returned.length > 0 ? this.returned.shift() : this.fresh.shift();
      if (!message) return undefined;
      if (message.state !== 'active') continue;
      this.activeCount--;
      return message;
    }
  }

  private handOut(message: StoredMessage, consumer: MessageConsumer): void {
    if (consumer.mode === 'receiveAndDelete') {
      this.remove(message);
      consumer.deliver(message, undefined);
    } else {
      consumer.deliver(message, this.lock(message));
    }
  }

  private lock(message: StoredMessage): MessageLock {
    const { token, tag } = newLockToken();
    const until = this.now() + this.lockDurationMs;
    message.state = 'locked';
    message.lockToken = token;
    message.lockedUntil = until;
    this.locks.set(token, message);
    this.lockExpiries.push({ message, token, until });
    this.armSweep();
    return { token, tag, until };
  }

  /** Ends a lock; the message goes back (to the front) or, out of deliveries, to the dead-letter queue. */
  private unlock(message: StoredMessage, countDelivery: boolean): void {
    if (message.lockToken !== undefined) this.locks.delete(message.lockToken);
    message.lockToken = undefined;
    if (countDelivery) message.deliveryCount++;
    if (countDelivery && message.deliveryCount >= this.maxDeliveryCount && this.deadLetterQueue) {
      this.deadLetter(
        message,
        'MaxDeliveryCountExceeded',
        `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
        undefined,
      );
    } else if (message.deferred) {
      message.state = 'deferred';
      this.deferredMessages.set(message.sequenceNumber, message);
    } else {
      message.state = 'active';
      this.returned.push(message);
      this.activeCount++;
    }
  }

  private expire(message: StoredMessage): void {
    this.unlock(message, true);
  }

  private remove(message: StoredMessage): void {
    if (message.lockToken !== undefined) this.locks.delete(message.lockToken);
    message.lockToken = undefined;
    message.state = 'removed';
    this.messages.delete(message.sequenceNumber);
    this.deferredMessages.delete(message.sequenceNumber);
  }

  private modify(message: StoredMessage, properties: PropertiesToModify): void {
    if (properties && Object.keys(properties).length > 0) {
      message.content = withApplicationProperties(message.content, properties);
    }
  }

  private deadLetter(
    message: StoredMessage,
    reason: string | undefined,
    description: string | undefined,
    properties: PropertiesToModify,
  ): void {
    this.remove(message);
    const changes: Record<string, unknown> = { ...properties };
    if (reason !== undefined) changes.DeadLetterReason = reason;
    if (description !== undefined) changes.DeadLetterErrorDescription = description;
    // The dead-letter queue numbers its messages itself, so peeking it from a sequence number works.
    this.deadLetterQueue!.enqueue(withApplicationProperties(message.content, changes), {
      deliveryCount: message.deliveryCount,
    });
  }

  private armSweep(): void {
    if (this.sweepTimer || this.closed) return;
    const head = this.lockExpiries.peek();
    if (!head) return;
    this.sweepTimer = setTimeout(this.sweep, Math.max(0, head.until - this.now()) + 1);
    this.sweepTimer.unref();
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const now = this.now();
    let expired = false;
    for (let head = this.lockExpiries.peek(); head && head.until <= now; head = this.lockExpiries.peek()) {
      this.lockExpiries.shift();
      const { message, token } = head;
      // Skip entries left behind by settlement or renewal: only the current lock's own entry expires it.
      if (message.state === 'locked' && message.lockToken === token && message.lockedUntil <= now) {
        this.expire(message);
        expired = true;
      }
    }
    this.armSweep();
    if (expired) this.pump();
  };
}
