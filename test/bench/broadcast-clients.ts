// The subscribers of the "broadcast" benchmark, in a process of their own (started by broadcast.bench.ts), so
// their work runs beside the broadcaster's rather than in the process that also plays the composer. Settings come
// from the environment; it prints JSON lines: {"ready":n} once connected, then {"samples":[sequence, epochMs, …],
// "kind":…} batches of receipts, and {"errors":n} at the end.
//
// SignalR: the first BENCH_OFFICIAL_CLIENTS (default 20) subscribers are the official @microsoft/signalr client
// (JSON and MessagePack alternating, one per profile), parsing every update; the others speak the protocol
// themselves (negotiate, a WebSocket over a plain TCP socket, handshake, pings), receive every byte of every
// update and read only its sequence. gRPC: the first
// BENCH_OFFICIAL_GRPC_STREAMS (default 100) are @grpc/grpc-js streams, the others plain HTTP/2 requests that
// read each message's sequence; 50 streams per connection either way. Cheap clients, because on this 2-core
// machine they share the CPU with the broadcaster; real clients are elsewhere.

import * as grpc from '@grpc/grpc-js';
import { HubConnectionBuilder, LogLevel, type HubConnection } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { loadTransitFusionProto } from '@transit-fusion/grpc-api';
import http2 from 'node:http2';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

interface Box {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

// Declared before the top-level awaits below, which run before later declarations are initialised.
const JSON_SEQUENCE = /"sequence":(\d+)/;
const MSGPACK_SEQUENCE_KEY = Buffer.from([0xa8, ...Buffer.from('sequence')]);
/** How much of each update a protocol-level client keeps: the sequence is in its first bytes. */
const HEAD_BYTES = 128;
/** The one buffer every protocol-level SignalR socket reads into (see lightClient). */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** The first bytes of a message that arrives in pieces; the rest is only counted, never copied. */
class MessageHead {
  readonly #bytes: Buffer;
  #have = 0;

  constructor(capacity: number) {
    this.#bytes = Buffer.alloc(capacity);
  }

  clear(): void {
    this.#have = 0;
  }

