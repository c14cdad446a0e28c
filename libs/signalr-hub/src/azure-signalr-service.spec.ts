// The Azure SignalR Service adapter against the local stand-in, with the official client following the app's
// negotiate redirect: sends to all, groups and users; token checks (wrong key, wrong audience, expired); the
// 1 MB limit; an unreachable service; Microsoft Entra ID (AuthType=aad).

import type { AddressInfo } from 'node:net';
import { freePort } from '@transit-fusion/testing';
import Fastify from 'fastify';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bearerAuthenticate,
  buildClient,
  closeAll,
  connectClient,
  nextInvocation,
  sleep,
  tokenOf,
  track,
} from '../test/hub-fixtures.js';
import {
  createAzureSignalRService,
  isSignalRHubError,
  startAzureSignalRStandIn,
  type AzureSignalRService,
  type AzureSignalRStandIn,
  type HubProtocolName,
  type TokenCredential,
} from './index.js';

afterEach(closeAll);

const ACCESS_KEY = 'c3RhbmQtaW4ta2V5LWZvci10ZXN0cy0wMTIzNDU2Nzg5';

async function startStandIn(options: { entraToken?: string } = {}): Promise<AzureSignalRStandIn> {
  const standIn = await startAzureSignalRStandIn({ accessKey: ACCESS_KEY, hub: 'vehicles', ...options });
  track(() => standIn.stop());
  return standIn;
}

