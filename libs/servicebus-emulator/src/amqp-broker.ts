// The AMQP side of the emulator: rhea connections on accepted sockets, and what each link attached to them means.
// A client's sender attaches to a queue or topic (messages go in), to `$cbs` (token requests, all granted) or to an
// entity's `$management` (requests); a client's receiver attaches to a queue, subscription or dead-letter queue
// (messages come out, see LinkConsumer) or is the reply link of `$cbs` / `$management`, found by its link name.

import type { Socket } from 'node:net';
import {
  BATCH_MESSAGE_FORMAT,
  contentFromDecoded,
  contentsFromBatch,
  type MessageContent,
} from './broker-message.js';
import { prepareBrokerSocket } from './broker-socket.js';
import type { EmulatorLogger } from './emulator-logger.js';
import type { EntityRegistry, SendTarget } from './entity-registry.js';
import { LinkConsumer, lockLostOutcome, type DeliveryLock } from './link-consumer.js';
import { handleManagementRequest } from './management-operations.js';
import type { MessageStore, Settlement } from './message-store.js';
import {
  codec,
  createServerConnection,
  rhea,
  settleAlone,
  type AmqpConnection,
  type AmqpEventContext,
  type AmqpLink,
  type AmqpReceiver,
  type AmqpSender,
  type DecodedMessage,
} from './rhea-internals.js';

/**
 * Offered on every attach. The client sizes batches by it (0 would fail every sendMessages); 256 KiB is the
 * Standard tier's and Microsoft's emulator's limit, so a message too big for Azure is too big here.
 */
export const MAX_MESSAGE_SIZE_BYTES = 256 * 1024;

export interface AmqpBroker {
  /** Serves one accepted TCP connection. */
  accept(socket: Socket): void;
  /** Drops every connection at once (an outage, or shutdown); messages and locks stay. */
  dropConnections(): void;
}

type ReceiverRole =
  | { readonly kind: 'cbs' }
  | { readonly kind: 'management'; readonly store: MessageStore | undefined; readonly path: string }
  | { readonly kind: 'send'; readonly target: SendTarget };

interface ConnectionState {
  readonly id: string;
  readonly connection: AmqpConnection;
  readonly socket: Socket;
  readonly consumers: Set<LinkConsumer>;
  /** $cbs and $management reply links, by link name (a request's reply_to). */
  readonly replyLinks: Map<string, AmqpSender>;
  /** Open frames exchanged and no close yet: AMQP frames (heartbeats included) may be written. */
  amqpOpen: boolean;
  closed: boolean;
}

// Options of every accepted connection, passed on to the links rhea creates for the client's attaches.
const connectionOptions = {
  reconnect: false,
  // rhea frees a session's delivery slots only from the oldest unsettled one on; the default 2,048 slots would
  // stall a receiver that holds an early message while settling later ones.
  session_buffer_size: { outgoing: 16_384 },
  // Abandon and defer arrive as `modified`: without this rhea would also report them as `released`.
  sender_options: { treat_modified_as_released: false, autosettle: true },
  // Accepting is ours to do, after the message is stored; 1,000 credits keep batched senders streaming.
  receiver_options: { autoaccept: false, credit_window: 1000 },
};

