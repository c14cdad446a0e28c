// A local stand-in for Azure SignalR Service (serverless mode), for tests and the local stack, built on this
// lib's own hub. It serves what clients use (`/client/negotiate?hub=` and the WebSocket at `/client/?hub=`,
// reached after the app's negotiate redirect) and what app servers use (the REST API v1: broadcast, group and
// user sends, group membership of users and connections, plus `:generateToken` for Entra ID apps). Like the
// real service it verifies every JWT (signature with the access key, `aud`, `exp`) and answers 401 otherwise;
// it records every accepted REST call so tests can assert on them.
// Not like the real service: clients that send invocations get a Completion error instead of being disconnected.

import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { accessKeyBytes, bearerOf, signAccessToken, verifyAccessToken } from './access-token.js';
import { encodeInvocation } from './encoded-message.js';
import type { HubConnection } from './hub-connection.js';
import { pathOf } from './request-url.js';
import { SignalRHubError } from './signalr-hub-error.js';
import { createSignalRHub } from './signalr-hub.js';

export interface AzureSignalRStandInOptions {
  readonly accessKey: string;
  readonly hub: string;
  /** Default: a free port. */
  readonly port?: number;
  /** A bearer token accepted as a Microsoft Entra ID token on REST calls (to test AuthType=aad apps). */
  readonly entraToken?: string;
}

export interface RecordedRestCall {
  readonly method: string;
  /** The request path, without query. */
  readonly path: string;
  readonly body: unknown;
}

