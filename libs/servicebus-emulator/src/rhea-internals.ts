// The one place that reaches past rhea's typings: its codec (Reader/Writer, the message section composites) and a
// server sender's link state (credit, delivery count, drain, the session's delivery buffer). rhea is written for
// clients first; a broker needs these, and keeping them here means a rhea upgrade is checked in one file.

import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import rhea from 'rhea';
import type { Container, Typed } from 'rhea';

export { rhea };

/** A connection for a socket the broker accepted; the options reach the links rhea creates for the client. */
export function createServerConnection(container: Container, options: object): AmqpConnection {
  return container.create_connection(
    options as Parameters<Container['create_connection']>[0],
  ) as unknown as AmqpConnection;
}
export const types = rhea.types;

export interface AmqpReader {
  position: number;
  read(): Typed;
  read_constructor(): { typecode: number; descriptor?: Typed };
  remaining(): number;
}

export interface AmqpWriter {
  position: number;
  write(value: Typed): void;
  toBuffer(): Buffer;
}

const codecTypes = rhea.types as unknown as {
  Reader: new (buffer: Buffer) => AmqpReader;
  Writer: new () => AmqpWriter;
};
export const newReader = (buffer: Buffer): AmqpReader => new codecTypes.Reader(buffer);
export const newWriter = (): AmqpWriter => new codecTypes.Writer();

/** A decoded AMQP message as rhea represents it: header and properties fields flattened, sections by name. */
export type DecodedMessage = Record<string, unknown> & {
  message_id?: unknown;
  message_annotations?: Record<string, unknown>;
  application_properties?: Record<string, unknown>;
  body?: unknown;
  footer?: Record<string, unknown>;
};

interface Composite {
  described(): Typed;
}

/** rhea's message codec, with the section and outcome constructors its typings leave out. */
export const codec = rhea.message as unknown as {
  encode(message: object): Buffer;
  decode(buffer: Buffer): DecodedMessage;
  header(fields: object): Composite;
  properties(fields: object): Composite;
  accepted(): Composite;
  rejected(fields: { error: { condition: string; description?: string } }): Composite;
};

/** The remote end's attach, as rhea keeps it. */
export interface RemoteAttach {
  name: string;
  source?: { address?: string } | null;
  target?: { address?: string } | null;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
}

/** The fields of our attach we set before rhea writes it (it writes on the next tick). */
export interface LocalAttach {
  source?: unknown;
  target?: unknown;
  snd_settle_mode?: number;
  rcv_settle_mode?: number;
  max_message_size?: number;
  properties?: Record<string, unknown>;
}

export interface OutgoingDelivery {
  readonly id: number;
  settled: boolean;
  remote_settled: boolean;
  remote_state?: {
    error?: { condition?: unknown; description?: unknown; info?: unknown };
    undeliverable_here?: boolean;
    delivery_failed?: boolean;
    message_annotations?: Record<string, unknown>;
  };
  update(settled: boolean, state?: Typed): void;
  /** Broker bookkeeping, attached to rhea's delivery object. */
  brokerLock?: unknown;
}

export interface AmqpLink {
  readonly name: string;
  readonly session: { output(frame: unknown): void };
  is_receiver(): boolean;
  readonly remote: { attach: RemoteAttach };
  readonly local: { attach: LocalAttach };
  readonly connection: AmqpConnection;
  set_source(fields: { address: string }): void;
  set_target(fields: { address: string }): void;
  close(error?: { condition: string; description: string }): void;
  is_open(): boolean;
}

export interface AmqpSender extends AmqpLink {
  credit: number;
  delivery_count: number;
  _draining: boolean;
  _drained: boolean;
  _get_drain(): boolean;
  set_drained(drained: boolean): void;
  send(payload: Buffer | object, tag?: Buffer, format?: number): OutgoingDelivery;
  readonly session: {
    output(frame: unknown): void;
    readonly outgoing: {
      available(): number;
      readonly deliveries: { get_head(): OutgoingDelivery | undefined };
    };
  };
}

export interface IncomingDelivery {
  readonly id: number;
  settled: boolean;
  update(settled: boolean, state?: Typed): void;
}

export interface AmqpReceiver extends AmqpLink {
  readonly credit: number;
}

export interface AmqpConnection {
  readonly options: { id?: string };
  accept(socket: Socket): AmqpConnection;
  /** Ends and destroys the socket and tells the connection it is gone (timers, events). */
  abort_socket(socket: Socket): void;
  /** Our per-connection state, attached to rhea's connection object. */
  brokerState?: unknown;
}

/** The parts of rhea's event context the broker reads. */
export interface AmqpEventContext {
  connection: AmqpConnection;
  sender?: AmqpSender;
  receiver?: AmqpReceiver;
  delivery?: OutgoingDelivery & IncomingDelivery;
  message?: DecodedMessage | Buffer;
  format?: number;
}

// rhea's frame constructors: not part of its public API, needed for settleAlone below.
const frames = createRequire(import.meta.url)('rhea/lib/frames.js') as {
  disposition(fields: {
    role: boolean;
    first: number;
    last: number;
    settled: boolean;
    state: Typed;
  }): unknown;
};

/**
 * Settles one delivery in a disposition frame of its own. rhea sends the dispositions of one turn as ranges of
 * consecutive deliveries, and (rhea 3.0.5, session.js write_dispositions) compares outcomes only once a range
 * holds two: a delivery's outcome is applied to the next delivery's too. Harmless while every outcome is
 * `accepted`; any other outcome (lock lost, refused) goes out alone so it is neither spread nor overwritten.
 */
export function settleAlone(
  link: AmqpLink,
  delivery: { readonly id: number; settled: boolean; remote_settled?: boolean },
  state: Typed,
): void {
  delivery.settled = true;
  if (!link.is_receiver()) delivery.remote_settled = true; // the client settled first: rhea may free the slot
  link.session.output(
    frames.disposition({
      role: link.is_receiver(),
      first: delivery.id,
      last: delivery.id,
      settled: true,
      state,
    }),
  );
}