  /** Keeps what still fits of `count` bytes of `from` at `at`. */
  add(from: Uint8Array, at: number, count: number): void {
    const copy = Math.min(count, this.#bytes.length - this.#have);
    if (copy > 0) this.#bytes.set(from.subarray(at, at + copy), this.#have);
    this.#have += copy;
  }

  bytes(): Buffer {
    return this.#bytes.subarray(0, this.#have);
  }
}

const kind = process.env['BENCH_KIND'] as 'signalr' | 'grpc';
const count = Number(process.env['BENCH_COUNT']);
/** How many subscribers are the official client (one per profile, JSON and MessagePack alternating). */
const OFFICIAL = Number(process.env['BENCH_OFFICIAL_CLIENTS'] ?? 20);
/** How many gRPC subscribers use @grpc/grpc-js (in channels of 50); the others speak HTTP/2 themselves. */
const OFFICIAL_GRPC = Number(process.env['BENCH_OFFICIAL_GRPC_STREAMS'] ?? 100);
const token = process.env['BENCH_TOKEN']!;
const profiles = JSON.parse(process.env['BENCH_PROFILES']!) as Box[];
const now = () => performance.timeOrigin + performance.now();

// Receipts by client: the official clients parse every update, so their receipts can lag behind the light ones'.
const samples: number[] = [];
const officialSamples: number[] = [];
let errors = 0;
const received = (sequence: number) => samples.push(sequence, now());
const receivedParsed = (sequence: number) => officialSamples.push(sequence, now());
const flush = () => {
  if (samples.length > 0) console.log(JSON.stringify({ kind, samples: samples.splice(0) }));
  if (officialSamples.length > 0)
    console.log(JSON.stringify({ kind, official: true, samples: officialSamples.splice(0) }));
};

const official: HubConnection[] = [];
const sockets: { destroy(): void }[] = [];
const streams: grpc.ClientReadableStream<unknown>[] = [];
const channels: grpc.Client[] = [];
const sessions: http2.ClientHttp2Session[] = [];
const rawStreams: http2.ClientHttp2Stream[] = [];
type SubscribeCall = (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<number>;

if (kind === 'signalr') {
  const hubUrl = process.env['BENCH_HUB_URL']!;
  for (let i = 0; i < count; i += 50) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      const b = profiles[j % profiles.length]!;
      const query = `bbox=${b.minLon},${b.minLat},${b.maxLon},${b.maxLat}`;
      const protocol = j % 2 === 1 ? 'messagepack' : 'json';
      if (j < OFFICIAL) {
        let builder = new HubConnectionBuilder()
          .withUrl(`${hubUrl}?${query}`, { accessTokenFactory: () => token })
          .configureLogging(LogLevel.None);
        if (protocol === 'messagepack') builder = builder.withHubProtocol(new MessagePackHubProtocol());
        const connection = builder.build();
        connection.on('vehicles', (update: { sequence: number }) => receivedParsed(Number(update.sequence)));
        connection.onclose(() => errors++);
        official.push(connection);
        batch.push(connection.start());
      } else {
        batch.push(lightClient(hubUrl, query, protocol).then((s) => sockets.push(s)));
      }
    }
    await Promise.all(batch);
  }
} else {
  const target = process.env['BENCH_GRPC_TARGET']!;
  const { VehicleFeed } = loadTransitFusionProto();
  const SequenceOnlyFeed = grpc.makeGenericClientConstructor(
    {
      Subscribe: {
        ...VehicleFeed.service['Subscribe']!,
        responseDeserialize: (bytes: Buffer) => readSequence(bytes),
      },
    },
    'VehicleFeed',
  );
  const serializeProfile = VehicleFeed.service['Subscribe']!.requestSerialize;
  // Windows of 4 MB, as gRPC's C core, Java and Go clients reach by BDP probing; grpc-js keeps HTTP/2's
  // 64 KB unless told. A local subchannel pool each, so channels are separate connections. 50 streams each.
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const official = Math.min(count, OFFICIAL_GRPC);
  for (let first = 0; first < official; first += 50) {
    const channel = new SequenceOnlyFeed(target, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc-node.flow_control_window': 4 * 1024 * 1024,
    });
    channels.push(channel);
    const subscribe = (channel as unknown as Record<string, SubscribeCall>)['Subscribe']!.bind(channel);
    for (let i = first; i < Math.min(official, first + 50); i++) {
      const stream = subscribe({ boundingBox: profiles[i % profiles.length] }, metadata);
      stream.on('data', received);
      stream.on('error', (error: grpc.ServiceError) => {
        if (error.code !== grpc.status.CANCELLED) errors++;
      });
      streams.push(stream);
    }
  }
  for (let first = official; first < count; first += 50) {
    const session = http2.connect(`http://${target}`, { settings: { initialWindowSize: 4 * 1024 * 1024 } });
    session.on('error', () => errors++);
    session.on('connect', () => session.setLocalWindowSize(4 * 1024 * 1024));
    sessions.push(session);
    for (let i = first; i < Math.min(count, first + 50); i++) {
      const profile = serializeProfile({ boundingBox: profiles[i % profiles.length] });
      rawStreams.push(rawSubscribe(session, profile));
    }
  }
}

console.log(JSON.stringify({ ready: count }));
const flusher = setInterval(flush, 250);
process.on('SIGTERM', () => {
  clearInterval(flusher);
  flush();
  console.log(JSON.stringify({ errors }));
  for (const s of streams) s.cancel();
  for (const c of channels) c.close();
  for (const s of rawStreams) s.close(http2.constants.NGHTTP2_CANCEL);
  for (const s of sessions) s.close();
  for (const s of sockets) s.destroy();
  void Promise.allSettled(official.map((c) => c.stop())).then(() => process.exit(0));
});

/**
 * A SignalR client at the protocol level: negotiate, then a WebSocket of its own making over a plain TCP socket
 * (RFC 6455: the upgrade with its accept key checked, masked client frames, the server's frames parsed,
 * pings answered), the handshake, and a ping every 15 s. Of each update it keeps the first bytes, enough for
 * the sequence, and counts the rest; the receipt is taken when the message's last byte arrives. Every socket
 * reads into one shared buffer (`onread`), so a read allocates nothing: with `ws`, the 64 KB buffer of each of
 * a thousand reads a tick made this process collect garbage once a tick, on the cores the broadcaster uses.
 */
