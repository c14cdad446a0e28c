// A SignalR hub endpoint for the official @microsoft/signalr client: the negotiate route (a Fastify route),
// WebSocket upgrades on the app's HTTP server, the handshake, the client's messages (hub method invocations,
// pings, close) and the server's side of keep-alive; plus groups and fan-out for the broadcaster. One timer
// pings the connections that were sent nothing lately and one sweeps timeouts: nothing runs per connection but
// its socket.

import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { EncodedMessage } from './encoded-message.js';
import { Connection, type ConnectionHost, type HubConnection } from './hub-connection.js';
import { silentLogger, type HubLogger } from './hub-logger.js';
import {
  HANDSHAKE_OK,
  PING_FRAMES,
  ProtocolViolation,
  RECORD_SEPARATOR,
  completionFrame,
  handshakeErrorFrame,
  parseJsonMessages,
  parseMessagePackMessages,
  type HubProtocolName,
  type IncomingMessage as HubMessage,
  type ProtocolViolationReason,
} from './hub-protocol.js';
import { connectionQueryOf, pathOf, queryOf, type Query } from './request-url.js';
import { SignalRHubError } from './signalr-hub-error.js';
import { refuseUpgrade, routeUpgrades } from './upgrade-router.js';

export interface HubRequest {
  readonly headers: IncomingHttpHeaders;
  /** The request's query parameters, transport ones (`access_token`, `id`) included. */
  readonly query: Readonly<Record<string, string>>;
}

export type HubMethod = (connection: HubConnection, args: readonly unknown[]) => unknown;

export interface SignalRHubOptions {
  /** e.g. '/hubs/vehicles' (negotiate at `${path}/negotiate`, WebSocket at `path`). */
  readonly path: string;
  /**
   * The caller's authentication, run on negotiate and again on the WebSocket upgrade (which must give the same
   * user): gets the request headers and query (the Node client sends Authorization: Bearer on negotiate and
   * upgrade; browsers send `access_token` in the WebSocket query). Returns a user id, or undefined to refuse
   * (401). May be async.
   */
  authenticate(request: HubRequest): string | undefined | Promise<string | undefined>;
  /** Rejects a negotiate with 400 and this message (e.g. an invalid profile in the query); undefined accepts. */
  validateQuery?(query: Readonly<Record<string, string>>): string | undefined;
  /** After the handshake. */
  onConnected?(connection: HubConnection): void;
  onDisconnected?(connection: HubConnection, reason: string): void;
  /**
   * Hub methods clients may invoke (case-insensitive names); the return value (or what its promise resolves
   * to) is the Completion result; throwing gives a Completion error (message only, no stack). Unknown method:
   * Completion error. Arguments are untrusted: validate them.
   */
  readonly methods?: Readonly<Record<string, HubMethod>>;
  /** Default 15 000: the longest a connection goes without a frame from the server (pings fill the gaps). */
  readonly pingIntervalMs?: number;
  /** Default 30 000: close a client that sent nothing (not even pings) for this long. */
  readonly clientTimeoutMs?: number;
  /** Default 15 000. */
  readonly handshakeTimeoutMs?: number;
  /** How long a negotiated connection token waits for its socket, default 30 000. */
  readonly negotiateTtlMs?: number;
  /** Default 10 000 (negotiated-but-unconnected count towards it); above: negotiate 503 / upgrade 503. */
  readonly maxConnections?: number;
  /** Incoming frame limit (ws maxPayload), default 32 KiB. */
  readonly maxMessageBytes?: number;
  /**
   * CORS: allowed origins for browsers ('*' echoes any origin); default none (no CORS headers, and no OPTIONS
   * route, so an app-wide CORS plugin keeps working). WebSocket upgrades with a disallowed Origin get 403.
   */
  readonly allowedOrigins?: readonly string[] | '*';
  readonly logger?: HubLogger;
}

/** Why a negotiate, an upgrade or a client message was refused. */
export type HubRejectReason =
  | 'shutting_down'
  | 'unauthorized'
  | 'invalid_query'
  | 'capacity'
  | 'unknown_token'
  | 'origin_not_allowed'
  | 'message_too_large'
  | 'invalid_frame'
  | 'unknown_message_type'
  | 'unknown_method'
  | 'unsupported_streaming'
  | ProtocolViolationReason;

