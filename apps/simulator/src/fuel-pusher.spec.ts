// Vendor C's pushes against a real HTTP server standing in for the receiver: path, API key, body shape, chunking,
// faults (latency, corrupt bodies, missing vehicles, skew), and refused or failing pushes counted rather than thrown.

import Fastify, { type FastifyInstance } from 'fastify';
import { isModelError, parseVendorRecord } from '@transit-fusion/model';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleet, snapshotAt } from './fleet.js';
import { NO_FAULTS, type FaultSettings } from './faults.js';
import { createFuelPusher } from './fuel-pusher.js';
import { createRandom } from './random.js';

let server: FastifyInstance | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface ReceivedPush {
  url: string;
  apiKey: unknown;
  at: number;
  /** The body exactly as sent. */
  raw: string;
  /** What the stand-in answered: 202, or 400 when the body is not JSON or a record does not validate. */
  status: number;
  /** Why a 400: 'json' or the first bad record field. */
  problem?: string;
}

/**
 * A stand-in receiver that validates the way the real one does (JSON, then every record through the model's
 * schema) and records each push. `status` forces an answer instead.
 */
async function receiver(status?: number) {
  const pushes: ReceivedPush[] = [];
  server = Fastify();
  // The raw body, so a truncated one reaches the handler instead of fastify's own JSON error.
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
  server.post('/v1/vendors/:vendor/records', async (request, reply) => {
    const raw = request.body as string;
    const push: ReceivedPush = {
      url: request.url,
      apiKey: request.headers['x-api-key'],
      at: performance.now(),
      raw,
      status: status ?? 202,
    };
    if (status === undefined) {
      const problem = validate(raw);
      if (problem !== undefined) Object.assign(push, { status: 400, problem });
    }
    pushes.push(push);
    return reply.code(push.status).send({});
  });
  const address = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url: address, pushes };
}

function validate(raw: string): string | undefined {
  let body: { records: unknown[] };
  try {
    body = JSON.parse(raw) as { records: unknown[] };
  } catch {
    return 'json';
  }
  for (const record of body.records) {
    try {
      parseVendorRecord(record);
    } catch (error) {
      if (isModelError(error)) return error.issues[0]!.path;
      throw error;
    }
  }
  return undefined;
}

const recordsOf = (push: ReceivedPush) => (JSON.parse(push.raw) as { records: unknown[] }).records;

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
    expect(await pusher.pushOnce()).toEqual({
      records: 250,
      pushes: 3,
      rejected: 0,
      failed: 0,
      malformed: 0,
    });
    expect(pushes.map((p) => [p.url, p.apiKey, recordsOf(p).length, p.status])).toEqual([
      ['/v1/vendors/fuel/records', 'fuel-key', 100, 202],
      ['/v1/vendors/fuel/records', 'fuel-key', 100, 202],
      ['/v1/vendors/fuel/records', 'fuel-key', 50, 202],
    ]);
    const truth = snapshotAt(fleet).vehicles;
    const first = parseVendorRecord(recordsOf(pushes[0]!)[0]);
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
    const records = recordsOf(pushes[0]!) as { observedAt: number }[];
    expect(records.every((r) => r.observedAt === fleet.nowMs + 30_000)).toBe(true);
  });

  it('waits the fault latency before each push', async () => {
    const { url, pushes } = await receiver();
    const fleet = createFleet({ vehicles: 30, seed: 2 });
    const faults = { ...NO_FAULTS, latencyMs: 40 };
    const pusher = createFuelPusher({ fleet, receiverUrl: url, apiKey: 'k', faults, chunkSize: 10 });
    const started = performance.now();
    expect(await pusher.pushOnce()).toMatchObject({ pushes: 3, rejected: 0, failed: 0 });
    // A timer may fire a fraction of a millisecond early as performance.now() sees it.
    expect(pushes[0]!.at - started).toBeGreaterThanOrEqual(39);
    expect(pushes[1]!.at - pushes[0]!.at).toBeGreaterThanOrEqual(39);
    expect(pushes[2]!.at - pushes[1]!.at).toBeGreaterThanOrEqual(39);
  });

  it('sends the malformed share of pushes corrupt, which the receiver rejects, deterministically by seed', async () => {
    const { url, pushes } = await receiver();
    const fleet = createFleet({ vehicles: 400, seed: 2 });
    const faults: FaultSettings = { ...NO_FAULTS, malformedRate: 0.4 };
    const run = () =>
      createFuelPusher({
        fleet,
        receiverUrl: url,
        apiKey: 'k',
        faults,
        chunkSize: 10,
        random: createRandom(7),
      }).pushOnce();

    const result = await run();
    expect(result.pushes).toBe(40);
    expect(result.malformed).toBeGreaterThan(8);
    expect(result.malformed).toBeLessThan(28);
    // Every corrupt push and only those were refused; refusals are "rejected", not "failed".
    expect(result).toMatchObject({ rejected: result.malformed, failed: 0 });
    expect(pushes.filter((p) => p.status === 400)).toHaveLength(result.malformed);
    // Several kinds of corruption: cut-off JSON and records with invalid fields.
    const problems = new Set(pushes.map((p) => p.problem).filter(Boolean));
    expect(problems).toEqual(new Set(['json', 'observedAt', 'fuel']));
    // The pushes that went through are whole.
    for (const push of pushes.filter((p) => p.status === 202)) expect(recordsOf(push)).toHaveLength(10);

    // The same seed corrupts the same pushes the same way.
    const firstRun = pushes.splice(0).map((p) => [p.status, p.problem]);
    expect(await run()).toEqual(result);
    expect(pushes.map((p) => [p.status, p.problem])).toEqual(firstRun);
  });

  it('leaves pushes alone when the faults are for other vendors', async () => {
    const { url, pushes } = await receiver();
    const fleet = createFleet({ vehicles: 50, seed: 2 });
    const faults: FaultSettings = { ...NO_FAULTS, malformedRate: 1, latencyMs: 5_000, vendors: ['speed'] };
    const pusher = createFuelPusher({ fleet, receiverUrl: url, apiKey: 'k', faults, chunkSize: 10 });
    expect(await pusher.pushOnce()).toEqual({ records: 50, pushes: 5, rejected: 0, failed: 0, malformed: 0 });
    expect(pushes.every((p) => p.status === 202)).toBe(true);
  });

  it('counts refused pushes as rejected and unreachable or 5xx ones as failed, instead of throwing', async () => {
    const fleet = createFleet({ vehicles: 10, seed: 2 });
    const push = async (url: string) =>
      createFuelPusher({ fleet, receiverUrl: url, apiKey: 'k', faults: NO_FAULTS }).pushOnce();

    const refusing = await receiver(403);
    expect(await push(refusing.url)).toEqual({
      records: 10,
      pushes: 1,
      rejected: 1,
      failed: 0,
      malformed: 0,
    });
    await server!.close();

    const limited = await receiver(429);
    expect(await push(limited.url)).toMatchObject({ rejected: 0, failed: 1 });
    await server!.close();

    const unavailable = await receiver(503);
    expect(await push(unavailable.url)).toMatchObject({ rejected: 0, failed: 1 });
    await server!.close();
    expect(await push(unavailable.url)).toEqual({
      records: 10,
      pushes: 1,
      rejected: 0,
      failed: 1,
      malformed: 0,
    });
  });
});
