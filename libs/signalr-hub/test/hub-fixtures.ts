// Test fixtures: a Fastify app with a hub on a free port, official @microsoft/signalr clients (JSON or
// MessagePack) and raw `ws` sockets for hostile input. Everything made here is tracked and torn down by
// closeAll() in afterEach, so a failing test leaves no socket or server behind.

import type { AddressInfo } from 'node:net';
import {
  HttpTransportType,
  HubConnectionBuilder,
  LogLevel,
  type HubConnection as ClientConnection,
} from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import {
  createSignalRHub,
  type HubProtocolName,
  type SignalRHub,
  type SignalRHubOptions,
} from '../src/index.js';

export const HUB_PATH = '/hubs/vehicles';

/** Bearer tokens the test hubs accept: `token-<user>` authenticates <user>. */
export function tokenOf(user: string): string {
  return `token-${user}`;
}

export function bearerAuthenticate({
  headers,
  query,
}: {
  headers: { authorization?: string };
  query: Readonly<Record<string, string>>;
}): string | undefined {
  const token = /^Bearer (\S+)$/.exec(headers.authorization ?? '')?.[1] ?? query['access_token'];
  return token?.startsWith('token-') ? token.slice('token-'.length) : undefined;
}

const cleanups: (() => Promise<void> | void)[] = [];

export async function closeAll(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  for (const cleanup of pending) {
    try {
      await cleanup();
    } catch {
      // best effort: the next cleanup still runs
    }
  }
}

export function track(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export interface TestServer {
  readonly app: FastifyInstance;
  readonly hub: SignalRHub;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** The hub URL clients connect to. */
  readonly hubUrl: string;
}

export async function startHub(options: Partial<SignalRHubOptions> = {}): Promise<TestServer> {
  const hub = createSignalRHub({ path: HUB_PATH, authenticate: bearerAuthenticate, ...options });
  const app = Fastify({ logger: false });
  hub.register(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  track(() => app.close());
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, hub, origin, hubUrl: `${origin}${HUB_PATH}` };
}

export interface ClientOptions {
  readonly protocol?: HubProtocolName;
  /** undefined: no token at all. */
  readonly token?: string;
  readonly reconnectDelays?: number[];
  readonly serverTimeoutMs?: number;
  readonly keepAliveMs?: number;
  /** Connect the WebSocket directly, without negotiate. */
  readonly skipNegotiation?: boolean;
}

export function buildClient(url: string, options: ClientOptions = {}): ClientConnection {
  const token = options.token;
  let builder = new HubConnectionBuilder()
    .withUrl(url, {
      transport: HttpTransportType.WebSockets,
      skipNegotiation: options.skipNegotiation ?? false,
      ...(token === undefined ? {} : { accessTokenFactory: () => token }),
    })
    .configureLogging(LogLevel.None);
  if (options.protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
  if (options.reconnectDelays) builder = builder.withAutomaticReconnect(options.reconnectDelays);
  if (options.serverTimeoutMs !== undefined) builder = builder.withServerTimeout(options.serverTimeoutMs);
  if (options.keepAliveMs !== undefined) builder = builder.withKeepAliveInterval(options.keepAliveMs);
  const connection = builder.build();
  track(() => connection.stop());
  return connection;
}

export async function connectClient(url: string, options: ClientOptions = {}): Promise<ClientConnection> {
  const connection = buildClient(url, options);
  await connection.start();
  return connection;
}

/** POST negotiate as the client does; returns the status and the parsed body (or text). */
export async function negotiate(
  hubUrl: string,
  token: string | undefined,
  query = '',
): Promise<{ status: number; body: { connectionId?: string; connectionToken?: string } | string }> {
  const response = await fetch(`${hubUrl}/negotiate?negotiateVersion=1${query}`, {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  try {
    return {
      status: response.status,
      body: JSON.parse(text) as { connectionId: string; connectionToken: string },
    };
  } catch {
    return { status: response.status, body: text };
  }
}

/** A raw socket with a negotiated token, open (handshake not sent). */
export async function openRawSocket(server: TestServer, user = 'mallory'): Promise<RawSocket> {
  const negotiated = await negotiate(server.hubUrl, tokenOf(user));
  const body = negotiated.body as { connectionToken: string };
  const socket = new WebSocket(`${server.hubUrl.replace('http', 'ws')}?id=${body.connectionToken}`, {
    headers: { authorization: `Bearer ${tokenOf(user)}` },
  });
  const raw = new RawSocket(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return raw;
}

/** A `ws` client that records what it receives and how it closed. */
export class RawSocket {
  readonly received: { data: Buffer; binary: boolean }[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly closedPromise: Promise<{ code: number; reason: string }>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, binary) => this.received.push({ data, binary }));
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        resolve(this.closed);
      }),
    );
    track(() => socket.terminate());
  }

  texts(): string[] {
    return this.received.map((m) => m.data.toString('utf8'));
  }
}

/** Polls until `check` is true (or throws after `timeoutMs`). */
export async function waitFor(check: () => boolean, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the arguments of the next call of client method `target`. */
export function nextInvocation(
  connection: ClientConnection,
  target: string,
  timeoutMs = 3_000,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.off(target, handler);
      reject(new Error(`no '${target}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (...args: unknown[]): void => {
      clearTimeout(timer);
      connection.off(target, handler);
      resolve(args);
    };
    connection.on(target, handler);
  });
}