export interface HubStats {
  /** Open connections (handshake done). */
  readonly connections: number;
  readonly connectionsByProtocol: Readonly<Record<HubProtocolName, number>>;
  /** Negotiated tokens waiting for their socket, plus sockets being upgraded or waiting for their handshake. */
  readonly pending: number;
  readonly groups: number;
  // Counters since the hub was created:
  readonly negotiations: number;
  readonly connected: number;
  readonly disconnected: number;
  readonly rejected: Readonly<Partial<Record<HubRejectReason, number>>>;
  readonly handshakeFailures: number;
  readonly clientTimeouts: number;
  /** Valid hub messages received (pings included). */
  readonly messagesReceived: number;
  readonly invocations: number;
  /** Frames written (broadcasts, pings, completions). */
  readonly messagesSent: number;
}

export interface SignalRHub {
  /**
   * Adds POST (and, with allowedOrigins, OPTIONS) `${path}/negotiate` routes to a Fastify app, handles
   * WebSocket upgrades for `path` on app.server (upgrades for other paths are left to other listeners, or
   * answered 404 when the hubs are the server's only upgrade listener), and closes the hub on app.close().
   * Call before the app is ready.
   */
  register(app: FastifyInstance): void;
  readonly connections: ReadonlyMap<string, HubConnection>;
  addToGroup(connection: HubConnection, group: string): void;
  removeFromGroup(connection: HubConnection, group: string): void;
  /** Empty set when none; groups are dropped when empty; membership is removed on disconnect. */
  group(name: string): ReadonlySet<HubConnection>;
  /** Returns the number of connections written. */
  sendToGroup(group: string, message: EncodedMessage): number;
  sendToAll(message: EncodedMessage): number;
  stats(): HubStats;
  /**
   * Shutdown: refuses new negotiates/upgrades, sends Close {allowReconnect: true} (clients with
   * withAutomaticReconnect come back, to another replica), closes sockets; resolves when all are closed (or
   * after a short timeout, terminating the rest).
   */
  close(reason?: string): Promise<void>;
}

interface Negotiated {
  readonly connectionId: string;
  readonly user: string;
  readonly query: Query;
  readonly expiresAt: number;
}

const DEFAULTS = {
  pingIntervalMs: 15_000,
  clientTimeoutMs: 30_000,
  handshakeTimeoutMs: 15_000,
  negotiateTtlMs: 30_000,
  maxConnections: 10_000,
  maxMessageBytes: 32 * 1024,
} as const;

/** How long a socket the server closed may take to answer the close before it is terminated. */
const CLOSE_GRACE_MS = 5_000;
/** How long close() waits for clients to answer before terminating the rest. */
const SHUTDOWN_GRACE_MS = 3_000;
const CLIENT_TIMEOUT_ERROR = 'Server timeout elapsed without receiving a message from the client.';

const EMPTY_GROUP: ReadonlySet<HubConnection> = Object.freeze(new Set<HubConnection>());

