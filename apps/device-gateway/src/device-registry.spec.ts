// The device registry over real HTTP: unreachable at first (retried, not loaded, the allowlist still works), then
// loaded with the IMEIs under the gateway's vendor id; a reload that fails or returns garbage keeps the last good
// set; the URL's query (a SAS token) stays out of the logs.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeviceRegistry } from './device-registry.js';

const servers: Server[] = [];
afterEach(() => servers.splice(0).forEach((s) => s.close()));

async function registryServer(answers: (() => { status: number; body: string })[]) {
  const server = createServer((_request, response) => {
    const answer = (answers.length > 1 ? answers.shift()! : answers[0]!)();
    response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/fleet-registry.json?sig=s3cret`;
}

const document = (imeis: string[]) =>
  JSON.stringify({
    vehicles: [
      ...imeis.map((imei, i) => ({ vehicleId: `veh-${i}`, keys: { trackers: imei, speed: imei } })),
      { vehicleId: 'no-tracker', keys: { positions: 'gtfs-9' } },
    ],
  });

describe('createDeviceRegistry', () => {
  it('retries a registry that is not up yet, accepting only the allowlist until it loads', async () => {
    const url = await registryServer([
      () => ({ status: 503, body: 'starting' }),
      () => ({ status: 200, body: document(['111111111111111', '222222222222222']) }),
    ]);
    const warnings: string[] = [];
    const registry = createDeviceRegistry({
      vendorId: 'trackers',
      allowed: ['999999999999999'],
      location: url,
      refreshMs: 60_000,
      logger: { info() {}, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`) },
    });
    await registry.start();
    expect(registry.loaded).toBe(false);
    expect(registry.accepts('999999999999999')).toBe(true);
    expect(registry.accepts('111111111111111')).toBe(false);
    await expect.poll(() => registry.loaded, { timeout: 3_000 }).toBe(true);
    expect(registry.accepts('111111111111111')).toBe(true);
    expect(registry.accepts('gtfs-9')).toBe(false);
    expect(registry.size).toBe(3);
    registry.stop();
    expect(warnings.join('\n')).toMatch(/not loaded yet/);
    expect(warnings.join('\n')).not.toContain('s3cret');
  });

  it('keeps the last good set when a reload fails or is not a registry', async () => {
    const url = await registryServer([
      () => ({ status: 200, body: document(['111111111111111']) }),
      () => ({ status: 200, body: '{"vehicles": "nope"}' }),
      () => ({ status: 500, body: '' }),
    ]);
    const warnings: string[] = [];
    const registry = createDeviceRegistry({
      vendorId: 'trackers',
      allowed: [],
      location: url,
      refreshMs: 50,
      logger: { info() {}, warn: (_obj, msg) => warnings.push(msg) },
    });
    await registry.start();
    expect(registry.loaded).toBe(true);
    await expect.poll(() => warnings.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(2);
    registry.stop();
    expect(registry.accepts('111111111111111')).toBe(true);
    expect(warnings[0]).toMatch(/keeping the devices loaded before/);
  });
});
