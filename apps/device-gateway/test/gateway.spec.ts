// The gateway on real parts: trackers over real TCP, records to the Service Bus emulator through the real
// @azure/service-bus client, drained back with the messaging lib's drainer. Logins are checked against a
// fleet-registry file; the sample frames of ../shared/data/teltonika/frames.txt are acknowledged with their record
// counts only once the broker holds their records; a broker that refuses them means no ack; hostile input of every
// kind is survived; limits and timeouts close what they should; the watchdog fails liveness when the listener
// stops accepting.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createBatchedDrainer,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
  type PushMessageBody,
} from '@transit-fusion/messaging';
import { createLiveness, createLogger, createMetrics } from '@transit-fusion/service-kit';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import {
  CODEC_8,
  CODEC_8E,
  crc16Ibm,
  encodeAck,
  encodeAvlPacket,
  encodeLogin,
} from '@transit-fusion/teltonika';
import { SHARED_DATA_DIR } from '@transit-fusion/testing';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { gatewayConfigFromEnv } from '../src/config.js';
import { createDeviceGateway, type DeviceGateway } from '../src/device-gateway.js';
import { connectTracker, hex } from './tracker-client.js';

const TOPIC = 'vendor-pushes';
const SUBSCRIPTION = 'trackers';
const KNOWN = '356307042441013';
const OTHER_KNOWN = '123456789012345';
const FRAMES_FILE = path.join(SHARED_DATA_DIR, 'teltonika/frames.txt');
const haveFrames = existsSync(FRAMES_FILE);
if (!haveFrames) console.warn(`skipping the sample-frame tests: ${FRAMES_FILE} is missing`);

/** The frames of frames.txt with the comment line above each. */
function sampleFrames(): { comment: string; bytes: Buffer }[] {
  const frames: { comment: string; bytes: Buffer }[] = [];
  let comment = '';
  for (const line of readFileSync(FRAMES_FILE, 'utf8').split('\n')) {
    if (line.startsWith('#')) comment = line.slice(1).trim();
    else if (line.trim()) frames.push({ comment, bytes: hex(line) });
  }
  return frames;
}

const record = (i: number) => ({
  timestamp: Date.UTC(2026, 10, 21, 8, 47, i),
  priority: 0 as const,
  longitude: 24.7536 + i / 1000,
  latitude: 59.437,
  altitude: 30,
  angle: 90,
  satellites: 9,
  speed: 36,
  eventIoId: 0,
  io: new Map<number, number>([
    [239, 1],
    [89, 55],
  ]),
});

let emulator: Awaited<ReturnType<typeof startServiceBusEmulator>>;
let registryFile: string;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    config: emulatorConfigOf({
      topics: [
        {
          name: TOPIC,
          subscriptions: [{ name: SUBSCRIPTION }],
        },
      ],
    }),
    port: 0,
  });
  registryFile = path.join(mkdtempSync(path.join(tmpdir(), 'gateway-')), 'fleet-registry.json');
  writeFileSync(
    registryFile,
    JSON.stringify({
      vehicles: [
        { vehicleId: 'veh-1', keys: { trackers: KNOWN, positions: 'gtfs-1' } },
        { vehicleId: 'veh-2', keys: { trackers: OTHER_KNOWN } },
        { vehicleId: 'veh-3', keys: { positions: 'gtfs-3' } },
      ],
    }),
  );
});
afterAll(() => emulator?.stop());

const gateways: DeviceGateway[] = [];
afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.stop();
});

async function startGateway(env: Record<string, string> = {}) {
  const metrics = createMetrics({ service: 'device-gateway', defaultMetrics: false });
  const liveness = createLiveness({ eventLoop: false });
  let stuck = 0;
  const gateway = createDeviceGateway({
    config: gatewayConfigFromEnv({
      TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
      TF_GATEWAY_HOST: '127.0.0.1',
      TF_GATEWAY_TCP_PORT: '0',
      TF_GATEWAY_HTTP_PORT: '0',
      TF_GATEWAY_DEVICE_REGISTRY: registryFile,
      TF_GATEWAY_SEND_TIMEOUT_MS: '3000',
      ...env,
    }),
    logger: createLogger({ service: 'device-gateway', level: 'silent' }),
    metrics,
    liveness,
    onStuck: () => stuck++,
  });
  gateways.push(gateway);
  const ports = await gateway.start();
  const metric = async (pattern: RegExp) => {
    const text = await metrics.registry.metrics();
    const line = text.split('\n').find((l) => pattern.test(l));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  return { gateway, ...ports, metric, liveness, stuck: () => stuck };
}

async function drain(expected: number): Promise<PushMessageBody[]> {
  const client = createServiceBusClient(
    messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString }),
  );
  const bodies: PushMessageBody[] = [];
  const drainer = createBatchedDrainer({
    client,
    topic: TOPIC,
    subscription: SUBSCRIPTION,
    batchSize: 64,
    maxWaitTimeMs: 200,
    handler: async (batch) => {
      for (const m of batch) {
        bodies.push(JSON.parse(Buffer.from(m.body as Uint8Array).toString()) as PushMessageBody);
      }
      return { processed: batch };
    },
  });
  try {
    const deadline = Date.now() + 10_000;
    while (bodies.flatMap((b) => b.records).length < expected && Date.now() < deadline) {
      await drainer.drain({ budgetMs: 2_000 });
    }
  } finally {
    await drainer.close();
    await client.close();
  }
  expect(bodies.flatMap((b) => b.records)).toHaveLength(expected);
  return bodies;
}

