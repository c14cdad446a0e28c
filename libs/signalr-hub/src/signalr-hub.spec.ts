// The hub against the official @microsoft/signalr client (Node), in both hub protocols: negotiate, auth,
// broadcasts, hub methods, keep-alive, reconnects, groups, limits and shutdown.

import { HubConnectionState } from '@microsoft/signalr';
import type WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RawSocket,
  buildClient,
  closeAll,
  connectClient,
  negotiate,
  nextInvocation,
  openRawSocket,
  sleep,
  startHub,
  tokenOf,
  waitFor,
} from '../test/hub-fixtures.js';
import { createSignalRHub, encodeInvocation, type HubConnection, type HubProtocolName } from './index.js';

afterEach(closeAll);

describe.each<HubProtocolName>(['json', 'messagepack'])('with the %s protocol', (protocol) => {
  it('connects with a bearer token, passes the negotiate query through and receives group broadcasts', async () => {
    const connected: HubConnection[] = [];
    const server = await startHub({
      onConnected: (connection) => {
        connected.push(connection);
        server.hub.addToGroup(connection, `profile:${connection.query['profile']}`);
      },
    });
    const client = await connectClient(`${server.hubUrl}?profile=city`, {
      protocol,
      token: tokenOf('alice'),
    });

    expect(client.state).toBe(HubConnectionState.Connected);
    expect(connected).toHaveLength(1);
    const connection = connected[0]!;
    expect(connection).toMatchObject({ id: client.connectionId, protocol, user: 'alice', open: true });
    expect({ ...connection.query }).toEqual({ profile: 'city' }); // negotiateVersion, id and access_token left out
    expect(server.hub.connections.get(connection.id)).toBe(connection);

    const update = {
      vehicles: [{ id: 'bus-7', lat: 60.17, lon: 24.94, delay: null }],
      at: '2025-01-01T08:47:00Z',
    };
    const received = nextInvocation(client, 'vehicles');
    expect(server.hub.sendToGroup('profile:city', encodeInvocation('Vehicles', [update, 2]))).toBe(1);
    expect(await received).toEqual([update, 2]);
    expect(server.hub.sendToGroup('profile:other', encodeInvocation('vehicles', [update]))).toBe(0);
  });

  it('returns hub method results and errors as completions', async () => {
    const server = await startHub({
      methods: {
        Echo: (_connection, args) => ({ echoed: args }),
        whoAmI: async (connection) => {
          await sleep(5);
          return connection.user;
        },
        nothing: () => undefined,
        Fail: () => {
          throw new Error('profile not found');
        },
        failLater: async () => Promise.reject(new Error('later')),
      },
    });
    const client = await connectClient(server.hubUrl, { protocol, token: tokenOf('bob') });

    await expect(client.invoke('echo', 1, 'two', [3])).resolves.toEqual({ echoed: [1, 'two', [3]] });
    await expect(client.invoke('WHOAMI')).resolves.toBe('bob');
    await expect(client.invoke('nothing')).resolves.toBeFalsy();
    await expect(client.invoke('fail')).rejects.toThrow(/profile not found/);
    await expect(client.invoke('failLater')).rejects.toThrow(/later/);
    await expect(client.invoke('noSuchMethod')).rejects.toThrow(/noSuchMethod' does not exist/);
    await expect(client.send('echo', 'fire and forget')).resolves.toBeUndefined();
    await expect(client.invoke('echo', 'still connected')).resolves.toEqual({ echoed: ['still connected'] });
    expect(server.hub.stats().rejected.unknown_method).toBe(1);
    expect(server.hub.stats().invocations).toBe(8);
  });

  it('refuses a start without a valid token (401) and a query validateQuery rejects (400)', async () => {
    const server = await startHub({
      validateQuery: (query) => (query['profile'] === 'nope' ? `unknown profile 'nope'` : undefined),
    });
    await expect(buildClient(server.hubUrl, { protocol }).start()).rejects.toThrow(/401/);
    await expect(buildClient(server.hubUrl, { protocol, token: 'forged' }).start()).rejects.toThrow(/401/);
    await expect(
      buildClient(`${server.hubUrl}?profile=nope`, { protocol, token: tokenOf('alice') }).start(),
    ).rejects.toThrow(/unknown profile 'nope'/);
    expect(server.hub.stats().rejected).toMatchObject({ unauthorized: 2, invalid_query: 1 });
    expect(server.hub.connections.size).toBe(0);
  });

  it('keeps an idle connection alive with pings past the client server timeout', async () => {
    const server = await startHub({ pingIntervalMs: 50 });
    const client = await connectClient(server.hubUrl, {
      protocol,
      token: tokenOf('alice'),
      serverTimeoutMs: 300,
      keepAliveMs: 100,
    });
    let closedWith: Error | undefined | 'not closed' = 'not closed';
    client.onclose((error) => (closedWith = error));
    await sleep(900);
    expect(closedWith).toBe('not closed');
    expect(client.state).toBe(HubConnectionState.Connected);
    expect(server.hub.stats().messagesReceived).toBeGreaterThan(2); // the client's own pings
  });

  it('pings only a connection the server has sent nothing for a while, as ASP.NET Core does', async () => {
    // Keep-alive rounds every 200 ms: a connection written nothing for a whole round gets a ping.
    const server = await startHub({ pingIntervalMs: 400 });
    const raw = await openRawSocket(server);
    raw.socket.send('{"protocol":"json","version":1}\u001e');
    await waitFor(() => server.hub.connections.size === 1, 2_000, 'the handshake');
    const connection = [...server.hub.connections.values()][0]!;
    const pings = () => raw.received.filter((m) => m.data.toString() === '{"type":6}\u001e').length;
    const update = encodeInvocation('update', [{ sequence: 1 }]);
    // Broadcasts every 20 ms for 1.2 s, three rounds' worth: no pings among them.
    const sent = raw.received.length;
    for (let i = 0; i < 60; i++) {
      expect(connection.send(update)).toBe(true);
      await sleep(20);
    }
    await waitFor(() => raw.received.length >= sent + 60, 2_000, 'the updates');
    expect(pings()).toBe(0);
    // Quiet from now on: pings keep it alive again.
    await waitFor(() => pings() >= 2, 3_000, 'two pings once the broadcasts stop');
  });

  it('reconnects with a new connection id after close(reason, true) and after a dropped socket', async () => {
    const disconnects: string[] = [];
    const server = await startHub({ onDisconnected: (_c, reason) => disconnects.push(reason) });
    const client = await connectClient(server.hubUrl, {
      protocol,
      token: tokenOf('alice'),
      reconnectDelays: [0, 100],
    });
    const reconnected: (string | undefined)[] = [];
    client.onreconnected((id) => reconnected.push(id));

    const first = client.connectionId!;
    server.hub.connections.get(first)!.close('moving you', true);
    await waitFor(() => reconnected.length === 1, 3_000, 'the first reconnect');
    const second = client.connectionId!;
    expect(second).not.toBe(first);
    expect(reconnected[0]).toBe(second);
    expect(server.hub.connections.has(first)).toBe(false);
    expect(server.hub.connections.get(second)?.user).toBe('alice');

    const serverSide = server.hub.connections.get(second) as unknown as { socket: WebSocket };
    serverSide.socket.terminate();
    await waitFor(() => reconnected.length === 2, 3_000, 'the second reconnect');
    expect(client.connectionId).not.toBe(second);
    expect(client.state).toBe(HubConnectionState.Connected);
    expect(disconnects).toEqual(['moving you', 'socket closed (1006)']);
  });

  it('drops group membership on disconnect and sends to members only', async () => {
    const server = await startHub();
    const alice = await connectClient(server.hubUrl, { protocol, token: tokenOf('alice') });
    const bob = await connectClient(server.hubUrl, { protocol, token: tokenOf('bob') });
    const aliceSide = server.hub.connections.get(alice.connectionId!)!;
    const bobSide = server.hub.connections.get(bob.connectionId!)!;
    server.hub.addToGroup(aliceSide, 'trams');
    server.hub.addToGroup(bobSide, 'trams');
    server.hub.addToGroup(bobSide, 'buses');

    const bobGotBus = nextInvocation(bob, 'update');
    let aliceGotBus = false;
    alice.on('update', () => (aliceGotBus = true));
    expect(server.hub.sendToGroup('buses', encodeInvocation('update', ['bus']))).toBe(1);
    expect(await bobGotBus).toEqual(['bus']);

    server.hub.removeFromGroup(aliceSide, 'trams');
    expect([...server.hub.group('trams')]).toEqual([bobSide]);
    await bob.stop();
    await waitFor(() => server.hub.connections.size === 1, 2_000, 'bob to leave');
    expect(server.hub.group('trams').size).toBe(0);
    expect(server.hub.group('buses').size).toBe(0);
    expect(server.hub.stats().groups).toBe(0);
    expect(server.hub.sendToAll(encodeInvocation('update', ['all']))).toBe(1);
    await sleep(50);
    expect(aliceGotBus).toBe(true); // the broadcast to all, not the group send
  });
});

describe('fan-out and backpressure', () => {
  it('sends one encoded message to a group of mixed-protocol clients', async () => {
    const server = await startHub({
      onConnected: (connection) => server.hub.addToGroup(connection, 'all-trams'),
    });
    const clients = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        connectClient(server.hubUrl, {
          protocol: i % 2 === 0 ? 'json' : 'messagepack',
          token: tokenOf(`user${i}`),
        }),
      ),
    );
    const vehicles = Array.from({ length: 2_000 }, (_, i) => ({
      id: `tram-${i}`,
      lat: 60 + i / 1e4,
      lon: 24.9,
    }));
    const received = clients.map((client) => nextInvocation(client, 'vehicles'));
    expect(server.hub.sendToGroup('all-trams', encodeInvocation('vehicles', [vehicles]))).toBe(20);
    for (const args of await Promise.all(received)) expect(args).toEqual([vehicles]);
    expect(server.hub.stats().connectionsByProtocol).toEqual({ json: 10, messagepack: 10 });
  });

  it('writes broadcast frames of every WebSocket length class that the official client reads, between pings and completions', async () => {
    // Broadcasts go to the socket as whole frames built once per message, beside ws's own sends (pings,
    // completions): both protocols must read every length class, in order.
    const server = await startHub({
      pingIntervalMs: 20,
      methods: { echo: (_connection, args) => args[0] },
      onConnected: (connection) => server.hub.addToGroup(connection, 'everyone'),
    });
    const clients = await Promise.all(
      (['json', 'messagepack'] as const).map((protocol, i) =>
        connectClient(server.hubUrl, { protocol, token: tokenOf(`user${i}`) }),
      ),
    );
    const texts = ['a', 'b'.repeat(100), 'c'.repeat(60_000), 'd'.repeat(70_000)]; // 7-, 16-, 16-, 64-bit lengths
    for (const text of texts) {
      const received = clients.map((client) => nextInvocation(client, 'text'));
      expect(server.hub.sendToGroup('everyone', encodeInvocation('text', [text]))).toBe(2);
      for (const args of await Promise.all(received)) expect(args).toEqual([text]);
      for (const client of clients) expect(await client.invoke('echo', text.length)).toBe(text.length);
      const direct = clients.map((client) => nextInvocation(client, 'direct'));
      for (const connection of server.hub.connections.values()) {
        expect(connection.send(encodeInvocation('direct', [text.slice(0, 10)]))).toBe(true);
      }
      for (const args of await Promise.all(direct)) expect(args).toEqual([text.slice(0, 10)]);
      // A message that is not from encodeInvocation goes through ws's own framing, in order with the rest.
      const encoded = encodeInvocation('plain', [text]);
      const plain = { json: encoded.json, messagepack: encoded.messagepack };
      const received2 = clients.map((client) => nextInvocation(client, 'plain'));
      expect(server.hub.sendToGroup('everyone', plain)).toBe(2);
      for (const args of await Promise.all(received2)) expect(args).toEqual([text]);
    }
    await sleep(60); // a few pings in between
    expect(clients.every((client) => client.state === HubConnectionState.Connected)).toBe(true);
  });

  it('reports queued bytes in bufferedAmount when a client stops reading', async () => {
    const server = await startHub();
    const raw = await openRawSocket(server);
    raw.socket.send('{"protocol":"messagepack","version":1}\u001e');
    await waitFor(() => server.hub.connections.size === 1, 2_000, 'the handshake');
    const connection = [...server.hub.connections.values()][0]!;
    raw.socket.pause();
    const chunk = encodeInvocation('blob', ['x'.repeat(512 * 1024)]);
    for (let i = 0; i < 64; i++) connection.send(chunk);
    expect(connection.bufferedAmount).toBeGreaterThan(1024 * 1024);
    raw.socket.resume();
    await waitFor(() => connection.bufferedAmount === 0, 5_000, 'the queue to drain');
  });

  it('connects clients that skip negotiation, authenticating the upgrade', async () => {
    const server = await startHub();
    const client = await connectClient(`${server.hubUrl}?profile=regional`, {
      token: tokenOf('erin'),
      skipNegotiation: true,
    });
    expect(client.connectionId).toBeNull(); // no negotiate, no id for the client to know
    const connection = [...server.hub.connections.values()][0]!;
    expect(connection.user).toBe('erin');
    expect({ ...connection.query }).toEqual({ profile: 'regional' });
    await expect(
      buildClient(server.hubUrl, { token: 'forged', skipNegotiation: true }).start(),
    ).rejects.toThrow();
  });

  it('ignores group changes for connections that are not open, and validates options', async () => {
    const server = await startHub();
    const client = await connectClient(server.hubUrl, { token: tokenOf('alice') });
    const connection = server.hub.connections.get(client.connectionId!)!;
    await client.stop();
    await waitFor(() => !connection.open && server.hub.connections.size === 0, 2_000, 'the disconnect');
    server.hub.addToGroup(connection, 'ghosts');
    expect(server.hub.group('ghosts').size).toBe(0);
    expect(connection.send(encodeInvocation('x', []))).toBe(false);
    expect(() => server.hub.register(server.app)).toThrow(/INVALID_ARGUMENT/);
    expect(() => createSignalRHub({ path: 'hubs', authenticate: () => 'x' })).toThrow(/path/);
    expect(() => createSignalRHub({ path: '/h', authenticate: () => 'x', pingIntervalMs: 0 })).toThrow(
      /pingIntervalMs/,
    );
  });
});

