// One client's connection to the hub: its socket, its negotiated identity and its protocol. Sending is the hot
// path (one broadcast to thousands of connections a second): a send is a state check and one socket write of
// a WebSocket frame built once for all connections, nothing allocated per connection.

import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { frameFor, encodeInvocation, webSocketFrameFor, type EncodedMessage } from './encoded-message.js';
import { closeFrame, type HubProtocolName } from './hub-protocol.js';
import type { Query } from './request-url.js';

export interface HubConnection {
  readonly id: string;
  readonly protocol: HubProtocolName;
  /** Query parameters given at negotiate (minus negotiateVersion/id/access_token), e.g. a client's subscription profile. */
  readonly query: Readonly<Record<string, string>>;
  /** What `authenticate` returned. */
  readonly user: string;
  /** Bytes queued on the socket and not yet written (ws bufferedAmount): the caller's backpressure signal. */
  readonly bufferedAmount: number;
  readonly open: boolean;
  /** Writes the message; false when the connection is not open. */
  send(message: EncodedMessage): boolean;
  /** Sends one Invocation of the client method `target` to this connection only. */
  invoke(target: string, args: readonly unknown[]): boolean;
  /** Sends a Close message (with allowReconnect, default false) then closes the socket. */
  close(reason?: string, allowReconnect?: boolean): void;
}

/** What a connection tells its hub. */
export interface ConnectionHost {
  /** The connection stops being open (closing, or its socket closed): it leaves the hub's maps and groups. */
  detach(connection: Connection): void;
  countSent(): void;
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

const TEXT = Object.freeze({ binary: false });

export class Connection implements HubConnection {
  protocol: HubProtocolName = 'json';
  state: State = 'handshake';
  readonly startedAt: number;
  lastReceivedAt: number;
  /** When the server started closing (to terminate a peer that never answers the close). */
  closingSince = 0;
  /** Why the connection ended, when the server decided it (else derived from the socket close). */
  closeReason: string | undefined;
  /** Whether the handshake completed (so a disconnect is reported). */
  connected = false;
  /** Groups this connection is in, so a disconnect leaves them without scanning every group. */
  groups: Set<string> | undefined;
  /** The hub's keep-alive rounds (every half ping interval) since something was last written here. */
  quietRounds = 0;

  /**
   * @param transport the upgraded TCP (or TLS) socket under `socket`. Broadcast frames are written to it
   *   directly: `ws` writes synchronously to the same stream (permessage-deflate is off, so its sender never
   *   queues), so frames keep their order, and its bufferedAmount counts both.
   */
  constructor(
    readonly id: string,
    readonly user: string,
    readonly query: Query,
    readonly socket: WebSocket,
    private readonly transport: Duplex,
    private readonly host: ConnectionHost,
  ) {
    this.startedAt = this.lastReceivedAt = Date.now();
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get open(): boolean {
    return this.state === 'open' && this.socket.readyState === WebSocket.OPEN;
  }

  send(message: EncodedMessage): boolean {
    if (!this.open) return false;
    const frame = webSocketFrameFor(message, this.protocol);
    return frame ? this.#writeFrame(frame) : this.write(frameFor(message, this.protocol));
  }

  invoke(target: string, args: readonly unknown[]): boolean {
    if (!this.open) return false;
    return this.send(encodeInvocation(target, args));
  }

  /** Writes one frame: text for JSON, binary for MessagePack. */
  write(frame: Buffer | Uint8Array | string): boolean {
    try {
      if (this.protocol === 'json') this.socket.send(frame, TEXT);
      else this.socket.send(frame);
    } catch {
      return false; // the socket closed under us; its 'close' event does the bookkeeping
    }
    return this.#sent();
  }

  /** Writes a complete WebSocket frame (see {@link webSocketFrameFor}) of an open connection. */
  #writeFrame(frame: Buffer): boolean {
    try {
      this.transport.write(frame);
    } catch {
      return false; // as in write()
    }
    return this.#sent();
  }

  /** Something went out: no keep-alive ping is due for a while, and the hub counts it. */
  #sent(): true {
    this.quietRounds = 0;
    this.host.countSent();
    return true;
  }

  close(reason?: string, allowReconnect = false): void {
    this.closeWith(reason ?? 'closed by the server', reason, allowReconnect);
  }

  /**
   * Ends the connection from the server side: a Close message (error = `clientError`) once the handshake is
   * done, then a WebSocket close. `why` is what onDisconnected reports.
   */
  closeWith(why: string, clientError: string | undefined, allowReconnect: boolean, code = 1000): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.beginClose(why);
    if (wasOpen && this.socket.readyState === WebSocket.OPEN) {
      try {
        this.socket.send(
          closeFrame(this.protocol, clientError, allowReconnect),
          this.protocol === 'json' ? TEXT : {},
        );
      } catch {
        // already closing: the close below is what matters
      }
    }
    this.closeSocket(code);
  }

  /** Stops being open (sends skip it from now on) and leaves the hub's maps and groups. */
  beginClose(why: string): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.closeReason ??= why;
    this.state = 'closing';
    this.closingSince = Date.now();
    this.host.detach(this);
  }

  closeSocket(code: number, reason?: string): void {
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
  }
}