async function login(port: number, imei = KNOWN) {
  const tracker = await connectTracker(port);
  await tracker.write(encodeLogin(imei));
  expect(await tracker.read(1)).toEqual(Buffer.from([1]));
  return tracker;
}

describe('the device gateway', () => {
  it('accepts registered IMEIs and rejects others with 00 and a close', async () => {
    const { tcpPort, metric } = await startGateway();
    const known = await login(tcpPort);
    const stranger = await connectTracker(tcpPort);
    await stranger.write(encodeLogin('999999999999999'));
    expect(await stranger.read(1)).toEqual(Buffer.from([0]));
    await stranger.closed;
    known.close();
    expect(await metric(/^gateway_logins_total\{outcome="accepted"/)).toBe(1);
    expect(await metric(/^gateway_logins_total\{outcome="rejected"/)).toBe(1);
  });

  it.skipIf(!haveFrames)(
    'acknowledges each sample AVL frame with its record count once the broker has the records',
    async () => {
      const { tcpPort } = await startGateway();
      const tracker = await login(tcpPort);
      const avl = sampleFrames().filter(
        (f) => f.bytes.readUInt32BE(0) === 0 && [CODEC_8, CODEC_8E].includes(f.bytes[8]!),
      );
      expect(avl.length).toBeGreaterThanOrEqual(4);
      for (const frame of avl) {
        await tracker.write(frame.bytes);
        expect((await tracker.read(4)).readUInt32BE(0), frame.comment).toBe(frame.bytes[9]);
      }
      tracker.close();
      const bodies = await drain(avl.length);
      const records = bodies.flatMap((b) => b.records) as {
        vendorId: string;
        vehicleKey: string;
        observedAt: number;
        position?: { lat: number; lon: number };
      }[];
      expect(bodies.every((b) => b.vendorId === 'trackers')).toBe(true);
      expect(records.every((r) => r.vehicleKey === KNOWN && r.vendorId === 'trackers')).toBe(true);
      // Wiki example 1: 2019-06-10T10:04:46Z (0x16B40D8EA30), no fix, so no position.
      expect(records.find((r) => r.observedAt === 0x16b40d8ea30)).toBeDefined();
      // The frame with real coordinates has a position.
      expect(records.some((r) => r.position !== undefined)).toBe(true);
    },
  );

  it('handles a packet split byte by byte and several packets in one write', async () => {
    const { tcpPort } = await startGateway();
    const tracker = await login(tcpPort);
    const packet = encodeAvlPacket(CODEC_8E, [record(1), record(2)]);
    for (const byte of packet) await tracker.write(Buffer.from([byte]));
    expect(await tracker.read(4)).toEqual(encodeAck(2));
    await tracker.write(
      Buffer.concat([
        encodeAvlPacket(CODEC_8, [record(3)]),
        encodeAvlPacket(CODEC_8, [record(4), record(5), record(6)]),
      ]),
    );
    expect(await tracker.read(4)).toEqual(encodeAck(1));
    expect(await tracker.read(4)).toEqual(encodeAck(3));
    tracker.close();
    const records = (await drain(6)).flatMap((b) => b.records) as {
      observedAt: number;
      fuel?: number;
      telemetry?: Record<string, number>;
    }[];
    expect(records.map((r) => r.observedAt).sort()).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => record(i).timestamp),
    );
    // IO 89 (fuel level) mapped by the default IO mapping to the model's fuel; every mapped IO reading, fuel
    // and ignition (IO 239) among them, travels as telemetry for other subscribers.
    expect(records.every((r) => r.fuel === 55)).toBe(true);
    expect(records.every((r) => r.telemetry?.ignition === 1 && r.telemetry.fuel === 55)).toBe(true);
  });

  it('does not acknowledge records the broker did not accept', async () => {
    // A topic the broker does not have: every send is refused.
    const { tcpPort, metric } = await startGateway({ TF_GATEWAY_TOPIC: 'no-such-topic' });
    const tracker = await login(tcpPort);
    await tracker.write(encodeAvlPacket(CODEC_8, [record(1)]));
    await tracker.closed;
    await expect(tracker.read(4, 100)).rejects.toThrow(/closed after 0 of 4 bytes/);
    expect(await metric(/^gateway_records_total\{outcome="failed"/)).toBe(1);
  });

  it('survives hostile input: bad CRC, unknown codec, absurd lengths, garbage', async () => {
    const { tcpPort, metric, gateway } = await startGateway();
    // Bad CRC: no ack, counted, and the connection stays usable.
    const tracker = await login(tcpPort);
    const corrupt = Buffer.from(encodeAvlPacket(CODEC_8, [record(1)]));
    corrupt[corrupt.length - 1]! ^= 0xff;
    await tracker.write(corrupt);
    await expect(tracker.read(4, 300)).rejects.toThrow(/no answer/);
    await tracker.write(encodeAvlPacket(CODEC_8, [record(2)]));
    expect(await tracker.read(4)).toEqual(encodeAck(1));
    expect(await metric(/^gateway_packets_rejected_total\{code="BAD_CRC"/)).toBe(1);

    // Unknown codec with a valid CRC: no ack, counted.
    const data = Buffer.from([0x99, 0x01, 0x00, 0x01]);
    const unknown = Buffer.alloc(8 + data.length + 4);
    unknown.writeUInt32BE(data.length, 4);
    data.copy(unknown, 8);
    unknown.writeUInt32BE(crc16Ibm(data), 8 + data.length);
    await tracker.write(unknown);
    await expect(tracker.read(4, 300)).rejects.toThrow(/no answer/);
    expect(await metric(/^gateway_packets_rejected_total\{code="UNKNOWN_CODEC"/)).toBe(1);
    tracker.close();

    // A claimed length of 2 GB: closed at once, nothing of that size allocated.
    const greedy = await login(tcpPort);
    await greedy.write(hex('00000000 7FFFFFFF 08'));
    await greedy.closed;
    expect(await metric(/^gateway_protocol_errors_total\{code="TOO_LARGE"/)).toBe(1);

    // Garbage instead of a login.
    const noise = await connectTracker(tcpPort);
    await noise.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await noise.closed;
    expect(await metric(/^gateway_protocol_errors_total\{code="BAD_LOGIN"/)).toBe(1);

    // Still serving.
    const after = await login(tcpPort, OTHER_KNOWN);
    await after.write(encodeAvlPacket(CODEC_8, [record(3)]));
    expect(await after.read(4)).toEqual(encodeAck(1));
    after.close();
    expect(gateway.tcp.connections).toBeLessThanOrEqual(1);
  });

  it('closes connections that never log in or go idle (slowloris), and enforces connection limits', async () => {
    const { tcpPort, metric } = await startGateway({
      TF_GATEWAY_LOGIN_TIMEOUT_MS: '200',
      TF_GATEWAY_IDLE_TIMEOUT_MS: '1000',
      TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '3',
    });
    const silent = await connectTracker(tcpPort);
    // Half a login header, then nothing.
    await silent.write(Buffer.from([0x00]));
    await silent.closed;
    expect(await metric(/^gateway_timeouts_total\{kind="login"/)).toBe(1);

    const idle = await login(tcpPort);
    await idle.closed;
    expect(await metric(/^gateway_timeouts_total\{kind="idle"/)).toBe(1);

    const held = await Promise.all([1, 2, 3].map(() => connectTracker(tcpPort)));
    const fourth = await connectTracker(tcpPort);
    await fourth.closed;
    expect(await metric(/^gateway_connections_refused_total\{reason="address"/)).toBe(1);
    for (const t of held) t.close();
  });

  it('refuses connections past the total limit', async () => {
    const { tcpPort, metric } = await startGateway({ TF_GATEWAY_MAX_CONNECTIONS: '2' });
    const held = [await login(tcpPort), await login(tcpPort, OTHER_KNOWN)];
    const third = await connectTracker(tcpPort);
    await third.closed;
    expect(await metric(/^gateway_connections_refused_total\{reason="total"/)).toBe(1);
    for (const t of held) t.close();
  });

  it('throttles a connect storm from one address', async () => {
    const { tcpPort, metric } = await startGateway({ TF_GATEWAY_CONNECT_RATE_PER_ADDRESS: '5' });
    const storm = await Promise.all(Array.from({ length: 20 }, () => connectTracker(tcpPort)));
    await expect
      .poll(() => metric(/^gateway_connections_refused_total\{reason="rate"/))
      .toBeGreaterThanOrEqual(10);
    for (const t of storm) t.close();
  });

  it('logs Codec 12 command replies', async () => {
    const { tcpPort, metric } = await startGateway();
    const tracker = await login(tcpPort);
    await tracker.write(hex('00000000000000100C010600000008010300010015D5C5010000D988'));
    await expect.poll(() => metric(/^gateway_command_replies_total/)).toBe(1);
    tracker.close();
  });

  it('fails liveness when the listener stops accepting, and reports it stuck', async () => {
    const { gateway, httpPort, stuck } = await startGateway({ TF_GATEWAY_WATCHDOG_INTERVAL_MS: '100' });
    const health = () => fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.status);
    await expect.poll(health).toBe(200);
    // What the seed's listener did: the process lives on, but nothing is accepted any more.
    gateway.tcp.server.close();
    await expect.poll(health, { timeout: 5_000 }).toBe(503);
    await expect.poll(stuck, { timeout: 5_000 }).toBe(1);
  });
});
