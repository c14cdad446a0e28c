// Sends to a topic (or queue) for the push receiver and the device gateway. send() resolves only once Service
// Bus has accepted every message, which is what lets an HTTP receiver answer 202 after durable acceptance and
// 503 otherwise. Arrays are packed into as few batches as fit; all batches are built before the first is sent,
// so a message too large for any batch fails the send with nothing sent.

import { randomUUID } from 'node:crypto';
import type { ServiceBusClient, ServiceBusMessage, ServiceBusMessageBatch } from '@azure/service-bus';
import { MessagingError, toMessagingError } from './messaging-error.js';

/** Application property values Service Bus carries. */
export type ApplicationPropertyValue = string | number | boolean | Date | null;

export interface OutgoingMessage {
  /**
   * Bytes are sent as they are, a string as its UTF-8 bytes, anything else as UTF-8 JSON (contentType then
   * defaults to application/json). The drainer hands every body back as bytes, so producers and consumers
   * agree on bytes plus contentType rather than on the SDK's JSON guessing.
   */
  readonly body: unknown;
  readonly contentType?: string;
  /** A random UUID when absent (lock renewal and duplicate detection need one). */
  readonly messageId?: string;
  readonly subject?: string;
  readonly applicationProperties?: Readonly<Record<string, ApplicationPropertyValue>>;
}

export interface SendOptions {
  /** Cancels the send; it then fails with ABORTED and may or may not have been accepted. */
  readonly abortSignal?: AbortSignal;
}

export interface MessageSender {
  /**
   * Resolves once Service Bus accepted every message. Throws MessagingError: MESSAGE_TOO_LARGE (nothing sent),
   * UNAVAILABLE (some batches may have been accepted, see `acceptedCount`; a retry re-sends them, so
   * consumers must tolerate duplicates), ABORTED, INVALID_ARGUMENT.
   */
  send(messages: OutgoingMessage | readonly OutgoingMessage[], options?: SendOptions): Promise<void>;
  close(): Promise<void>;
}

export interface MessageSenderDeps {
  readonly client: ServiceBusClient;
  /** Topic or queue name. */
  readonly entity: string;
}

export function createMessageSender(deps: MessageSenderDeps): MessageSender {
  const sender = deps.client.createSender(deps.entity);
  const what = `send to ${deps.entity}`;

  async function pack(messages: readonly ServiceBusMessage[], abortSignal?: AbortSignal) {
    const batches: ServiceBusMessageBatch[] = [];
    let batch = await sender.createMessageBatch({ abortSignal });
    for (const [i, message] of messages.entries()) {
      if (batch.tryAddMessage(message)) continue;
      if (batch.count > 0) {
        batches.push(batch);
        batch = await sender.createMessageBatch({ abortSignal });
        if (batch.tryAddMessage(message)) continue;
      }
      throw new MessagingError(
        'MESSAGE_TOO_LARGE',
        `${what}: message ${i} (${String(message.messageId)}) does not fit in a batch of ${batch.maxSizeInBytes} bytes`,
        { acceptedCount: 0 },
      );
    }
    batches.push(batch);
    return batches;
  }

  return {
    async send(input, options = {}) {
      const list: readonly OutgoingMessage[] = Array.isArray(input) ? input : [input as OutgoingMessage];
      if (list.length === 0) return;
      const { abortSignal } = options;
      let batches: ServiceBusMessageBatch[];
      try {
        abortSignal?.throwIfAborted();
        batches = await pack(list.map(toServiceBusMessage), abortSignal);
      } catch (error) {
        throw toMessagingError(error, what, { acceptedCount: 0 });
      }
      let accepted = 0;
      // One batch at a time, in order: a failure then leaves a known prefix accepted, and order is kept.
      for (const batch of batches) {
        try {
          await sender.sendMessages(batch, { abortSignal });
        } catch (error) {
          throw toMessagingError(error, `${what} (${accepted} of ${list.length} accepted)`, {
            acceptedCount: accepted,
          });
        }
        accepted += batch.count;
      }
    },
    close: () => sender.close(),
  };
}

function toServiceBusMessage(message: OutgoingMessage): ServiceBusMessage {
  const { body } = message;
  let bytes: Buffer;
  let contentType = message.contentType;
  if (body instanceof Uint8Array) {
    bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else if (typeof body === 'string') {
    bytes = Buffer.from(body, 'utf8');
  } else {
    const json = JSON.stringify(body);
    if (json === undefined) {
      throw new MessagingError('INVALID_ARGUMENT', `a message body of type ${typeof body} cannot be sent`);
    }
    bytes = Buffer.from(json, 'utf8');
    contentType ??= 'application/json';
  }
  return {
    body: bytes,
    messageId: message.messageId ?? randomUUID(),
    ...(contentType !== undefined ? { contentType } : {}),
    ...(message.subject !== undefined ? { subject: message.subject } : {}),
    ...(message.applicationProperties !== undefined
      ? { applicationProperties: { ...message.applicationProperties } }
      : {}),
  };
}
