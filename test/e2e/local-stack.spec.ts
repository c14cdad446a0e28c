// End to end against the local stack started the way `npm start` starts it (apps/local-stack/src/main.ts in a
// child process, on free ports and a fresh data folder): every service becomes ready; a gRPC stream and a
// SignalR client each receive at least five consecutive ticks with increasing sequences; /api/vehicles shows the
// simulated fleet; a push through the receiver appears in the fused snapshot within two ticks; SIGINT stops
// everything and frees the ports; a port in use stops start-up with a message naming it.

import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { HubConnectionBuilder, LogLevel } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import { loadTransitFusionProto } from '@transit-fusion/grpc-api';
import { freePort, startChild, type ChildService } from '@transit-fusion/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PORT_VARIABLES = [
  'TF_LOCAL_BLOB_PORT',
  'TF_LOCAL_TABLE_PORT',
  'TF_LOCAL_SERVICEBUS_PORT',
  'TF_LOCAL_SIMULATOR_PORT',
  'TF_LOCAL_RECEIVER_PORT',
  'TF_LOCAL_COLLECTOR_PORT',
  'TF_LOCAL_COMPOSER_PORT',
  'TF_LOCAL_BROADCASTER_PORT',
  'TF_LOCAL_GRPC_PORT',
] as const;

async function portsEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const variable of PORT_VARIABLES) env[variable] = String(await freePort());
  return env;
}

const lineOf = (service: ChildService, pattern: RegExp) =>
  service.lines.map((l) => String(l['msg'] ?? '')).find((m) => pattern.test(m));

describe('the local stack (npm start)', () => {
  let stack: ChildService;
  let env: Record<string, string>;
  let token: string;
  let base: string;

  beforeAll(async () => {
    env = {
      ...(await portsEnv()),
      TF_LOCAL_DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'tf-stack-')), 'data'),
      NO_COLOR: '1',
    };
    stack = startChild('apps/local-stack/src/main.ts', env);
    await stack.waitFor((l) => l['msg'] === 'READY', 150_000);
    token = lineOf(stack, /^\s*API token\s+/)!
      .trim()
      .split(/\s+/)[2]!;
    base = `http://127.0.0.1:${env['TF_LOCAL_BROADCASTER_PORT']}`;
  }, 180_000);

  afterAll(async () => {
    if (stack?.child.exitCode === null) stack.child.kill('SIGKILL');
  });

  it('shows the simulated fleet at /api/vehicles', async () => {
    await expect
      .poll(
        async () => {
          const response = await fetch(`${base}/api/vehicles`, {
            headers: { authorization: `Bearer ${token}` },
          });
          return response.ok ? ((await response.json()) as { count: number }).count : 0;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(500);
  });

  it('streams at least five consecutive ticks to a gRPC client and to a SignalR client', async () => {
    const { VehicleFeed } = loadTransitFusionProto();
    const client = new VehicleFeed(
      `127.0.0.1:${env['TF_LOCAL_GRPC_PORT']}`,
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const stream = client['Subscribe']!({ fields: ['position'] }, metadata) as grpc.ClientReadableStream<{
      sequence: number;
    }>;
    const grpcSequences: number[] = [];
    stream.on('data', (u: { sequence: number }) => grpcSequences.push(Number(u.sequence)));
    stream.on('error', () => {});

    const hub = new HubConnectionBuilder()
      .withUrl(`${base}/hubs/vehicles?types=bus`, { accessTokenFactory: () => token })
      .withHubProtocol(new MessagePackHubProtocol())
      .configureLogging(LogLevel.None)
      .build();
    const hubSequences: number[] = [];
    hub.on('vehicles', (u: { sequence: number }) => hubSequences.push(Number(u.sequence)));
    await hub.start();

    await expect
      .poll(() => Math.min(grpcSequences.length, hubSequences.length), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(6);
    for (const sequences of [grpcSequences, hubSequences]) {
      const ticks = sequences.slice(0, 6);
      for (let i = 1; i < ticks.length; i++) expect(ticks[i]).toBeGreaterThan(ticks[i - 1]!);
    }
    stream.cancel();
    client.close();
    await hub.stop();
  }, 60_000);

  it('fuses a push through the receiver within two ticks', async () => {
    const [, pushUrl, , apiKey] = lineOf(stack, /^\s*vendor push\s+/)!
      .trim()
      .split(/\s+/)
      .slice(1);
    const registry = (await (
      await fetch(`http://127.0.0.1:${env['TF_LOCAL_SIMULATOR_PORT']}/fleet-registry.json`)
    ).json()) as { vehicles: { vehicleId: string; keys: Record<string, string> }[] };
    const target = registry.vehicles[7]!;
    const view = async () =>
      (await (
        await fetch(`${base}/api/vehicles`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as {
        sequence: number;
        vehicles: { id: string; fuel?: number; sources: { fuel?: { vendorId: string } } }[];
      };
    const before = (await view()).sequence;
    const pushed = await fetch(pushUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey! },
      body: JSON.stringify({
        vehicleKey: target.keys['fuel'],
        observedAt: new Date().toISOString(),
        fuel: 12.5,
      }),
    });
    expect(pushed.status).toBe(202);
    let seenAt: number | undefined;
    await expect
      .poll(
        async () => {
          const current = await view();
          const vehicle = current.vehicles.find((v) => v.id === target.vehicleId);
          if (vehicle?.fuel === 12.5) seenAt ??= current.sequence;
          return vehicle?.fuel === 12.5 ? vehicle.sources.fuel?.vendorId : undefined;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe('fuel');
    // The collector drains it on its next tick, the composer fuses it on the one after.
    expect(seenAt! - before).toBeLessThanOrEqual(2);
  }, 30_000);

  it('stops every service on SIGINT and frees its ports', async () => {
    stack.child.kill('SIGINT');
    expect(await stack.exited).toBe(0);
    expect(lineOf(stack, /nothing left running/)).toBeDefined();
    for (const variable of PORT_VARIABLES) {
      const port = Number(env[variable]);
      await new Promise<void>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  }, 60_000);

  it('refuses to start when a port is in use, naming it and the setting that moves it', async () => {
    const busy = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => busy.listen(port, '127.0.0.1', () => resolve()));
    try {
      const refused = startChild('apps/local-stack/src/main.ts', {
        ...(await portsEnv()),
        TF_LOCAL_BROADCASTER_PORT: String(port),
        TF_LOCAL_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tf-stack-')),
      });
      let stderr = '';
      refused.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await refused.exited).toBe(1);
      expect(stderr).toContain(
        `port ${port} (the broadcaster (HTTP, SignalR, map)) is in use: stop what uses it, or choose another with TF_LOCAL_BROADCASTER_PORT=<port>`,
      );
    } finally {
      busy.close();
    }
  }, 60_000);
});
