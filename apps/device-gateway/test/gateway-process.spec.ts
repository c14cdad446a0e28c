// main.ts as it runs in production, in a child process against the Service Bus emulator: it becomes ready, a
// tracker logs in and is acknowledged, arbitrary bytes from many connections (fast-check) never take it down, a
// config error exits with the variable named, and SIGTERM stops it cleanly with exit code 0.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emulatorConfigOf } from '@transit-fusion/messaging';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import { CODEC_8E, encodeAck, encodeAvlPacket, encodeLogin } from '@transit-fusion/teltonika';
import { freePort, startChild, type ChildService } from '@transit-fusion/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTracker } from './tracker-client.js';

const IMEI = '356307042441013';
let emulator: Awaited<ReturnType<typeof startServiceBusEmulator>>;
let gateway: ChildService;
let tcpPort: number;
let httpPort: number;

beforeAll(async () => {
  emulator = await startServiceBusEmulator({
    config: emulatorConfigOf({ topics: [{ name: 'vendor-pushes', subscriptions: [{ name: 'collector' }] }] }),
    port: 0,
  });
  const registry = path.join(mkdtempSync(path.join(tmpdir(), 'gateway-process-')), 'registry.json');
  writeFileSync(registry, JSON.stringify({ vehicles: [{ vehicleId: 'veh-1', keys: { trackers: IMEI } }] }));
  tcpPort = await freePort();
  httpPort = await freePort();
  gateway = startChild('apps/device-gateway/src/main.ts', {
    TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    TF_GATEWAY_HOST: '127.0.0.1',
    TF_GATEWAY_TCP_PORT: String(tcpPort),
    TF_GATEWAY_HTTP_PORT: String(httpPort),
    TF_GATEWAY_DEVICE_REGISTRY: registry,
    TF_GATEWAY_CONNECT_RATE_PER_ADDRESS: '10000',
    TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: '1000',
    TF_GATEWAY_WATCHDOG_INTERVAL_MS: '500',
  });
  await gateway.waitFor((l) => l['msg'] === 'device gateway listening', 30_000);
}, 60_000);

afterAll(async () => {
  if (gateway?.child.exitCode === null) gateway.child.kill('SIGKILL');
  await emulator?.stop();
});

describe('the device gateway process (main.ts)', () => {
  it('is ready and healthy, and acknowledges a tracker once the broker has its records', async () => {
    expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    const tracker = await connectTracker(tcpPort);
    await tracker.write(encodeLogin(IMEI));
    expect(await tracker.read(1)).toEqual(Buffer.from([1]));
    const now = Date.now();
    await tracker.write(
      encodeAvlPacket(CODEC_8E, [
        {
          timestamp: now,
          priority: 0,
          longitude: 24.75,
          latitude: 59.43,
          altitude: 10,
          angle: 180,
          satellites: 8,
          speed: 40,
          eventIoId: 0,
          io: new Map([[89, 40]]),
        },
      ]),
    );
    expect(await tracker.read(4)).toEqual(encodeAck(1));
    tracker.close();
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/gateway_records_total\{outcome="forwarded"[^}]*\} 1/);
    expect(metrics).toMatch(/gateway_ack_latency_seconds_count\{[^}]*\} 1/);
  });

  it('survives arbitrary bytes on any number of connections', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        async (loginFirst, chunks) => {
          const tracker = await connectTracker(tcpPort);
          if (loginFirst) await tracker.write(encodeLogin(IMEI));
          for (const chunk of chunks) await tracker.write(chunk).catch(() => undefined);
          tracker.close();
        },
      ),
      { numRuns: 60 },
    );
    // Still alive, healthy and serving.
    expect(gateway.child.exitCode).toBeNull();
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    const tracker = await connectTracker(tcpPort);
    await tracker.write(encodeLogin(IMEI));
    expect(await tracker.read(1)).toEqual(Buffer.from([1]));
    tracker.close();
  }, 60_000);

  it('refuses to start with a bad setting, naming the variable', async () => {
    const refused = startChild('apps/device-gateway/src/main.ts', {
      TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
      TF_GATEWAY_ALLOWED_IMEIS: 'not-an-imei',
    });
    let stderr = '';
    refused.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await refused.exited).toBe(2);
    expect(stderr + JSON.stringify(refused.lines)).toContain('TF_GATEWAY_ALLOWED_IMEIS');
  });

  it('stops on SIGTERM with exit code 0', async () => {
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });
});
