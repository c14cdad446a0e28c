// The hub against raw sockets sending what no official client would: garbage handshakes, messages before the
// handshake, oversized and invalid frames, broken MessagePack. The hub must answer as the protocol says, count
// the refusal, and keep serving everyone else.

import { connect, type Socket } from 'node:net';
import { Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeAll,
  connectClient,
  negotiate,
  openRawSocket,
  startHub,
  tokenOf,
  track,
  waitFor,
  type RawSocket,
  type TestServer,
} from '../test/hub-fixtures.js';

afterEach(closeAll);

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const RS = '\u001e';

/** Decodes a binary frame of VarInt-prefixed MessagePack messages (single-byte prefixes suffice here). */
function decodeMessagePack(frame: Buffer): unknown[] {
  const messages: unknown[] = [];
  for (let offset = 0; offset < frame.length;) {
    const size = frame[offset]!;
    messages.push(unpackr.unpack(frame.subarray(offset + 1, offset + 1 + size)));
    offset += 1 + size;
  }
  return messages;
}

function messagePackMessage(bytes: number[]): Buffer {
  return Buffer.from([bytes.length, ...bytes]);
}

async function stillServes(server: TestServer): Promise<void> {
  const client = await connectClient(server.hubUrl, { token: tokenOf('alice') });
  await expect(client.invoke('ping')).resolves.toBe('pong');
  await client.stop();
}

async function handshaken(server: TestServer, protocol: 'json' | 'messagepack'): Promise<RawSocket> {
  const raw = await openRawSocket(server);
  raw.socket.send(`{"protocol":"${protocol}","version":1}${RS}`);
  await waitFor(() => raw.received.length === 1, 2_000, 'the handshake answer');
  expect(raw.received[0]!.data.toString()).toBe(`{}${RS}`);
  expect(raw.received[0]!.binary).toBe(protocol === 'messagepack');
  return raw;
}

const methods = {
  ping: () => 'pong',
  add: (_c: unknown, args: readonly unknown[]) => Number(args[0]) + Number(args[1]),
};

describe('handshake', () => {
  it.each([
    ['garbage', `hello${RS}`, 'The handshake request is not valid JSON.'],
    ['an unknown protocol', `{"protocol":"xml","version":1}${RS}`, "The protocol 'xml' is not supported."],
    [
      'an unsupported version',
      `{"protocol":"json","version":3}${RS}`,
      "The server does not support version 3 of the 'json' protocol.",
    ],
    [
      'no record separator',
      '{"protocol":"json","version":1}',
      'The handshake request must end with the record separator 0x1E.',
    ],
    [
      'a message before the handshake',
      `{"type":6}${RS}`,
      'The handshake request must be {"protocol": string, "version": integer}.',
    ],
  ])('answers %s with a handshake error and close 1002', async (_case, handshake, error) => {
    const server = await startHub({ methods });
    const raw = await openRawSocket(server);
    raw.socket.send(handshake);
    const closed = await raw.closedPromise;
    expect(closed.code).toBe(1002);
    expect(raw.texts()).toEqual([`${JSON.stringify({ error })}${RS}`]);
    expect(server.hub.stats()).toMatchObject({
      handshakeFailures: 1,
      connections: 0,
      connected: 0,
      pending: 0,
    });
    await stillServes(server);
  });

  it('closes a socket that sends no handshake within handshakeTimeoutMs', async () => {
    const server = await startHub({ handshakeTimeoutMs: 100 });
    const raw = await openRawSocket(server);
    expect((await raw.closedPromise).code).toBe(1002);
    expect(raw.texts()[0]).toContain('No handshake request was received in time.');
    expect(server.hub.stats().handshakeFailures).toBe(1);
  });

  it('parses messages sent in the handshake frame, and several JSON messages per frame', async () => {
    const server = await startHub({ methods });
    const raw = await openRawSocket(server);
    raw.socket.send(
      `{"protocol":"json","version":1}${RS}{"type":1,"invocationId":"1","target":"add","arguments":[1,2]}${RS}`,
    );
    await waitFor(() => raw.received.length === 2, 2_000, 'the completion');
    expect(raw.texts()).toEqual([`{}${RS}`, `{"type":3,"invocationId":"1","result":3}${RS}`]);
    raw.socket.send(
      `{"type":1,"invocationId":"2","target":"ADD","arguments":[2,2]}${RS}{"type":6}${RS}` +
        `{"type":5,"invocationId":"2"}${RS}{"type":1,"invocationId":"3","target":"ping","arguments":[]}${RS}`,
    );
    await waitFor(() => raw.received.length === 4, 2_000, 'two more completions');
    expect(raw.texts().slice(2)).toEqual([
      `{"type":3,"invocationId":"2","result":4}${RS}`,
      `{"type":3,"invocationId":"3","result":"pong"}${RS}`,
    ]);
    expect(server.hub.stats()).toMatchObject({ messagesReceived: 5, invocations: 3 });
  });
});

