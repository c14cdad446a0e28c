// The namespace's entities, built from the configuration, and the reading of AMQP addresses: what a sender may send
// to (a queue, a topic: fanned out to every subscription) and what a receiver may receive from (a queue, a
// subscription, either's dead-letter queue), each also with `/$management`. Names are case-insensitive, as in Azure.

import type { MessageContent } from './broker-message.js';
import type { EntityDefinitions, ReceivableDefinition } from './emulator-config.js';
import { MessageStore } from './message-store.js';

/** Where a sender's messages go. */
export interface SendTarget {
  readonly path: string;
  /** Enqueues a message in the queue, or a copy in every subscription of the topic (one sequence number). */
  enqueue(content: MessageContent): void;
}

/** What an address names: a queue has both a send target and a store; a topic only the former; a subscription or a
 * dead-letter queue only the latter; an unknown address neither. */
export interface ResolvedAddress {
  readonly sendTarget?: SendTarget;
  readonly store?: MessageStore;
  /** The address is the entity's `$management` node. */
  readonly management: boolean;
}

const DEAD_LETTER = '$deadletterqueue';
const MANAGEMENT = '$management';

export class EntityRegistry {
  private readonly queues = new Map<string, { store: MessageStore; target: SendTarget }>();
  private readonly topics = new Map<
    string,
    { target: SendTarget; subscriptions: Map<string, MessageStore> }
  >();
  private readonly stores: MessageStore[] = [];

  constructor(definitions: EntityDefinitions) {
    for (const queue of definitions.queues) {
      const store = this.createStore(queue.name, queue);
      this.queues.set(queue.name.toLowerCase(), {
        store,
        target: { path: queue.name, enqueue: (content) => store.enqueue(content) },
      });
    }
    for (const topic of definitions.topics) {
      const subscriptions = new Map<string, MessageStore>();
      for (const subscription of topic.subscriptions) {
        subscriptions.set(
          subscription.name.toLowerCase(),
          this.createStore(`${topic.name}/Subscriptions/${subscription.name}`, subscription),
        );
      }
      const all = [...subscriptions.values()];
      let nextSequenceNumber = 1;
      const enqueue = (content: MessageContent) => {
        // One sequence number and enqueued time per message across subscriptions, as the topic assigns them.
        const sequenceNumber = nextSequenceNumber++;
        const enqueuedTime = Date.now();
        for (const store of all) store.enqueue(content, { sequenceNumber, enqueuedTime });
      };
      this.topics.set(topic.name.toLowerCase(), { target: { path: topic.name, enqueue }, subscriptions });
    }
  }

  /** Reads an AMQP source or target address (`queue`, `topic/Subscriptions/sub/$DeadLetterQueue`, `…/$management`). */
  resolve(address: string | undefined): ResolvedAddress {
    const unknown = { management: false };
    if (!address) return unknown;
    const segments = address.replace(/^\/+/, '').split('/');
    let management = false;
    if (segments.length > 1 && segments[segments.length - 1]!.toLowerCase() === MANAGEMENT) {
      management = true;
      segments.pop();
    }
    let deadLetter = false;
    if (segments.length > 1 && segments[segments.length - 1]!.toLowerCase() === DEAD_LETTER) {
      deadLetter = true;
      segments.pop();
    }
    const [first, second, third, ...rest] = segments.map((s) => s.toLowerCase());
    if (first === undefined || rest.length > 0) return unknown;
    if (second === undefined) {
      const queue = this.queues.get(first);
      if (queue) {
        return deadLetter
          ? { store: queue.store.deadLetterQueue!, management }
          : { sendTarget: queue.target, store: queue.store, management };
      }
      const topic = this.topics.get(first);
      return topic && !deadLetter ? { sendTarget: topic.target, management } : unknown;
    }
    if (second !== 'subscriptions' || third === undefined) return unknown;
    const subscription = this.topics.get(first)?.subscriptions.get(third);
    if (!subscription) return unknown;
    return { store: deadLetter ? subscription.deadLetterQueue! : subscription, management };
  }

  close(): void {
    for (const store of this.stores) store.close();
  }

  private createStore(path: string, definition: ReceivableDefinition): MessageStore {
    const deadLetterQueue = new MessageStore(`${path}/$DeadLetterQueue`, {
      lockDurationMs: definition.lockDurationMs,
      maxDeliveryCount: Number.POSITIVE_INFINITY,
    });
    const store = new MessageStore(path, {
      lockDurationMs: definition.lockDurationMs,
      maxDeliveryCount: definition.maxDeliveryCount,
      deadLetterQueue,
    });
    this.stores.push(store, deadLetterQueue);
    return store;
  }
}
