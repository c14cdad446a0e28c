// Snapshots and an in-process runner for the CLI tests.

import { PassThrough } from 'node:stream';
import { createVehicle, type TransportSnapshot } from '@transit-fusion/model';
import { runCli } from '../src/cli.js';

/**
 * A snapshot of three vehicles: a bus and a tram with positions, and a parked ferry without one (which GeoJSON
 * exports leave out).
 */
export function snapshotAt(generatedAt: number, sequence: number): TransportSnapshot {
  const bus = createVehicle('bus-1', 'bus', '1001');
  bus.position = { lat: 59.437 + sequence / 1000, lon: 24.745 };
  bus.speed = 8.5;
  bus.bearing = 90;
  bus.routeId = '17';
  bus.tripId = `17-${sequence}`;
  bus.status = 'on_duty';
  bus.sources.position = { vendorId: 'positions', observedAt: generatedAt - 500 };
  const tram = createVehicle('tram-4', 'tram');
  tram.position = { lat: 59.43, lon: 24.76 };
  tram.delay = -30;
  tram.status = 'on_duty';
  tram.quality = 1;
  const ferry = createVehicle('ferry-2', 'ferry');
  ferry.fuel = 71;
  ferry.status = 'parked';
  return {
    sequence,
    generatedAt,
    sources: [
      { vendorId: 'positions', sequence: sequence * 10, collectedAt: generatedAt - 300, recordCount: 3 },
    ],
    vehicles: [bus, tram, ferry],
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured streams. */
export async function run(
  argv: string[],
  env: Record<string, string | undefined>,
  options: { isTTY?: boolean } = {},
): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await runCli(argv, { env, stdout, stderr, isTTY: options.isTTY ?? false });
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

export const lines = (text: string) => text.split('\n').filter((line) => line.length > 0);
