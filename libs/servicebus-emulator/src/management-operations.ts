// The `$management` request-response operations the client uses off the receive path: peek, lock renewal,
// settlement by lock token (the client's fallback once its receive link is gone, and the only way to settle a
// message received by sequence number) and receiving deferred messages. Responses use the camelCase status
// properties the client reads (statusCode, statusDescription, errorCondition).

import type { Typed } from 'rhea';
import { encodeForDelivery } from './broker-message.js';
import { lockTokenFromUuid, lockTokenUuid } from './lock-token.js';
import type { MessageStore, Settlement, SettleResult, StoredMessage } from './message-store.js';
import { types } from './rhea-internals.js';

export interface ManagementResponse {
  readonly statusCode: number;
  readonly statusDescription: string;
  readonly errorCondition?: string;
  readonly body?: unknown;
}

const ok = (body: unknown): ManagementResponse => ({ statusCode: 200, statusDescription: 'OK', body });
const failure = (
  statusCode: number,
  errorCondition: string,
  statusDescription: string,
): ManagementResponse => ({
  statusCode,
  statusDescription,
  errorCondition,
});
const lockLost = () =>
  failure(
    410,
    'com.microsoft:message-lock-lost',
    'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.',
  );

/** Answers one request addressed to `store`'s `$management` node. */
export function handleManagementRequest(
  store: MessageStore,
  operation: unknown,
  body: unknown,
): ManagementResponse {
  const request = (body ?? {}) as Record<string, unknown>;
  try {
    switch (operation) {
      case 'com.microsoft:peek-message':
        return peek(store, request);
      case 'com.microsoft:renew-lock':
        return renewLocks(store, request);
      case 'com.microsoft:update-disposition':
        return updateDisposition(store, request);
      case 'com.microsoft:receive-by-sequence-number':
        return receiveBySequenceNumber(store, request);
      default:
        return failure(501, 'amqp:not-implemented', `The emulator does not support ${String(operation)}.`);
    }
  } catch (error) {
    return failure(400, 'com.microsoft:argument-error', (error as Error).message);
  }
}

function peek(store: MessageStore, request: Record<string, unknown>): ManagementResponse {
  const from = toNumber(request['from-sequence-number'], 'from-sequence-number');
  const count = toNumber(request['message-count'], 'message-count');
  const messages = store.peek(from, count);
  if (messages.length === 0) return { statusCode: 204, statusDescription: 'No messages' };
  return ok({
    messages: messages.map((m) => ({
      message: encodeForDelivery(m.content, m.deliveryCount, {
        sequenceNumber: m.sequenceNumber,
        enqueuedTime: m.enqueuedTime,
        lockedUntil: m.state === 'locked' ? m.lockedUntil : undefined,
        deferred: m.state === 'deferred' || m.deferred,
      }),
    })),
  });
}

function renewLocks(store: MessageStore, request: Record<string, unknown>): ManagementResponse {
  const expirations: number[] = [];
  for (const token of lockTokens(request)) {
    const until = store.renewLock(token);
    if (until === undefined) return lockLost();
    expirations.push(until);
  }
  return ok({ expirations: types.wrap_array(expirations, 0x83, undefined) });
}

function updateDisposition(store: MessageStore, request: Record<string, unknown>): ManagementResponse {
  const status = request['disposition-status'];
  const propertiesToModify = request['properties-to-modify'] as Record<string, unknown> | undefined;
  let settlement: Settlement;
  switch (status) {
    case 'completed':
      settlement = { kind: 'complete' };
      break;
    case 'abandoned':
      settlement = { kind: 'abandon', propertiesToModify };
      break;
    case 'defered': // sic: the client's spelling
      settlement = { kind: 'defer', propertiesToModify };
      break;
    case 'suspended':
      settlement = {
        kind: 'deadLetter',
        reason: optionalString(request['deadletter-reason']),
        description: optionalString(request['deadletter-description']),
        propertiesToModify,
      };
      break;
    default:
      return failure(400, 'com.microsoft:argument-error', `Unknown disposition-status ${String(status)}.`);
  }
  for (const token of lockTokens(request)) {
    const result: SettleResult = store.settleByToken(token, settlement);
    if (result === 'lockLost') return lockLost();
    if (result === 'notAllowed') return notAllowed();
  }
  return ok(undefined);
}

function receiveBySequenceNumber(store: MessageStore, request: Record<string, unknown>): ManagementResponse {
  const raw = request['sequence-numbers'];
  if (!Array.isArray(raw)) throw new TypeError('sequence-numbers must be an array');
  const sequenceNumbers = raw.map((n) => toNumber(n, 'sequence-numbers'));
  const mode = request['receiver-settle-mode'] === 0 ? 'receiveAndDelete' : 'peekLock';
  const received = store.receiveDeferred(sequenceNumbers, mode);
  if (!received) {
    return failure(
      404,
      'com.microsoft:message-not-found',
      `No deferred message with sequence number ${sequenceNumbers.join(', ')} in ${store.path}.`,
    );
  }
  return ok({
    messages: received.map(({ message, lock }) => {
      const entry: Record<string, unknown> = {
        message: encodeDeferred(message, lock?.until),
      };
      if (lock) entry['lock-token'] = types.wrap_uuid(lockTokenUuid(lock.token));
      return entry;
    }),
  });
}

function encodeDeferred(message: StoredMessage, lockedUntil: number | undefined): Buffer {
  return encodeForDelivery(message.content, message.deliveryCount, {
    sequenceNumber: message.sequenceNumber,
    enqueuedTime: message.enqueuedTime,
    lockedUntil,
    deferred: true,
  });
}

function notAllowed(): ManagementResponse {
  return failure(400, 'amqp:not-allowed', 'A message in a dead-letter queue cannot be dead-lettered again.');
}

function lockTokens(request: Record<string, unknown>): string[] {
  const raw = request['lock-tokens'];
  if (!Array.isArray(raw)) throw new TypeError('lock-tokens must be an array of uuids');
  return raw.map((token: unknown) => {
    if (!Buffer.isBuffer(token) || token.length !== 16) throw new TypeError('lock-tokens must be uuids');
    return lockTokenFromUuid(token);
  });
}

/** AMQP longs arrive as numbers, or as 8 bytes when beyond 2^53. */
function toNumber(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  if (value instanceof Object && typeof (value as Typed).value === 'number')
    return (value as Typed).value as number;
  throw new TypeError(`${field} must be a number`);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