export function createSignalRHub(options: SignalRHubOptions): SignalRHub {
  const config = normalise(options);
  const log = options.logger ?? silentLogger;
  const methods = new Map<string, HubMethod>(
    Object.entries(options.methods ?? {}).map(([name, method]) => [name.toLowerCase(), method]),
  );

  const negotiated = new Map<string, Negotiated>(); // by connection token
  const handshaking = new Set<Connection>();
  const connections = new Map<string, Connection>();
  const closing = new Set<Connection>();
  const groups = new Map<string, Set<Connection>>();
  const counters = {
    negotiations: 0,
    connected: 0,
    disconnected: 0,
    handshakeFailures: 0,
    clientTimeouts: 0,
    messagesReceived: 0,
    invocations: 0,
    messagesSent: 0,
    json: 0,
    messagepack: 0,
  };
  const rejected: Partial<Record<HubRejectReason, number>> = {};

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxMessageBytes,
    perMessageDeflate: false, // compression would cost CPU per connection per broadcast
    clientTracking: false,
  });

  let registered = false;
  let shuttingDown: Promise<void> | undefined;
  /** Upgrades between their token check and their socket (awaiting authenticate): they hold a place too. */
  let upgrading = 0;
  let pingTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;

  const host: ConnectionHost = {
    detach(connection) {
      if (connection.state === 'closing') closing.add(connection);
      if (handshaking.delete(connection)) return;
      if (connections.get(connection.id) !== connection) return;
      connections.delete(connection.id);
      counters[connection.protocol]--;
      if (connection.groups !== undefined) {
        for (const name of connection.groups) leaveGroup(connection, name);
        connection.groups = undefined;
      }
    },
    countSent() {
      counters.messagesSent++;
    },
  };

  function reject(reason: HubRejectReason, details: object, message: string): void {
    rejected[reason] = (rejected[reason] ?? 0) + 1;
    log.warn({ reason, ...details }, message);
  }

  function capacityLeft(): boolean {
    return connections.size + handshaking.size + negotiated.size + upgrading < config.maxConnections;
  }

  async function authenticate(request: HubRequest): Promise<string | undefined> {
    try {
      const user = await options.authenticate(request);
      return typeof user === 'string' ? user : undefined;
    } catch (error) {
      log.warn({ err: error }, 'signalr authenticate threw; refusing the request');
      return undefined;
    }
  }

  function validate(query: Query): string | undefined {
    try {
      return options.validateQuery?.(query);
    } catch (error) {
      log.warn({ err: error }, 'signalr validateQuery threw; refusing the request');
      return 'Invalid query.';
    }
  }

  function allowedOrigin(origin: string | undefined): string | undefined {
    const allowed = options.allowedOrigins;
    if (origin === undefined || allowed === undefined) return undefined;
    if (allowed === '*' || allowed.includes(origin)) return origin;
    return undefined;
  }

  // ------------------------------------------------------------------------------------------ negotiate

  function applyCors(request: FastifyRequest, reply: FastifyReply): void {
    const origin = allowedOrigin(request.headers.origin);
    if (origin === undefined) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
    reply.header('vary', 'Origin');
  }

  async function negotiate(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    applyCors(request, reply);
    reply.header('cache-control', 'no-store');
    const refuse = (status: number, reason: HubRejectReason, message: string): FastifyReply => {
      reject(reason, { path: config.path }, `signalr negotiate refused: ${message}`);
      return reply.code(status).type('text/plain; charset=utf-8').send(message);
    };
    if (shuttingDown) return refuse(503, 'shutting_down', 'The hub is shutting down.');
    const query = queryOf(request.url);
    const user = await authenticate({ headers: request.headers, query });
    if (user === undefined) return refuse(401, 'unauthorized', 'Unauthorized.');
    const connectionQuery = connectionQueryOf(query);
    const invalid = validate(connectionQuery);
    if (invalid !== undefined) return refuse(400, 'invalid_query', invalid);
    if (shuttingDown) return refuse(503, 'shutting_down', 'The hub is shutting down.');
    if (!capacityLeft()) return refuse(503, 'capacity', 'The hub is at capacity.');
    const connectionId = randomId();
    const connectionToken = randomId();
    negotiated.set(connectionToken, {
      connectionId,
      user,
      query: connectionQuery,
      expiresAt: Date.now() + config.negotiateTtlMs,
    });
    counters.negotiations++;
    return reply.code(200).send({
      negotiateVersion: 1,
      connectionId,
      connectionToken,
      availableTransports: [{ transport: 'WebSockets', transferFormats: ['Text', 'Binary'] }],
    });
  }

  function preflight(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const origin = allowedOrigin(request.headers.origin);
    if (origin === undefined) return reply.code(204).send();
    const requested = request.headers['access-control-request-headers'];
    return reply
      .code(204)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-credentials', 'true')
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header(
        'access-control-allow-headers',
        typeof requested === 'string' ? requested : 'x-requested-with, x-signalr-user-agent, authorization',
      )
      .header('access-control-max-age', '600')
      .header('vary', 'Origin')
      .send();
  }

  // ------------------------------------------------------------------------------------------ upgrade

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    upgrade(request, socket, head).catch((error: unknown) => {
      log.warn({ err: error }, 'signalr upgrade failed');
      refuseUpgrade(socket, 500, 'Internal error.');
    });
  }

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const refuse = (status: number, reason: HubRejectReason, message: string): void => {
      reject(reason, { path: config.path }, `signalr upgrade refused: ${message}`);
      refuseUpgrade(socket, status, message);
    };
    if (shuttingDown) return refuse(503, 'shutting_down', 'The hub is shutting down.');
    const origin = request.headers.origin;
    // The page the hub's own server serves (same origin) may always connect; other origins need allowing.
    if (
      origin !== undefined &&
      options.allowedOrigins !== undefined &&
      allowedOrigin(origin) === undefined &&
      !sameOrigin(origin, request.headers.host)
    ) {
      return refuse(403, 'origin_not_allowed', 'Origin not allowed.');
    }
    const query = queryOf(request.url);
    const token = query['id'];
    let accepted: Negotiated;
    if (token !== undefined) {
      const found = negotiated.get(token);
      negotiated.delete(token); // one socket per token, even if this one fails
      if (found === undefined || found.expiresAt <= Date.now()) {
        return refuse(404, 'unknown_token', 'No connection with that id.');
      }
      upgrading++;
      let user: string | undefined;
      try {
        user = await authenticate({ headers: request.headers, query });
      } finally {
        upgrading--;
      }
      if (user !== found.user) return refuse(401, 'unauthorized', 'Unauthorized.');
      accepted = found;
    } else {
      // skipNegotiation: true — negotiate and connect in one request.
      const user = await authenticate({ headers: request.headers, query });
      if (user === undefined) return refuse(401, 'unauthorized', 'Unauthorized.');
      const connectionQuery = connectionQueryOf(query);
      const invalid = validate(connectionQuery);
      if (invalid !== undefined) return refuse(400, 'invalid_query', invalid);
      if (!capacityLeft()) return refuse(503, 'capacity', 'The hub is at capacity.');
      accepted = { connectionId: randomId(), user, query: connectionQuery, expiresAt: 0 };
    }
    if (shuttingDown) return refuse(503, 'shutting_down', 'The hub is shutting down.');
    if (socket.destroyed) return;
    // Without verifyClient, ws completes the upgrade synchronously: the connection is counted from here on.
    wss.handleUpgrade(request, socket, head, (ws) => accept(ws, socket, accepted));
  }

  function accept(ws: WebSocket, socket: Duplex, accepted: Negotiated): void {
    const connection = new Connection(accepted.connectionId, accepted.user, accepted.query, ws, socket, host);
    handshaking.add(connection);
    ws.on('message', (data) => onMessage(connection, data));
    ws.on('error', (error: Error & { code?: string }) => onSocketError(connection, error));
    ws.on('close', (code) => onClose(connection, code));
  }

  function onSocketError(connection: Connection, error: Error & { code?: string }): void {
    // ws closes the socket itself after a protocol error (1009 for an oversized message, 1002/1007 otherwise).
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      connection.closeReason ??= 'message too large';
      reject(
        'message_too_large',
        { connectionId: connection.id },
        'signalr client sent a frame over the limit',
      );
    } else if (error.code?.startsWith('WS_ERR_')) {
      connection.closeReason ??= 'invalid frame';
      reject(
        'invalid_frame',
        { connectionId: connection.id, code: error.code },
        'signalr client sent an invalid frame',
      );
    } else {
      connection.closeReason ??= 'socket error';
      log.debug({ connectionId: connection.id, err: error }, 'signalr socket error');
    }
  }

  function onClose(connection: Connection, code: number): void {
    connection.state = 'closed';
    host.detach(connection);
    closing.delete(connection);
    if (!connection.connected) return; // never got past the handshake: nothing was reported connected
    counters.disconnected++;
    const reason = connection.closeReason ?? (code === 1000 ? 'client closed' : `socket closed (${code})`);
    log.debug({ connectionId: connection.id, user: connection.user, reason }, 'signalr client disconnected');
    try {
      options.onDisconnected?.(connection, reason);
    } catch (error) {
      log.warn({ err: error, connectionId: connection.id }, 'signalr onDisconnected threw');
    }
  }

  // ------------------------------------------------------------------------------------------ messages

  function onMessage(connection: Connection, raw: RawData): void {
    const data = toBuffer(raw);
    connection.lastReceivedAt = Date.now();
    if (connection.state === 'handshake') {
      handshake(connection, data);
      return;
    }
    if (connection.state === 'open') receive(connection, data);
  }

  function handshake(connection: Connection, data: Buffer): void {
    const end = data.indexOf(RECORD_SEPARATOR);
    if (end < 0)
      return failHandshake(connection, 'The handshake request must end with the record separator 0x1E.');
    let request: unknown;
    try {
      request = JSON.parse(data.subarray(0, end).toString('utf8'));
    } catch {
      return failHandshake(connection, 'The handshake request is not valid JSON.');
    }
    const protocol = (request as { protocol?: unknown } | null)?.protocol;
    const version = (request as { version?: unknown } | null)?.version;
    if (typeof protocol !== 'string' || typeof version !== 'number' || !Number.isInteger(version)) {
      return failHandshake(
        connection,
        'The handshake request must be {"protocol": string, "version": integer}.',
      );
    }
    if (protocol !== 'json' && protocol !== 'messagepack') {
      return failHandshake(connection, `The protocol '${protocol.slice(0, 40)}' is not supported.`);
    }
    // Version 1 is the protocol; 2 adds the stateful-reconnect messages (Ack, Sequence), which only flow when
    // negotiated, so a version 2 client (@microsoft/signalr 8+) is served as version 1.
    if (version < 1 || version > 2) {
      return failHandshake(
        connection,
        `The server does not support version ${version} of the '${protocol}' protocol.`,
      );
    }
    handshaking.delete(connection);
    connection.protocol = protocol;
    connection.state = 'open';
    connection.connected = true;
    connections.set(connection.id, connection);
    counters[protocol]++;
    counters.connected++;
    // The answer goes alone: the client would parse bytes after it as messages.
    connection.socket.send(HANDSHAKE_OK, { binary: protocol === 'messagepack' });
    log.debug({ connectionId: connection.id, user: connection.user, protocol }, 'signalr client connected');
    try {
      options.onConnected?.(connection);
    } catch (error) {
      log.warn({ err: error, connectionId: connection.id }, 'signalr onConnected threw');
    }
    if (end + 1 < data.length && connection.state === 'open') receive(connection, data.subarray(end + 1));
  }

  function failHandshake(connection: Connection, message: string): void {
    counters.handshakeFailures++;
    log.warn({ connectionId: connection.id, error: message }, 'signalr handshake failed');
    connection.beginClose('handshake failed');
    try {
      connection.socket.send(handshakeErrorFrame(message), { binary: false });
    } catch {
      // the socket is gone; closing it below is all that is left
    }
    connection.closeSocket(1002, 'Handshake failed');
  }

  function receive(connection: Connection, data: Buffer): void {
    let messages: HubMessage[];
    try {
      messages =
        connection.protocol === 'json'
          ? parseJsonMessages(data.toString('utf8'))
          : parseMessagePackMessages(data);
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      reject(
        error.reason,
        { connectionId: connection.id, error: error.message },
        'signalr client sent an invalid message',
      );
      connection.closeWith(
        'protocol error',
        `Connection closed with an error: ${error.message}.`,
        false,
        1002,
      );
      return;
    }
    for (const message of messages) {
      if (connection.state !== 'open') return;
      counters.messagesReceived++;
      dispatch(connection, message);
    }
  }

  function dispatch(connection: Connection, message: HubMessage): void {
    switch (message.kind) {
      case 'invocation':
        counters.invocations++;
        invoke(connection, message);
        return;
      case 'close':
        connection.beginClose('client closed');
        connection.closeSocket(1000);
        return;
      case 'ignored':
        if (!message.known) {
          reject(
            'unknown_message_type',
            { connectionId: connection.id, type: message.type },
            'signalr message type ignored',
          );
        }
        return;
      case 'ping':
      case 'cancel': // hub methods cannot be cancelled; the client stops waiting on its own
        return;
    }
  }

  function invoke(connection: Connection, message: Extract<HubMessage, { kind: 'invocation' }>): void {
    const { invocationId, target } = message;
    const fail = (reason: HubRejectReason, error: string): void => {
      reject(
        reason,
        { connectionId: connection.id, target: target.slice(0, 100) },
        `signalr invocation refused: ${error}`,
      );
      if (invocationId !== undefined) complete(connection, invocationId, { error });
    };
    if (message.streaming) return fail('unsupported_streaming', 'Streaming hub methods are not supported.');
    if (message.streamCount > 0)
      return fail('unsupported_streaming', 'Client-to-server streaming is not supported.');
    const method = methods.get(target.toLowerCase());
    if (method === undefined)
      return fail('unknown_method', `Method '${target.slice(0, 100)}' does not exist.`);
    let result: unknown;
    try {
      result = method(connection, message.args);
    } catch (error) {
      return methodFailed(connection, target, invocationId, error);
    }
    if (isThenable(result)) {
      result.then(
        (value) => {
          if (invocationId !== undefined) complete(connection, invocationId, { result: value });
        },
        (error: unknown) => methodFailed(connection, target, invocationId, error),
      );
    } else if (invocationId !== undefined) {
      complete(connection, invocationId, { result });
    }
  }

  function methodFailed(
    connection: Connection,
    target: string,
    invocationId: string | undefined,
    error: unknown,
  ): void {
    log.debug({ connectionId: connection.id, target, err: error }, 'signalr hub method threw');
    if (invocationId !== undefined) {
      complete(connection, invocationId, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  function complete(
    connection: Connection,
    invocationId: string,
    outcome: { readonly error: string } | { readonly result: unknown },
  ): void {
    if (!connection.open) return;
    let frame: Buffer;
    try {
      frame = completionFrame(connection.protocol, invocationId, outcome);
    } catch (error) {
      log.warn({ connectionId: connection.id, err: error }, 'signalr hub method result cannot be encoded');
      frame = completionFrame(connection.protocol, invocationId, {
        error: 'The result could not be serialized.',
      });
    }
    connection.write(frame);
  }

  // ------------------------------------------------------------------------------------------ timers

  /**
   * Keep-alive, every half ping interval: a ping to each connection written nothing for two rounds, so no client
   * goes longer than a ping interval without hearing from the server, and an idle one hears a ping every
   * interval. As ASP.NET Core's hub does, a connection that gets broadcasts gets no pings: pinging every
   * connection at once wrote thousands of frames in one go every 15 s, in the middle of a broadcast if one
   * was going out.
   */
  function keepAlive(): void {
    for (const connection of connections.values()) {
      if (connection.open && ++connection.quietRounds >= 2)
        connection.write(PING_FRAMES[connection.protocol]);
    }
  }

  function sweep(): void {
    const now = Date.now();
    for (const [token, entry] of negotiated) {
      if (entry.expiresAt <= now) negotiated.delete(token);
    }
    for (const connection of handshaking) {
      if (now - connection.startedAt >= config.handshakeTimeoutMs) {
        failHandshake(connection, 'No handshake request was received in time.');
      }
    }
    for (const connection of connections.values()) {
      if (now - connection.lastReceivedAt >= config.clientTimeoutMs) {
        counters.clientTimeouts++;
        log.debug({ connectionId: connection.id }, 'signalr client timed out');
        connection.closeWith('client timeout', CLIENT_TIMEOUT_ERROR, true);
      }
    }
    for (const connection of closing) {
      if (connection.state === 'closed') closing.delete(connection);
      else if (now - connection.closingSince >= CLOSE_GRACE_MS) connection.socket.terminate();
    }
  }

  // ------------------------------------------------------------------------------------------ groups

  function leaveGroup(connection: Connection, name: string): void {
    const members = groups.get(name);
    if (members === undefined) return;
    members.delete(connection);
    if (members.size === 0) groups.delete(name);
  }

  function own(connection: HubConnection): Connection | undefined {
    const found = connections.get(connection.id);
    return found === connection ? found : undefined;
  }

  function sendToEach(members: Iterable<Connection>, message: EncodedMessage): number {
    let written = 0;
    for (const connection of members) {
      if (connection.send(message)) written++;
    }
    return written;
  }

  const hub: SignalRHub = {
    register(app) {
      if (registered)
        throw new SignalRHubError('INVALID_ARGUMENT', 'a hub can be registered on one app only');
      registered = true;
      app.register(async (scope) => {
        // The client posts an empty body; accept (and ignore) any body rather than fail on its content type.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 4096 }, (_request, _body, done) =>
          done(null, undefined),
        );
        scope.post(`${config.path}/negotiate`, negotiate);
        if (options.allowedOrigins !== undefined) scope.options(`${config.path}/negotiate`, preflight);
      });
      // Stays routed after close(): upgrades are then answered 503, like negotiates.
      routeUpgrades(app.server, { path: config.path, handleUpgrade });
      app.addHook('preClose', async () => {
        await hub.close();
      });
      pingTimer = setInterval(keepAlive, config.pingIntervalMs / 2).unref();
      sweepTimer = setInterval(sweep, config.sweepIntervalMs).unref();
    },

    connections,

    addToGroup(connection, name) {
      const member = own(connection);
      if (member === undefined || !member.open) return; // a closed connection would never leave the group
      let members = groups.get(name);
      if (members === undefined) groups.set(name, (members = new Set()));
      members.add(member);
      (member.groups ??= new Set()).add(name);
    },

    removeFromGroup(connection, name) {
      const member = own(connection);
      if (member === undefined) return;
      member.groups?.delete(name);
      leaveGroup(member, name);
    },

    group(name) {
      return groups.get(name) ?? EMPTY_GROUP;
    },

    sendToGroup(name, message) {
      const members = groups.get(name);
      return members === undefined ? 0 : sendToEach(members, message);
    },

    sendToAll(message) {
      return sendToEach(connections.values(), message);
    },

    stats() {
      return {
        connections: connections.size,
        connectionsByProtocol: { json: counters.json, messagepack: counters.messagepack },
        pending: negotiated.size + handshaking.size + upgrading,
        groups: groups.size,
        negotiations: counters.negotiations,
        connected: counters.connected,
        disconnected: counters.disconnected,
        rejected: { ...rejected },
        handshakeFailures: counters.handshakeFailures,
        clientTimeouts: counters.clientTimeouts,
        messagesReceived: counters.messagesReceived,
        invocations: counters.invocations,
        messagesSent: counters.messagesSent,
      };
    },

    close(reason) {
      shuttingDown ??= shutDown(reason);
      return shuttingDown;
    },
  };

  async function shutDown(reason: string | undefined): Promise<void> {
    negotiated.clear();
    const all = [...handshaking, ...connections.values(), ...closing];
    log.info({ path: config.path, connections: connections.size }, 'signalr hub closing');
    for (const connection of [...handshaking]) {
      connection.beginClose('hub closed');
      connection.closeSocket(1001, 'Server shutting down');
    }
    for (const connection of [...connections.values()]) connection.closeWith('hub closed', reason, true);
    const closed = Promise.all(all.map((connection) => socketClosed(connection.socket)));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SHUTDOWN_GRACE_MS);
    });
    if ((await Promise.race([closed, timedOut])) === 'timeout') {
      for (const connection of all) connection.socket.terminate();
      await closed;
    }
    clearTimeout(timer);
    clearInterval(pingTimer);
    clearInterval(sweepTimer);
    wss.close();
  }

  return hub;
}