export function createAmqpBroker(options: {
  registry: EntityRegistry;
  logger: EmulatorLogger;
  /** The namespace's address as clients name it, for error descriptions. */
  endpoint: () => string;
}): AmqpBroker {
  const { registry, logger } = options;
  const container = rhea.create_container({ id: 'servicebus-emulator' });
  const connections = new Set<ConnectionState>();
  const roles = new WeakMap<AmqpReceiver, ReceiverRole>();
  const consumers = new WeakMap<AmqpSender, LinkConsumer>();
  let nextConnection = 1;

  const stateOf = (connection: AmqpConnection) => connection.brokerState as ConnectionState;

  const cleanUp = (state: ConnectionState) => {
    if (state.closed) return;
    state.closed = true;
    connections.delete(state);
    for (const consumer of state.consumers) consumer.close();
    state.consumers.clear();
    state.replyLinks.clear();
    logger.info({ connection: state.id }, 'connection closed');
  };

  const refuse = (link: AmqpLink, condition: string, description: string) => {
    logger.warn({ link: link.name, condition }, description);
    link.close({ condition, description });
  };

  const notFound = (link: AmqpLink, address: string | undefined) =>
    refuse(
      link,
      'amqp:not-found',
      `The messaging entity '${options.endpoint()}/${address ?? ''}' could not be found.`,
    );

  /** Our half of an attach: the client's settle modes, and a message size limit. */
  const answerAttach = (link: AmqpLink) => {
    link.local.attach.snd_settle_mode = link.remote.attach.snd_settle_mode;
    link.local.attach.rcv_settle_mode = link.remote.attach.rcv_settle_mode;
    link.local.attach.max_message_size = MAX_MESSAGE_SIZE_BYTES;
  };

  // A client's receiver attached: we send on this link.
  container.on('sender_open', (context: AmqpEventContext) => {
    const sender = context.sender!;
    const state = stateOf(context.connection);
    const address = sender.remote.attach.source?.address;
    answerAttach(sender);
    if (address === '$cbs') {
      sender.set_source({ address });
      state.replyLinks.set(sender.name, sender);
      return;
    }
    const resolved = registry.resolve(address);
    if (resolved.management && (resolved.store || resolved.sendTarget)) {
      sender.set_source({ address: address! });
      state.replyLinks.set(sender.name, sender);
      return;
    }
    if (!resolved.store || resolved.management) {
      if (resolved.sendTarget) {
        refuse(
          sender,
          'amqp:not-found',
          `Cannot receive from topic '${address}': receive from a subscription.`,
        );
      } else {
        notFound(sender, address);
      }
      return;
    }
    sender.set_source({ address: address! });
    // Receive-and-delete clients ask for pre-settled deliveries (snd-settle-mode settled).
    const mode = sender.remote.attach.snd_settle_mode === 1 ? 'receiveAndDelete' : 'peekLock';
    const consumer = new LinkConsumer(sender, resolved.store, mode);
    consumers.set(sender, consumer);
    state.consumers.add(consumer);
    resolved.store.addConsumer(consumer);
    logger.info({ connection: state.id, entity: resolved.store.path, mode }, 'receiver attached');
  });

  // A client's sender attached: we receive on this link.
  container.on('receiver_open', (context: AmqpEventContext) => {
    const receiver = context.receiver!;
    const address = receiver.remote.attach.target?.address;
    answerAttach(receiver);
    receiver.local.attach.rcv_settle_mode = 0; // we settle as we accept: the client waits for the outcome
    let role: ReceiverRole | undefined;
    if (address === '$cbs') {
      role = { kind: 'cbs' };
    } else {
      const resolved = registry.resolve(address);
      if (resolved.management && (resolved.store || resolved.sendTarget)) {
        role = { kind: 'management', store: resolved.store, path: address! };
      } else if (!resolved.management && resolved.sendTarget) {
        role = { kind: 'send', target: resolved.sendTarget };
      } else if (resolved.store) {
        refuse(receiver, 'amqp:not-allowed', `Cannot send to '${address}': send to its queue or topic.`);
        return;
      }
    }
    if (!role) {
      notFound(receiver, address);
      return;
    }
    receiver.set_target({ address: address! });
    roles.set(receiver, role);
  });

  container.on('message', (context: AmqpEventContext) => {
    const receiver = context.receiver!;
    const delivery = context.delivery!;
    const role = roles.get(receiver);
    if (!role) {
      settleAlone(receiver, delivery, rejectedOutcome('amqp:not-found', 'No entity behind this link.'));
      return;
    }
    if (role.kind === 'send') {
      let contents: MessageContent[];
      try {
        if (context.format === BATCH_MESSAGE_FORMAT) contents = contentsFromBatch(context.message as Buffer);
        else if (!context.format) contents = [contentFromDecoded(context.message as DecodedMessage)];
        else throw new TypeError(`unsupported message format ${context.format}`);
      } catch (error) {
        settleAlone(receiver, delivery, rejectedOutcome('amqp:decode-error', (error as Error).message));
        return;
      }
      for (const content of contents) role.target.enqueue(content);
      delivery.update(true, codec.accepted().described());
      return;
    }
    delivery.update(true, codec.accepted().described());
    const request = context.message as DecodedMessage;
    const state = stateOf(context.connection);
    const replyLink = state.replyLinks.get(String(request.reply_to));
    if (!replyLink) {
      logger.warn(
        { connection: state.id, replyTo: request.reply_to },
        'request without a reply link: dropped',
      );
      return;
    }
    if (role.kind === 'cbs') {
      // Any token is good: the emulator has no keys.
      replyLink.send({
        correlation_id: request.message_id,
        application_properties: { 'status-code': 202, 'status-description': 'Accepted' },
      });
      return;
    }
    const operation = request.application_properties?.operation;
    const response = role.store
      ? handleManagementRequest(role.store, operation, request.body)
      : {
          statusCode: 501,
          statusDescription: `The emulator does not support ${String(operation)} on '${role.path}'.`,
          errorCondition: 'amqp:not-implemented',
        };
    const properties: Record<string, unknown> = {
      statusCode: response.statusCode,
      statusDescription: response.statusDescription,
    };
    if (response.errorCondition) properties.errorCondition = response.errorCondition;
    replyLink.send({
      correlation_id: request.message_id,
      application_properties: properties,
      body: 'body' in response ? response.body : undefined,
    });
  });

  // Settlement of peek-lock deliveries. The answer is always settled; a lost lock is the only failure the client
  // is told about (echoing a dead-letter's `rejected` back would make the client think the dead-lettering failed).
  const settle = (context: AmqpEventContext, settlement: Settlement) => {
    const delivery = context.delivery!;
    const lock = delivery.brokerLock as DeliveryLock | undefined;
    const result = lock ? lock.store.settle(lock.message, lock.token, settlement) : 'settled';
    if (result === 'settled') {
      delivery.update(true, codec.accepted().described());
      // The client settled first and sends nothing more: mark it so rhea frees the delivery's slot.
      delivery.remote_settled = true;
    } else if (result === 'lockLost') {
      settleAlone(context.sender!, delivery, lockLostOutcome());
    } else {
      settleAlone(
        context.sender!,
        delivery,
        rejectedOutcome('amqp:not-allowed', 'A dead-lettered message cannot be dead-lettered again.'),
      );
    }
  };
  container.on('accepted', (context: AmqpEventContext) => settle(context, { kind: 'complete' }));
  container.on('released', (context: AmqpEventContext) => settle(context, { kind: 'release' }));
  container.on('modified', (context: AmqpEventContext) => {
    const state = context.delivery!.remote_state;
    const propertiesToModify = plainMap(state?.message_annotations);
    settle(
      context,
      state?.undeliverable_here
        ? { kind: 'defer', propertiesToModify }
        : { kind: 'abandon', propertiesToModify },
    );
  });
  container.on('rejected', (context: AmqpEventContext) => {
    const error = context.delivery!.remote_state?.error;
    const info = plainMap(error?.info) ?? {};
    const { DeadLetterReason, DeadLetterErrorDescription, ...propertiesToModify } = info;
    // A plain AMQP reject (not the client's dead-letter call) keeps its condition as the reason.
    const condition = String(error?.condition ?? '');
    const fallbackReason = condition && condition !== 'com.microsoft:dead-letter' ? condition : undefined;
    settle(context, {
      kind: 'deadLetter',
      reason: typeof DeadLetterReason === 'string' ? DeadLetterReason : fallbackReason,
      description:
        typeof DeadLetterErrorDescription === 'string'
          ? DeadLetterErrorDescription
          : typeof error?.description === 'string'
            ? error.description
            : undefined,
      propertiesToModify,
    });
  });

  container.on('sender_flow', (context: AmqpEventContext) => consumers.get(context.sender!)?.onFlow());
  container.on('sendable', (context: AmqpEventContext) => consumers.get(context.sender!)?.store.pump());
  const detach = (context: AmqpEventContext) => {
    const sender = context.sender!;
    const consumer = consumers.get(sender);
    const state = stateOf(context.connection);
    if (consumer) {
      consumer.close();
      state.consumers.delete(consumer);
      consumers.delete(sender);
    }
    if (state.replyLinks.get(sender.name) === sender) state.replyLinks.delete(sender.name);
  };
  container.on('sender_close', detach);
  container.on('sender_error', () => {}); // the close that follows detaches
  container.on('receiver_error', () => {});
  container.on('receiver_close', () => {});
  container.on('session_error', () => {});
  container.on('session_close', () => {});
  container.on('settled', () => {});
  container.on('connection_open', (context: AmqpEventContext) => {
    const state = stateOf(context.connection);
    state.amqpOpen = true;
    logger.info({ connection: state.id }, 'connection opened');
  });
  container.on('connection_close', (context: AmqpEventContext) => {
    stateOf(context.connection).amqpOpen = false;
  });
  container.on('connection_error', (context: AmqpEventContext & { error?: unknown }) => {
    logger.warn(
      { connection: stateOf(context.connection).id, error: String(context.error) },
      'connection error',
    );
  });
  container.on('disconnected', (context: AmqpEventContext) => cleanUp(stateOf(context.connection)));
  container.on('protocol_error', (error: unknown) =>
    logger.warn({ error: String(error) }, 'AMQP protocol error'),
  );
  container.on('error', (error: unknown) => logger.warn({ error: String(error) }, 'AMQP error'));

  return {
    accept(socket) {
      const connection = createServerConnection(container, connectionOptions);
      const state: ConnectionState = {
        id: `c${nextConnection++}`,
        connection,
        socket,
        consumers: new Set(),
        replyLinks: new Map(),
        amqpOpen: false,
        closed: false,
      };
      connection.brokerState = state;
      connections.add(state);
      prepareBrokerSocket(socket, () => state.amqpOpen && !state.closed);
      socket.on('close', () => cleanUp(state));
      connection.accept(socket);
    },
    dropConnections() {
      for (const state of [...connections]) {
        state.connection.abort_socket(state.socket);
        state.socket.destroy();
        cleanUp(state);
      }
    },
  };
}

function rejectedOutcome(condition: string, description: string) {
  return codec.rejected({ error: { condition, description } }).described();
}

/** rhea hands AMQP maps over either decoded or still typed, depending on where they sit in a frame. */
function plainMap(value: unknown): Record<string, unknown> | undefined {
  if (value === null || value === undefined) return undefined;
  const unwrapped: unknown = rhea.types.unwrap(value);
  return unwrapped !== null && typeof unwrapped === 'object' && !Array.isArray(unwrapped)
    ? (unwrapped as Record<string, unknown>)
    : undefined;
}