async function lightClient(
  hubUrl: string,
  query: string,
  protocol: 'json' | 'messagepack',
): Promise<{ destroy(): void }> {
  const negotiated = await fetch(`${hubUrl}/negotiate?negotiateVersion=1&${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!negotiated.ok) throw new Error(`negotiate: ${negotiated.status}`);
  const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
  const url = new URL(`${hubUrl}?id=${encodeURIComponent(connectionToken)}&${query}`);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

  let response: string | undefined = ''; // the upgrade answer so far; undefined once it is complete
  let upgraded!: () => void;
  const upgrade = new Promise<void>((resolve) => (upgraded = resolve));
  let handshaken = false;
  let answered!: () => void;
  const handshake = new Promise<void>((resolve) => (answered = resolve));
  const frames = frameReader((opcode, head) => {
    if (opcode === 0x9) return send(0xa, head); // ping → pong (control payloads are ≤ 125 bytes, all in head)
    if (opcode === 0x8) return socket.destroy();
    if (!handshaken) {
      handshaken = true;
      return answered();
    }
    const sequence = opcode === 0x2 ? msgpackSequence(head) : jsonSequence(head);
    if (sequence !== undefined) received(sequence);
  });
  const socket = net.connect({
    host: url.hostname,
    port: Number(url.port),
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buffer: Uint8Array) => {
        let from = 0;
        if (response !== undefined) {
          response += Buffer.from(buffer.subarray(0, n)).toString('latin1');
          const end = response.indexOf('\r\n\r\n');
          if (end < 0) return true;
          if (!upgradeAccepted(response.slice(0, end), accept)) {
            errors++;
            socket.destroy(new Error(`upgrade refused: ${response.split('\r\n')[0]}`));
            return false;
          }
          from = n - (response.length - end - 4); // frames may follow the answer in the same read
          response = undefined;
          upgraded();
        }
        try {
          frames(buffer, from, n);
        } catch (error) {
          socket.destroy(error as Error); // counted by the 'close' handler
          return false;
        }
        return true; // false would pause reading
      },
    },
  });
  socket.setNoDelay(true);
  // What this client sends (the handshake, pings, pongs) fits the 7-bit length of a frame header.
  const send = (opcode: number, payload: Uint8Array) => {
    if (payload.length > 125) throw new Error(`a ${payload.length}-byte frame needs an extended length`);
    const mask = randomBytes(4);
    const header = Buffer.from([0x80 | opcode, 0x80 | payload.length, ...mask]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    socket.write(Buffer.concat([header, body]));
  };
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
      `Authorization: Bearer ${token}\r\n\r\n`,
  );
  await Promise.race([upgrade, new Promise((_, reject) => socket.once('error', reject))]);
  socket.on('error', () => {});
  socket.on('close', () => errors++);
  send(0x1, Buffer.from(`{"protocol":"${protocol}","version":1}\u001e`));
  await handshake;
  // The hub drops clients that say nothing for 30 s; the official client pings every 15 s, and so does this.
  const ping =
    protocol === 'json' ? [0x1, Buffer.from('{"type":6}\u001e')] : [0x2, Buffer.from([0x02, 0x91, 0x06])];
  const pinger = setInterval(() => send(ping[0] as number, ping[1] as Buffer), 15_000);
  socket.on('close', () => clearInterval(pinger));
  return socket;
}

/**
 * Parses a server's WebSocket frames as bytes arrive (unmasked, per RFC 6455), calling `message` with each
 * message's opcode and its first HEAD_BYTES bytes once its last byte has arrived. Control frames (close, ping,
 * pong: at most 125 bytes, never fragmented) may come between a fragmented message's frames, so they collect
 * apart from it.
 */
function frameReader(message: (opcode: number, head: Buffer) => void) {
  const header = Buffer.alloc(10);
  let headerHave = 0;
  let remaining = -1; // payload bytes still to come in this frame; -1: reading a header
  let control = false;
  let fin = false;
  let dataOpcode = 0;
  let controlOpcode = 0;
  const dataHead = new MessageHead(HEAD_BYTES);
  const controlHead = new MessageHead(125);
  const headerLength = () => {
    if (headerHave < 2) return 2;
    const length7 = header[1]! & 0x7f;
    return length7 === 126 ? 4 : length7 === 127 ? 10 : 2;
  };
  return (bytes: Uint8Array, from: number, to: number) => {
    let at = from;
    while (at < to) {
      if (remaining < 0) {
        while (at < to && headerHave < headerLength()) header[headerHave++] = bytes[at++]!;
        if (headerHave < headerLength()) return;
        if (header[1]! & 0x80) throw new Error('a server frame was masked');
        const length7 = header[1]! & 0x7f;
        remaining =
          length7 === 126
            ? header.readUInt16BE(2)
            : length7 === 127
              ? Number(header.readBigUInt64BE(2))
              : length7;
        const opcode = header[0]! & 0x0f;
        fin = (header[0]! & 0x80) !== 0;
        control = opcode >= 0x8;
        if (control) {
          controlOpcode = opcode;
          controlHead.clear();
        } else if (opcode !== 0) {
          dataOpcode = opcode; // a new message; 0 continues the current one
          dataHead.clear();
        }
        headerHave = 0;
      }
      const take = Math.min(remaining, to - at);
      (control ? controlHead : dataHead).add(bytes, at, take);
      at += take;
      remaining -= take;
      if (remaining === 0) {
        remaining = -1;
        if (control) message(controlOpcode, controlHead.bytes());
        else if (fin) message(dataOpcode, dataHead.bytes());
      }
    }
  };
}

/** A 101 answer whose Sec-WebSocket-Accept is the one the key calls for. */
function upgradeAccepted(head: string, accept: string): boolean {
  const [status, ...fields] = head.split('\r\n');
  if (!/^HTTP\/1\.1 101 /.test(status!)) return false;
  return fields.some((f) => {
    const colon = f.indexOf(':');
    return (
      f.slice(0, colon).trim().toLowerCase() === 'sec-websocket-accept' &&
      f.slice(colon + 1).trim() === accept
    );
  });
}

function jsonSequence(data: Buffer): number | undefined {
  const match = JSON_SEQUENCE.exec(data.toString('latin1', 0, 120));
  return match ? Number(match[1]) : undefined;
}

function msgpackSequence(data: Buffer): number | undefined {
  const at = data.indexOf(MSGPACK_SEQUENCE_KEY);
  if (at < 0 || at > 64) return undefined;
  const i = at + MSGPACK_SEQUENCE_KEY.length;
  const type = data[i]!;
  if (type <= 0x7f) return type;
  if (type === 0xcc) return data.readUInt8(i + 1);
  if (type === 0xcd) return data.readUInt16BE(i + 1);
  if (type === 0xce) return data.readUInt32BE(i + 1);
  if (type === 0xcb) return data.readDoubleBE(i + 1);
  return undefined;
}

/**
 * VehicleFeed.Subscribe at the protocol level: one HTTP/2 POST with the length-prefixed Profile, then the
 * length-prefixed VehicleUpdate messages of the response, of which it reads only the sequence. What grpc-js does
 * on top (call objects, interceptors, deserialisation, events per message) is client CPU this shared machine
 * would take from the broadcaster.
 */
function rawSubscribe(session: http2.ClientHttp2Session, profile: Buffer): http2.ClientHttp2Stream {
  const stream = session.request({
    ':method': 'POST',
    ':path': '/transit_fusion.v1.VehicleFeed/Subscribe',
    'content-type': 'application/grpc',
    te: 'trailers',
    authorization: `Bearer ${token}`,
  });
  const request = Buffer.alloc(5);
  request.writeUInt32BE(profile.length, 1);
  stream.end(Buffer.concat([request, profile]));
  // Length-prefixed messages read as they arrive, keeping only each one's first bytes (the sequence comes
  // first): joining a message's DATA frames (16 KB each) into one buffer would copy every byte again.
  const prefix = Buffer.alloc(5);
  let prefixHave = 0;
  let remaining = 0; // bytes of the current message still to come
  const head = new MessageHead(10);
  stream.on('data', (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      if (prefixHave < 5) {
        const take = Math.min(5 - prefixHave, chunk.length - at);
        chunk.copy(prefix, prefixHave, at, at + take);
        prefixHave += take;
        at += take;
        if (prefixHave < 5) return;
        remaining = prefix.readUInt32BE(1);
        head.clear();
      }
      const take = Math.min(remaining, chunk.length - at);
      head.add(chunk, at, take);
      at += take;
      remaining -= take;
      if (remaining === 0) {
        prefixHave = 0;
        received(readSequence(head.bytes()));
      }
    }
  });
  stream.on('trailers', (trailers) => {
    // A stream the server ends on its own (not at shutdown) is an error for this benchmark.
    if (trailers['grpc-status'] !== undefined && trailers['grpc-status'] !== '1') errors++;
  });
  stream.on('error', () => errors++);
  return stream;
}

/** VehicleUpdate.sequence (field 1, varint) from the encoded message, without decoding the rest. */
function readSequence(bytes: Buffer): number {
  if (bytes[0] !== 0x08) return 0;
  let value = 0;
  let scale = 1;
  for (let i = 1; i < bytes.length && i < 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) break;
    scale *= 128;
  }
  return value;
}