describe('messages after the handshake', () => {
  it.each([
    ['invalid JSON', `{"type":1,${RS}`, 'invalid_json'],
    ['a missing record separator', '{"type":6}', 'incomplete_message'],
    ['an invocation without target', `{"type":1,"invocationId":"1","arguments":[]}${RS}`, 'invalid_message'],
    ['arguments that are not an array', `{"type":1,"target":"ping","arguments":{}}${RS}`, 'invalid_message'],
    ['a message that is not an object', `[1,2,3]${RS}`, 'invalid_message'],
  ])('closes a JSON connection that sends %s, with a Close error', async (_case, frame, reason) => {
    const server = await startHub({ methods });
    const raw = await handshaken(server, 'json');
    raw.socket.send(frame);
    expect((await raw.closedPromise).code).toBe(1002);
    const close = JSON.parse(raw.texts()[1]!.slice(0, -1)) as {
      type: number;
      error: string;
      allowReconnect: boolean;
    };
    expect(close).toMatchObject({ type: 7, allowReconnect: false });
    expect(close.error).toMatch(/^Connection closed with an error/);
    expect(server.hub.stats().rejected).toEqual({ [reason]: 1 });
    await stillServes(server);
  });

  it.each([
    ['truncated MessagePack', messagePackMessage([0x93, 0x01, 0x02]), 'invalid_messagepack'],
    [
      'a partial message (length prefix beyond the frame)',
      Buffer.from([0x0a, 0x91, 0x06]),
      'incomplete_message',
    ],
    ['a cut-off length prefix', Buffer.from([0x80]), 'incomplete_message'],
    ['a value that is not an array', messagePackMessage([0xc1]), 'invalid_message'],
    [
      'an invocation with 4 elements',
      messagePackMessage([0x94, 0x01, 0x80, 0xc0, 0xa1, 0x78]),
      'invalid_message',
    ],
  ])('closes a MessagePack connection that sends %s', async (_case, frame, reason) => {
    const server = await startHub({ methods });
    const raw = await handshaken(server, 'messagepack');
    raw.socket.send(frame);
    expect((await raw.closedPromise).code).toBe(1002);
    const [close] = decodeMessagePack(raw.received[1]!.data) as [unknown[]];
    expect(close[0]).toBe(7);
    expect(close[1]).toMatch(/^Connection closed with an error/);
    expect(close[2]).toBe(false);
    expect(server.hub.stats().rejected).toEqual({ [reason]: 1 });
    await stillServes(server);
  });

  it('answers MessagePack invocations, ignores unknown message types and keeps the connection', async () => {
    const server = await startHub({ methods });
    const raw = await handshaken(server, 'messagepack');
    // [99] (a future type), then [1, {}, "7", "add", [40, 2]]
    raw.socket.send(
      Buffer.concat([
        messagePackMessage([0x91, 99]),
        messagePackMessage([0x95, 0x01, 0x80, 0xa1, 0x37, 0xa3, 0x61, 0x64, 0x64, 0x92, 40, 2]),
      ]),
    );
    await waitFor(() => raw.received.length === 2, 2_000, 'the completion');
    expect(decodeMessagePack(raw.received[1]!.data)).toEqual([[3, {}, '7', 3, 42]]);
    expect(server.hub.stats().rejected).toEqual({ unknown_message_type: 1 });
    expect(server.hub.connections.size).toBe(1);
  });

  it('closes a connection whose frame exceeds maxMessageBytes with 1009', async () => {
    const server = await startHub({ methods, maxMessageBytes: 1024 });
    const raw = await handshaken(server, 'json');
    raw.socket.send(`{"type":1,"target":"ping","arguments":["${'x'.repeat(2048)}"]}${RS}`);
    expect((await raw.closedPromise).code).toBe(1009);
    await waitFor(() => server.hub.connections.size === 0, 1_000, 'the connection to go');
    expect(server.hub.stats().rejected).toEqual({ message_too_large: 1 });
    await stillServes(server);
  });

  it('survives an invalid WebSocket frame (reserved opcode) on a raw TCP socket', async () => {
    const server = await startHub({ methods });
    const { body } = await negotiate(server.hubUrl, tokenOf('mallory'));
    const token = (body as { connectionToken: string }).connectionToken;
    const port = Number(new URL(server.origin).port);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
    track(() => void socket.destroy());
    socket.on('error', () => {});
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.write(
      `GET /hubs/vehicles?id=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
        `Authorization: Bearer ${tokenOf('mallory')}\r\n\r\n`,
    );
    await waitFor(() => answer.includes('\r\n\r\n'), 2_000, 'the 101');
    expect(answer.startsWith('HTTP/1.1 101')).toBe(true);
    socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4])); // FIN + opcode 3 (reserved), masked, empty
    await new Promise((resolve) => socket.once('close', resolve));
    expect(server.hub.stats().rejected).toEqual({ invalid_frame: 1 });
    await stillServes(server);
  });
});