export interface AzureSignalRStandIn {
  /** `Endpoint=http://127.0.0.1;Port=<port>;AccessKey=<key>;Version=1.0;` */
  readonly connectionString: string;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Accepted REST calls, oldest first. */
  readonly calls: readonly RecordedRestCall[];
  /** Requests refused for a missing or invalid token (REST and client). */
  readonly rejected: number;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

export async function startAzureSignalRStandIn(
  options: AzureSignalRStandInOptions,
): Promise<AzureSignalRStandIn> {
  if (typeof options.accessKey !== 'string' || options.accessKey === '' || /[;\s]/.test(options.accessKey)) {
    throw new SignalRHubError('INVALID_ARGUMENT', 'accessKey must be a non-empty string without ; or spaces');
  }
  const key = accessKeyBytes(options.accessKey);
  const hubName = options.hub.toLowerCase();
  const calls: RecordedRestCall[] = [];
  let rejected = 0;
  const groupsOfUser = new Map<string, Set<string>>();
  const connectionsOfUser = new Map<string, Set<HubConnection>>();

  const hostnameOf = (request: { headers: { host?: string } }): string => {
    try {
      return new URL(`http://${request.headers.host ?? '127.0.0.1'}`).hostname;
    } catch {
      return '127.0.0.1';
    }
  };
  const clientAudience = (hostname: string): string => `http://${hostname}/client/?hub=${hubName}`;

  const hub = createSignalRHub({
    path: '/client',
    async authenticate({ headers, query }) {
      const token = bearerOf(headers.authorization) ?? query['access_token'];
      const claims =
        token === undefined
          ? undefined
          : await verifyAccessToken(token, key, clientAudience(hostnameOf({ headers })));
      if (claims === undefined) {
        rejected++;
        return undefined;
      }
      return typeof claims['nameid'] === 'string' ? claims['nameid'] : '';
    },
    validateQuery: (query) =>
      query['hub']?.toLowerCase() === hubName ? undefined : `Unknown hub '${query['hub'] ?? ''}'.`,
    onConnected(connection) {
      if (connection.user === '') return;
      let mine = connectionsOfUser.get(connection.user);
      if (mine === undefined) connectionsOfUser.set(connection.user, (mine = new Set()));
      mine.add(connection);
      for (const group of groupsOfUser.get(connection.user) ?? []) hub.addToGroup(connection, group);
    },
    onDisconnected(connection) {
      const mine = connectionsOfUser.get(connection.user);
      mine?.delete(connection);
      if (mine?.size === 0) connectionsOfUser.delete(connection.user);
    },
  });

  const app = Fastify({ logger: false });
  hub.register(app);

  /** Verifies the bearer (aud = this request's URL without query) and the hub; records the call. */
  async function admit(
    request: FastifyRequest<{ Params: { hub: string } }>,
    reply: FastifyReply,
  ): Promise<boolean> {
    const token = bearerOf(request.headers.authorization);
    const path = pathOf(request.url);
    const entra = options.entraToken !== undefined && token === options.entraToken;
    if (!entra) {
      const audience = `http://${hostnameOf(request)}${path}`;
      if (token === undefined || (await verifyAccessToken(token, key, audience)) === undefined) {
        rejected++;
        await reply.code(401).send({ code: 'Unauthorized', message: 'Invalid or expired access token.' });
        return false;
      }
    }
    if (request.params.hub.toLowerCase() !== hubName) {
      await reply.code(404).send({ code: 'NotFound', message: `Hub '${request.params.hub}' not found.` });
      return false;
    }
    calls.push({ method: request.method, path, body: request.body ?? null });
    return true;
  }

  function payloadOf(body: unknown): { target: string; arguments: unknown[] } | undefined {
    const candidate = body as { target?: unknown; arguments?: unknown } | null;
    if (
      typeof candidate?.target !== 'string' ||
      candidate.target === '' ||
      !Array.isArray(candidate.arguments)
    ) {
      return undefined;
    }
    return { target: candidate.target, arguments: candidate.arguments };
  }

  type Params = { hub: string; group?: string; user?: string; connectionId?: string };
  const send =
    (deliver: (params: Params, target: string, args: unknown[]) => void) =>
    async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      if (!(await admit(request, reply))) return reply;
      const payload = payloadOf(request.body);
      if (payload === undefined) {
        return reply
          .code(400)
          .send({ code: 'BadRequest', message: 'The body must be {"target": string, "arguments": []}.' });
      }
      deliver(request.params, payload.target, payload.arguments);
      return reply.code(202).send();
    };
  const membership =
    (apply: (params: Params) => boolean) =>
    async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      if (!(await admit(request, reply))) return reply;
      return apply(request.params) ? reply.code(200).send() : reply.code(404).send({ code: 'NotFound' });
    };

  const bodyLimit = { bodyLimit: MAX_BODY_BYTES };
  app.post(
    '/api/v1/hubs/:hub',
    bodyLimit,
    send((_, target, args) => hub.sendToAll(encodeInvocation(target, args))),
  );
  app.post(
    '/api/v1/hubs/:hub/groups/:group',
    bodyLimit,
    send((params, target, args) => hub.sendToGroup(params.group!, encodeInvocation(target, args))),
  );
  app.post(
    '/api/v1/hubs/:hub/users/:user',
    bodyLimit,
    send((params, target, args) => {
      const message = encodeInvocation(target, args);
      for (const connection of connectionsOfUser.get(params.user!) ?? []) connection.send(message);
    }),
  );
  app.post(
    '/api/v1/hubs/:hub/connections/:connectionId',
    bodyLimit,
    send((params, target, args) =>
      hub.connections.get(params.connectionId!)?.send(encodeInvocation(target, args)),
    ),
  );
  app.put(
    '/api/v1/hubs/:hub/groups/:group/users/:user',
    membership(({ group, user }) => {
      let groups = groupsOfUser.get(user!);
      if (groups === undefined) groupsOfUser.set(user!, (groups = new Set()));
      groups.add(group!);
      for (const connection of connectionsOfUser.get(user!) ?? []) hub.addToGroup(connection, group!);
      return true;
    }),
  );
  app.delete(
    '/api/v1/hubs/:hub/groups/:group/users/:user',
    membership(({ group, user }) => {
      const groups = groupsOfUser.get(user!);
      groups?.delete(group!);
      if (groups?.size === 0) groupsOfUser.delete(user!);
      for (const connection of connectionsOfUser.get(user!) ?? []) hub.removeFromGroup(connection, group!);
      return true;
    }),
  );
  app.put(
    '/api/v1/hubs/:hub/groups/:group/connections/:connectionId',
    membership(({ group, connectionId }) => {
      const connection = hub.connections.get(connectionId!);
      if (connection !== undefined) hub.addToGroup(connection, group!);
      return connection !== undefined;
    }),
  );
  app.delete(
    '/api/v1/hubs/:hub/groups/:group/connections/:connectionId',
    membership(({ group, connectionId }) => {
      const connection = hub.connections.get(connectionId!);
      if (connection !== undefined) hub.removeFromGroup(connection, group!);
      return connection !== undefined;
    }),
  );
  app.head(
    '/api/v1/hubs/:hub/groups/:group',
    membership(({ group }) => hub.group(group!).size > 0),
  );
  // Client tokens for apps on Microsoft Entra ID (they hold no access key to sign with).
  app.post(
    '/api/hubs/:hub/::generateToken',
    async (request: FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>, reply) => {
      if (!(await admit(request, reply))) return reply;
      const userId = request.query['userId'];
      const minutes = Number(request.query['minutesToExpire'] ?? '60');
      if (!Number.isFinite(minutes) || minutes <= 0) return reply.code(400).send({ code: 'BadRequest' });
      const token = await signAccessToken(
        key,
        clientAudience(hostnameOf(request)),
        minutes * 60_000,
        userId === undefined || userId === '' ? {} : { nameid: userId },
      );
      return reply.code(200).send({ token });
    },
  );

  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;

  return {
    connectionString: `Endpoint=http://127.0.0.1;Port=${port};AccessKey=${options.accessKey};Version=1.0;`,
    url: `http://127.0.0.1:${port}`,
    calls,
    get rejected() {
      return rejected;
    },
    async stop() {
      await app.close(); // closes the hub first (its preClose hook)
    },
  };
}
