// A receiver's link as the store sees it: credit in, deliveries out. Two things rhea leaves to a broker are done
// here. Credit: rhea lowers a link's credit only when it writes a transfer, so deliveries queued in this tick are
// counted here, or the link would overrun the client's credit. Drain: the client asks for one when a
// receiveMessages() call ends short, and closes the link if no answer comes within 200 ms; rhea answers only while
// credit is left, but the client waits for an answer even when in-flight messages have used the credit up.

import { encodeForDelivery } from './broker-message.js';
import type {
  MessageConsumer,
  MessageLock,
  MessageStore,
  ReceiveMode,
  StoredMessage,
} from './message-store.js';
import { codec, settleAlone, type AmqpSender, type OutgoingDelivery } from './rhea-internals.js';

/** What a peek-lock delivery carries so its settlement finds its message. */
export interface DeliveryLock {
  readonly store: MessageStore;
  readonly message: StoredMessage;
  readonly token: string;
}

export class LinkConsumer implements MessageConsumer {
  readonly link: AmqpSender;
  readonly store: MessageStore;
  readonly mode: ReceiveMode;
  /** Deliveries handed to rhea (written or not). */
  private sent = 0;
  /** Credit given back by drain answers. */
  private advanced = 0;
  private drainPending = false;
  private closed = false;

  constructor(link: AmqpSender, store: MessageStore, mode: ReceiveMode) {
    this.link = link;
    this.store = store;
    this.mode = mode;
    link._get_drain = () => this.answerDrain();
  }

  credit(): number {
    if (this.closed || this.drainPending || !this.link.is_open()) return 0;
    // rhea keeps credit + delivery_count equal to the client's last flow (delivery-count + link-credit).
    const granted = this.link.credit + this.link.delivery_count - this.sent - this.advanced;
    if (granted <= 0) return 0;
    const room = this.link.session.outgoing.available();
    if (room <= 0) {
      this.freeExpiredHead();
      return 0;
    }
    return Math.min(granted, room);
  }

  deliver(message: StoredMessage, lock: MessageLock | undefined): void {
    const payload = encodeForDelivery(message.content, message.deliveryCount, {
      sequenceNumber: message.sequenceNumber,
      enqueuedTime: message.enqueuedTime,
      lockedUntil: lock?.until,
      deferred: message.deferred,
    });
    const delivery = this.link.send(payload, lock?.tag, 0);
    this.sent++;
    if (lock) {
      const brokerLock: DeliveryLock = { store: this.store, message, token: lock.token };
      delivery.brokerLock = brokerLock;
    }
  }

  /** The client sent a flow: new credit, maybe a drain request. */
  onFlow(): void {
    // A flow without drain supersedes a drain request not answered yet.
    this.drainPending = false;
    this.store.pump();
    if (this.link._draining) {
      // Everything deliverable has been handed out above: answer at once.
      this.drainPending = true;
      this.link.set_drained(true);
    }
  }

  close(): void {
    this.closed = true;
    this.store.removeConsumer(this);
  }

  /**
   * rhea's Sender._get_drain, replaced: called as rhea writes this link's flow frame, after the session wrote its
   * pending transfers. Gives the unused credit back (delivery-count advances by it) and flags the flow as drained.
   */
  private answerDrain(): boolean {
    const link = this.link;
    if (!link._draining || !link._drained) {
      this.drainPending = false;
      return false;
    }
    const unwritten = this.sent - (link.delivery_count - this.advanced);
    if (unwritten > 0) {
      // The client's session window held transfers back; answering now would strand them without credit.
      setImmediate(() => {
        if (!this.closed && link.is_open()) link.set_drained(true);
      });
      return false;
    }
    this.advanced += link.credit;
    link.delivery_count += link.credit;
    link.credit = 0;
    this.drainPending = false;
    return true;
  }

  /**
   * rhea frees a session's delivery slots in order, only once both ends settled. A delivery whose lock expired and
   * which the client never settles would hold the first slot forever; once the buffer is full, settle it as
   * lock-lost so the link can go on.
   */
  private freeExpiredHead(): void {
    const head: OutgoingDelivery | undefined = this.link.session.outgoing.deliveries.get_head();
    const lock = head?.brokerLock as DeliveryLock | undefined;
    if (!head || !lock || head.settled) return;
    if (lock.message.lockToken === lock.token && lock.message.state === 'locked') return;
    settleAlone(this.link, head, lockLostOutcome());
  }
}

export function lockLostOutcome() {
  return codec
    .rejected({
      error: {
        condition: 'com.microsoft:message-lock-lost',
        description:
          'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
      },
    })
    .described();
}
