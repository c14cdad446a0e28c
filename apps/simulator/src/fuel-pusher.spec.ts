// Vendor C's pushes against a real HTTP server standing in for the receiver: path, API key, body shape, chunking,
// faults, and a failing receiver counted rather than thrown.

import Fastify, { type FastifyInstance } from 'fastify';
import { parseVendorRecord } from '@transit-fusion/model';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleet, snapshotAt } from './fleet.js';
import { NO_FAULTS } from './faults.js';
import { createFuelPusher } from './fuel-pusher.js';

let server: FastifyInstance | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function receiver(status = 202) {
  const pushes: { url: string; apiKey: unknown; body: { records: unknown[] } }[] = [];
  server = Fastify();
  server.post('/v1/vendors/:vendor/records', async (request, reply) => {
    pushes.push({
      url: request.url,
      apiKey: request.headers['x-api-key'],
      body: request.body as { records: unknown[] },
    });
    return reply.code(status).send({});
  });
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url: address, pushes };
}

describe('createFuelPusher', () => {
  it('pushes every vehicle fuel record to the receiver with the API key, in chunks', async () => {
    const { url, pushes } = await receiver();
    const fleet = createFleet({ vehicles: 250, seed: 2 });
    const pusher = createFuelPusher({
      fleet,
      receiverUrl: url,
      apiKey: 'fuel-key',
      faults: NO_FAULTS,
      chunkSize: 100,
    });
    expect(await pusher.pushOnce()).toEqual({ records: 250, pushes: 3, failed: 0 });
    expect(pushes.map((p) => [p.url, p.apiKey, p.body.records.length])).toEqual([
      ['/v1/vendors/fuel/records', 'fuel-key', 100],
      ['/v1/vendors/fuel/records', 'fuel-key', 100],
      ['/v1/vendors/fuel/records', 'fuel-key', 50],
    ]);
    const truth = snapshotAt(fleet).vehicles;
    const first = parseVendorRecord(pushes[0]!.body.records[0]);
    expect(first).toMatchObject({
      vendorId: 'fuel',
      vehicleKey: '1000',
      fuel: truth[0]!.fuel,
      observedAt: fleet.nowMs,
    });
  });

  it('applies missing vehicles and clock skew', async () => {
    const { url, pushes } = await receiver();
    const fleet = createFleet({ vehicles: 200, seed: 2 });
    const faults = { ...NO_FAULTS, missingFraction: 0.5, clockSkewMs: 30_000 };
    const result = await createFuelPusher({ fleet, receiverUrl: url, apiKey: 'k', faults }).pushOnce();
    expect(result.records).toBeGreaterThan(60);
    expect(result.records).toBeLessThan(140);
    const records = pushes[0]!.body.records as { observedAt: number }[];
    expect(records.every((r) => r.observedAt === fleet.nowMs + 30_000)).toBe(true);
  });

  it('counts failed pushes instead of throwing', async () => {
    const { url } = await receiver(503);
    const fleet = createFleet({ vehicles: 10, seed: 2 });
    const pusher = createFuelPusher({ fleet, receiverUrl: url, apiKey: 'k', faults: NO_FAULTS });
    expect(await pusher.pushOnce()).toEqual({ records: 10, pushes: 1, failed: 1 });
    await server!.close();
    expect(await pusher.pushOnce()).toEqual({ records: 10, pushes: 1, failed: 1 });
  });
});
