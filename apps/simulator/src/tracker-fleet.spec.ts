// Tracker mode against a TCP server that speaks the gateway's side of the protocol (libs/teltonika's reader):
// every device logs in with its vehicle's IMEI and sends its vehicle's state as Codec 8 or 8E; a packet left
// unacknowledged is sent again; a rejected login is counted. The real gateway is exercised by the gateway
// benchmark and its smoke test (test/bench).

import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  createFrameReader,
  encodeAck,
  LOGIN_ACCEPT,
  LOGIN_REJECT,
  type AvlRecord,
} from '@transit-fusion/teltonika';
import { afterEach, describe, expect, it } from 'vitest';
import { createFleet, snapshotAt } from './fleet.js';
import { createTrackerFleet, trackerImei, type TrackerFleet } from './tracker-fleet.js';

interface Seen {
  imei: string;
  codec: number;
  records: AvlRecord[];
}

async function gatewayStandIn(options: { ackEvery?: (n: number) => boolean; reject?: Set<string> } = {}) {
  const seen: Seen[] = [];
  let packets = 0;
  const server: Server = createServer((socket) => {
    const reader = createFrameReader();
    socket.on('data', (chunk) => {
      for (const frame of reader.push(chunk)) {
        if (frame.kind === 'login')
          socket.write(options.reject?.has(frame.imei) ? LOGIN_REJECT : LOGIN_ACCEPT);
        if (frame.kind === 'avl') {
          seen.push({ imei: reader.imei!, codec: frame.packet.codec, records: frame.packet.records });
          if (options.ackEvery?.(++packets) ?? true) socket.write(encodeAck(frame.packet.records.length));
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, seen, port: (server.address() as AddressInfo).port };
}

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

describe('createTrackerFleet', () => {
  it('logs every device in with its IMEI and sends its vehicle as Codec 8 and 8E', async () => {
    const { server, seen, port } = await gatewayStandIn();
    const fleet = createFleet({ vehicles: 20, seed: 3 });
    const truth = snapshotAt(fleet);
    const trackers: TrackerFleet = createTrackerFleet({
      host: '127.0.0.1',
      port,
      count: 10,
      truth: () => truth,
      intervalMs: 200,
      recordsPerPacket: 2,
    });
    cleanup.push(
      () => trackers.stop(),
      () => server.close(),
    );
    await trackers.start();
    await expect.poll(() => new Set(seen.map((s) => s.imei)).size, { timeout: 5_000 }).toBe(10);
    await expect.poll(() => trackers.stats.recordsAcked, { timeout: 5_000 }).toBeGreaterThanOrEqual(20);
    expect(new Set(seen.map((s) => s.codec))).toEqual(new Set([0x08, 0x8e]));
    const vehicle = truth.vehicles[3]!;
    const packet = seen.find((s) => s.imei === trackerImei(vehicle.fleetNumber))!;
    expect(packet.records).toHaveLength(2);
    const latest = packet.records[1]!;
    expect(latest.timestamp).toBe(truth.timestampMs);
    expect(latest.latitude).toBeCloseTo(vehicle.lat, 6);
    expect(latest.longitude).toBeCloseTo(vehicle.lon, 6);
    expect(latest.speed).toBe(Math.round(vehicle.speed * 3.6));
    expect(latest.io.get(89)).toBe(Math.round(vehicle.fuel));
    expect(trackers.stats.ackLatenciesMs.length).toBe(trackers.stats.packetsAcked);
  });

  it('sends an unacknowledged packet again, and counts a rejected login', async () => {
    const fleet = createFleet({ vehicles: 2, seed: 3 });
    const truth = snapshotAt(fleet);
    const rejected = trackerImei(truth.vehicles[1]!.fleetNumber);
    // The first packet goes unanswered.
    const { server, seen, port } = await gatewayStandIn({
      ackEvery: (n) => n > 1,
      reject: new Set([rejected]),
    });
    const trackers = createTrackerFleet({
      host: '127.0.0.1',
      port,
      count: 2,
      truth: () => truth,
      intervalMs: 10_000,
      ackTimeoutMs: 200,
    });
    cleanup.push(
      () => trackers.stop(),
      () => server.close(),
    );
    void trackers.start();
    await expect.poll(() => trackers.stats.packetsAcked, { timeout: 5_000 }).toBe(1);
    expect(trackers.stats.resends).toBe(1);
    // The same bytes twice: the device resent its packet, it did not make a new one.
    expect(seen).toHaveLength(2);
    expect(seen[1]!.records).toEqual(seen[0]!.records);
    expect(trackers.stats.rejected).toBeGreaterThanOrEqual(1);
  });
});