function socketClosed(socket: WebSocket): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

function normalise(options: SignalRHubOptions) {
  const path = pathOf(options.path);
  if (typeof options.path !== 'string' || !path.startsWith('/') || path.length < 2 || /[?#\s]/.test(path)) {
    throw new SignalRHubError(
      'INVALID_ARGUMENT',
      `path must be an absolute URL path like '/hubs/vehicles', got '${options.path}'`,
    );
  }
  if (typeof options.authenticate !== 'function') {
    throw new SignalRHubError('INVALID_ARGUMENT', 'authenticate must be a function');
  }
  const positive = (name: keyof typeof DEFAULTS): number => {
    const value = options[name] ?? DEFAULTS[name];
    if (!Number.isInteger(value) || value <= 0) {
      throw new SignalRHubError(
        'INVALID_ARGUMENT',
        `${name} must be a positive integer, got ${String(value)}`,
      );
    }
    return value;
  };
  const timeouts = {
    pingIntervalMs: positive('pingIntervalMs'),
    clientTimeoutMs: positive('clientTimeoutMs'),
    handshakeTimeoutMs: positive('handshakeTimeoutMs'),
    negotiateTtlMs: positive('negotiateTtlMs'),
  };
  return Object.freeze({
    path,
    ...timeouts,
    maxConnections: positive('maxConnections'),
    maxMessageBytes: positive('maxMessageBytes'),
    // Timeouts are checked by one sweep: a quarter of the shortest bounds how late one can fire.
    sweepIntervalMs: Math.max(
      10,
      Math.floor(
        Math.min(timeouts.clientTimeoutMs, timeouts.handshakeTimeoutMs, timeouts.negotiateTtlMs) / 4,
      ),
    ),
  });
}

function randomId(): string {
  return randomBytes(16).toString('base64url');
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