describe('limits and shutdown', () => {
  it('enforces maxConnections, counting negotiated but unconnected tokens', async () => {
    const server = await startHub({ maxConnections: 2 });
    await connectClient(server.hubUrl, { token: tokenOf('alice') });
    expect((await negotiate(server.hubUrl, tokenOf('bob'))).status).toBe(200); // holds the second place
    expect((await negotiate(server.hubUrl, tokenOf('carol'))).status).toBe(503);
    await expect(buildClient(server.hubUrl, { token: tokenOf('dave') }).start()).rejects.toThrow(/503/);
    expect(server.hub.stats()).toMatchObject({ connections: 1, pending: 1, rejected: { capacity: 2 } });
  });

  it('expires negotiated tokens that never connect, and answers 404 for unknown ones', async () => {
    const server = await startHub({ negotiateTtlMs: 40 });
    const { body } = await negotiate(server.hubUrl, tokenOf('alice'));
    expect(server.hub.stats().pending).toBe(1);
    await waitFor(() => server.hub.stats().pending === 0, 1_000, 'the token to expire');
    const status = await upgradeStatus(
      `${server.hubUrl}?id=${(body as { connectionToken: string }).connectionToken}`,
    );
    expect(status).toBe(404);
    expect(await upgradeStatus(`${server.hubUrl}?id=made-up`)).toBe(404);
    expect(await upgradeStatus(`${server.origin}/somewhere/else`)).toBe(404);
    expect(server.hub.stats().rejected.unknown_token).toBe(2);
  });

  it('answers CORS preflights and negotiates for allowed origins only', async () => {
    const server = await startHub({ allowedOrigins: ['https://map.example'] });
    const preflight = await fetch(`${server.hubUrl}/negotiate`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://map.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'x-requested-with, x-signalr-user-agent, authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://map.example');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const allowed = await fetch(`${server.hubUrl}/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { origin: 'https://map.example', authorization: `Bearer ${tokenOf('alice')}` },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://map.example');
    const other = await fetch(`${server.hubUrl}/negotiate?negotiateVersion=1`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', authorization: `Bearer ${tokenOf('alice')}` },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    // WebSocket upgrades: another origin is refused; the hub's own origin (a page it serves) is always allowed.
    const socketUrl = async () => {
      const { body } = await negotiate(server.hubUrl, tokenOf('alice'));
      return `${server.hubUrl}?id=${(body as { connectionToken: string }).connectionToken}`;
    };
    const auth = { authorization: `Bearer ${tokenOf('alice')}` };
    expect(await upgradeStatus(await socketUrl(), { ...auth, origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(await socketUrl(), { ...auth, origin: server.origin })).toBe(101);
  });

  it('close() sends Close with allowReconnect, refuses newcomers and resolves once sockets are closed', async () => {
    const server = await startHub();
    const raw = await openRawSocket(server);
    raw.socket.send('{"protocol":"json","version":1}\u001e');
    await waitFor(() => raw.received.length === 1, 2_000, 'the handshake answer');
    const client = await connectClient(server.hubUrl, { token: tokenOf('alice'), reconnectDelays: [0, 100] });
    let reconnecting = false;
    client.onreconnecting(() => (reconnecting = true));

    await server.hub.close('deploying');

    expect(raw.texts()[1]).toBe('{"type":7,"error":"deploying","allowReconnect":true}\u001e');
    expect((await raw.closedPromise).code).toBe(1000);
    expect(server.hub.connections.size).toBe(0);
    await waitFor(() => reconnecting, 2_000, 'the client to start reconnecting');
    expect((await negotiate(server.hubUrl, tokenOf('bob'))).status).toBe(503);
  });

  it('closes a client that sends nothing within clientTimeoutMs', async () => {
    const reasons: string[] = [];
    const server = await startHub({
      clientTimeoutMs: 150,
      onDisconnected: (_c, reason) => reasons.push(reason),
    });
    const raw = await openRawSocket(server);
    raw.socket.send('{"protocol":"json","version":1}\u001e');
    const closed = await raw.closedPromise;
    expect(closed.code).toBe(1000);
    expect(raw.texts()).toContain(
      '{"type":7,"error":"Server timeout elapsed without receiving a message from the client.","allowReconnect":true}\u001e',
    );
    await waitFor(() => reasons.length === 1, 1_000, 'onDisconnected');
    expect(reasons).toEqual(['client timeout']);
    expect(server.hub.stats().clientTimeouts).toBe(1);
  });
});

/** The HTTP status a WebSocket upgrade to `url` is answered with. */
async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const { default: WebSocketClient } = await import('ws');
  const socket = new WebSocketClient(url.replace('http', 'ws'), { headers });
  new RawSocket(socket); // tracked for cleanup
  return new Promise((resolve) => {
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('open', () => resolve(101));
  });
}
