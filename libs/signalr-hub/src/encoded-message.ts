// A broadcast encoded once and sent to many connections: the broadcaster builds one per update and hands it to
// every subscriber, so encoding must not happen per connection. Each protocol's message is built on first use and
// cached (a JSON-only audience never pays for MessagePack, and vice versa), and so is its complete WebSocket
// frame (the JSON as UTF-8 in a text frame), so a send is one socket write of a shared buffer.

import { jsonInvocationText, messagePackInvocationFrame, type HubProtocolName } from './hub-protocol.js';
import { SignalRHubError } from './signalr-hub-error.js';
import { webSocketFrame } from './websocket-frame.js';

/** One message encoded once, framed lazily per protocol and cached, sent to many connections. */
export interface EncodedMessage {
  /** The JSON protocol frame, with the 0x1E terminator. */
  readonly json: string;
  /** The MessagePack protocol frame, VarInt length-prefixed. */
  readonly messagepack: Uint8Array;
}

class EncodedInvocation implements EncodedMessage {
  #json: string | undefined;
  #messagepack: Buffer | undefined;
  #jsonWebSocketFrame: Buffer | undefined;
  #messagePackWebSocketFrame: Buffer | undefined;

  constructor(
    private readonly target: string,
    private readonly args: readonly unknown[],
  ) {}

  get json(): string {
    if (this.#json === undefined) {
      try {
        this.#json = jsonInvocationText(this.target, this.args);
      } catch (error) {
        throw unencodable(this.target, 'JSON', error);
      }
    }
    return this.#json;
  }

  get messagepack(): Uint8Array {
    return this.messagePackBytes();
  }

  webSocketFrame(protocol: HubProtocolName): Buffer {
    if (protocol === 'json') return (this.#jsonWebSocketFrame ??= webSocketFrame(this.json));
    return (this.#messagePackWebSocketFrame ??= webSocketFrame(this.messagePackBytes()));
  }

  messagePackBytes(): Buffer {
    if (this.#messagepack === undefined) {
      try {
        this.#messagepack = messagePackInvocationFrame(this.target, this.args);
      } catch (error) {
        throw unencodable(this.target, 'MessagePack', error);
      }
    }
    return this.#messagepack;
  }
}

function unencodable(target: string, protocol: string, cause: unknown): SignalRHubError {
  return new SignalRHubError(
    'INVALID_ARGUMENT',
    `the arguments of '${target}' cannot be encoded as ${protocol}`,
    {
      cause,
    },
  );
}

/**
 * A broadcast Invocation (no invocationId) of the client method `target` (matched case-insensitively by the
 * client). Encoding is lazy: an argument that cannot be encoded (a BigInt in JSON) throws SignalRHubError
 * INVALID_ARGUMENT when that protocol's frame is first needed. JSON encodes Maps as `{}`; prefer plain objects.
 */
export function encodeInvocation(target: string, args: readonly unknown[]): EncodedMessage {
  if (typeof target !== 'string' || target.length === 0) {
    throw new SignalRHubError('INVALID_ARGUMENT', 'an invocation target must be a non-empty string');
  }
  if (!Array.isArray(args)) {
    throw new SignalRHubError('INVALID_ARGUMENT', `the arguments of '${target}' must be an array`);
  }
  return new EncodedInvocation(target, args);
}

/**
 * The whole WebSocket frame for `protocol`, built once per message, for messages from encodeInvocation; other
 * EncodedMessage implementations are sent through the socket's own framing.
 */
export function webSocketFrameFor(message: EncodedMessage, protocol: HubProtocolName): Buffer | undefined {
  return message instanceof EncodedInvocation ? message.webSocketFrame(protocol) : undefined;
}

/** The message for `protocol`, to be framed by the socket (messages not from encodeInvocation). */
export function frameFor(message: EncodedMessage, protocol: HubProtocolName): Uint8Array | string {
  return protocol === 'json' ? message.json : message.messagepack;
}