/** An app whose only SignalR part is the negotiate route that redirects to the service. */
async function startApp(service: AzureSignalRService): Promise<string> {
  const app = Fastify({ logger: false });
  app.post('/hubs/vehicles/negotiate', async (request, reply) => {
    const user = bearerAuthenticate({ headers: request.headers, query: {} });
    if (user === undefined) return reply.code(401).send();
    return service.negotiate(user);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  track(() => app.close());
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/hubs/vehicles`;
}

async function failure(promise: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (isSignalRHubError(error)) return { code: error.code, status: error.status };
    throw error;
  }
  throw new Error('expected a SignalRHubError');
}

describe.each<HubProtocolName>(['json', 'messagepack'])(
  'through the stand-in with %s clients',
  (protocol) => {
    it('follows the negotiate redirect and receives sends to all, to a group and to a user', async () => {
      const standIn = await startStandIn();
      const service = createAzureSignalRService({
        connectionString: standIn.connectionString,
        hub: 'Vehicles',
      });
      const hubUrl = await startApp(service);
      const alice = await connectClient(hubUrl, { protocol, token: tokenOf('alice') });

      const toAll = nextInvocation(alice, 'notice');
      await service.sendToAll('notice', ['service restarts at 03:00']);
      expect(await toAll).toEqual(['service restarts at 03:00']);

      await service.addUserToGroup('profile:city', 'alice');
      const toGroup = nextInvocation(alice, 'vehicles');
      await service.sendToGroup('profile:city', 'vehicles', [{ id: 'tram-3', delay: 30 }]);
      expect(await toGroup).toEqual([{ id: 'tram-3', delay: 30 }]);

      const toUser = nextInvocation(alice, 'direct');
      await service.sendToUser('alice', 'direct', [1, 2]);
      expect(await toUser).toEqual([1, 2]);

      await service.removeUserFromGroup('profile:city', 'alice');
      let late = false;
      alice.on('vehicles', () => (late = true));
      await service.sendToGroup('profile:city', 'vehicles', [{ id: 'tram-3' }]);
      await sleep(50);
      expect(late).toBe(false);

      expect(standIn.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
        'POST /api/v1/hubs/vehicles',
        'PUT /api/v1/hubs/vehicles/groups/profile%3Acity/users/alice',
        'POST /api/v1/hubs/vehicles/groups/profile%3Acity',
        'POST /api/v1/hubs/vehicles/users/alice',
        'DELETE /api/v1/hubs/vehicles/groups/profile%3Acity/users/alice',
        'POST /api/v1/hubs/vehicles/groups/profile%3Acity',
      ]);
      expect(standIn.calls[0]!.body).toEqual({ target: 'notice', arguments: ['service restarts at 03:00'] });
      expect(standIn.rejected).toBe(0);
    });
  },
);

describe('Azure SignalR Service adapter', () => {
  it('applies group membership to connections of the user that arrive later', async () => {
    const standIn = await startStandIn();
    const service = createAzureSignalRService({
      connectionString: standIn.connectionString,
      hub: 'vehicles',
    });
    const hubUrl = await startApp(service);
    await service.addUserToGroup('depot-2', 'bob');
    const bob = await connectClient(hubUrl, { token: tokenOf('bob') });
    const carol = await connectClient(hubUrl, { token: tokenOf('carol') });
    let carolGot = false;
    carol.on('depot', () => (carolGot = true));
    const received = nextInvocation(bob, 'depot');
    await service.sendToGroup('depot-2', 'depot', ['closing']);
    expect(await received).toEqual(['closing']);
    await sleep(30);
    expect(carolGot).toBe(false);

    // HEAD …/groups/{group}: whether the service still holds connections in a group.
    expect(await service.groupHasConnections('depot-2')).toBe(true);
    expect(await service.groupHasConnections('depot-9')).toBe(false);
    await bob.stop();
    await expect.poll(() => service.groupHasConnections('depot-2')).toBe(false);
  });

  it('signs REST calls once per URL for a while rather than per request', async () => {
    const standIn = await startStandIn();
    const bearers: string[] = [];
    const service = createAzureSignalRService({
      connectionString: standIn.connectionString,
      hub: 'vehicles',
      fetch: async (url, init) => {
        bearers.push(new Headers(init?.headers).get('authorization') ?? '');
        return fetch(url, init);
      },
    });
    await Promise.all([service.sendToAll('a', []), service.sendToAll('b', [])]);
    await service.sendToAll('c', []);
    await service.sendToGroup('g', 'd', []);
    expect(new Set(bearers.slice(0, 3)).size).toBe(1);
    expect(bearers[3]).not.toBe(bearers[0]); // another URL, another audience
  });

  it('is refused (401) when signing with the wrong key or for another URL', async () => {
    const standIn = await startStandIn();
    const wrongKey = createAzureSignalRService({
      connectionString: standIn.connectionString.replace(ACCESS_KEY, 'not-the-key'),
      hub: 'vehicles',
    });
    expect(await failure(wrongKey.sendToAll('x', []))).toEqual({ code: 'SERVICE_REJECTED', status: 401 });

    const broadcastAudience = 'http://127.0.0.1/api/v1/hubs/vehicles';
    const token = await sign({ aud: broadcastAudience }, 600);
    const post = (path: string) =>
      fetch(`${standIn.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'x', arguments: [] }),
      });
    expect((await post('/api/v1/hubs/vehicles')).status).toBe(202);
    expect((await post('/api/v1/hubs/vehicles/groups/g')).status).toBe(401);
    expect(standIn.rejected).toBe(2);
  });

  it('refuses an expired client token at the service', async () => {
    const standIn = await startStandIn();
    const expired = await sign({ aud: 'http://127.0.0.1/client/?hub=vehicles', nameid: 'alice' }, -60);
    const response = await fetch(`${standIn.url}/client/negotiate?hub=vehicles&negotiateVersion=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(response.status).toBe(401);

    const app = Fastify({ logger: false });
    app.post('/hubs/vehicles/negotiate', async () => ({
      url: `${standIn.url}/client/?hub=vehicles`,
      accessToken: expired,
    }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    track(() => app.close());
    const hubUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/hubs/vehicles`;
    await expect(buildClient(hubUrl).start()).rejects.toThrow(/401/);
    expect(standIn.rejected).toBe(2);
  });

  it('refuses a message over 1 MB before sending it', async () => {
    const standIn = await startStandIn();
    const service = createAzureSignalRService({
      connectionString: standIn.connectionString,
      hub: 'vehicles',
    });
    const result = await failure(service.sendToAll('big', ['x'.repeat(1024 * 1024)]));
    expect(result.code).toBe('MESSAGE_TOO_LARGE');
    expect(standIn.calls).toHaveLength(0);
  });

  it('reports an unreachable service', async () => {
    const port = await freePort();
    const service = createAzureSignalRService({
      connectionString: `Endpoint=http://127.0.0.1;Port=${port};AccessKey=${ACCESS_KEY};Version=1.0;`,
      hub: 'vehicles',
      requestTimeoutMs: 2_000,
    });
    expect((await failure(service.sendToGroup('g', 'x', []))).code).toBe('SERVICE_UNREACHABLE');
  });

  it('uses Microsoft Entra ID tokens for REST and generateToken for clients with AuthType=aad', async () => {
    const standIn = await startStandIn({ entraToken: 'entra-token' });
    const scopes: (string | string[])[] = [];
    const credential: TokenCredential = {
      getToken: async (scope) => {
        scopes.push(scope);
        return { token: 'entra-token', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const port = new URL(standIn.url).port;
    const service = createAzureSignalRService({
      connectionString: `Endpoint=http://127.0.0.1;Port=${port};AuthType=aad;Version=1.0;`,
      hub: 'vehicles',
      credential,
    });
    const hubUrl = await startApp(service);
    const alice = await connectClient(hubUrl, { token: tokenOf('alice') });
    const received = nextInvocation(alice, 'hello');
    await service.sendToUser('alice', 'hello', ['from entra']);
    expect(await received).toEqual(['from entra']);
    expect(scopes).toEqual(['https://signalr.azure.com/.default']); // one credential call, then cached
    expect(standIn.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/hubs/vehicles/:generateToken',
      'POST /api/v1/hubs/vehicles/users/alice',
    ]);

    const noCredential = () =>
      createAzureSignalRService({
        connectionString: `Endpoint=http://127.0.0.1;AuthType=aad;`,
        hub: 'vehicles',
      });
    expect(noCredential).toThrow(/credential/);
  });
});

function sign(claims: Record<string, string>, expiresInSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(now - 120)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(ACCESS_KEY));
}
