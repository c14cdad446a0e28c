// The device state writer's scheduling logic against an in-memory table (the real table's behaviour is tested
// against Azurite in libs/storage and through the composer's integration tests).

import { QualityFlag, type TransportSnapshot, type Vehicle } from '@transit-fusion/model';
import { deviceStateBucket, type DeviceObservation, type DeviceStateTable } from '@transit-fusion/storage';
import { describe, expect, it } from 'vitest';
import { createDeviceStateWriter } from './device-state-writer.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const IDS = Array.from({ length: 96 }, (_, i) => `bus-${i}`);

function vehicle(id: string, fields: Partial<Vehicle> = {}): Vehicle {
  return { id, transportType: 'bus', status: 'on_duty', sources: {}, quality: 0, ...fields };
}

function snapshot(generatedAt: number, vehicles: Vehicle[]): TransportSnapshot {
  return { sequence: generatedAt, generatedAt, sources: [], vehicles };
}

/** Records what each recordMany call wrote; `failing` partitions throw. */
function memoryTable() {
  const calls: Map<string, DeviceObservation>[] = [];
  const failing = new Set<number>();
  const table: Pick<DeviceStateTable, 'recordMany'> = {
    async recordMany(observations) {
      const bucket = deviceStateBucket([...observations.keys()][0]!);
      if (failing.has(bucket)) throw new Error(`partition ${bucket} unavailable`);
      calls.push(new Map([...observations].map(([id, o]) => [id, structuredClone(o)])));
      return { updated: observations.size, gaveUp: 0 };
    },
  };
  const written = () => calls.flatMap((c) => [...c.keys()]);
  return { table: table as DeviceStateTable, calls, failing, written };
}

const quiet = { warn() {} };

describe('device state writer', () => {
  it('writes the partitions in turns, so every vehicle is written once per heartbeat', async () => {
    const { table, calls, written } = memoryTable();
    const writer = createDeviceStateWriter(table, {
      logger: quiet,
      flushMs: 10_000,
      heartbeatMs: 60_000,
    });
    writer.add(
      snapshot(
        T0,
        IDS.map((id) => vehicle(id)),
      ),
    );

    const perFlush: string[][] = [];
    for (let turn = 0; turn < 6; turn++) {
      const before = written().length;
      const result = await writer.flush();
      perFlush.push(written().slice(before));
      expect(result).toEqual({ written: perFlush[turn]!.length, failed: 0 });
      // Only this turn's partitions.
      for (const id of perFlush[turn]!) expect(deviceStateBucket(id) % 6).toBe(turn);
    }
    // One call per partition.
    for (const call of calls) expect(new Set([...call.keys()].map(deviceStateBucket)).size).toBe(1);
    expect(written().sort()).toEqual([...IDS].sort());
    expect(perFlush.filter((ids) => ids.length > 0).length).toBeGreaterThan(3);
    expect(writer.pending).toBe(0);
  });

  it('coalesces a vehicle between its writes: messages counted, newest time and position kept', async () => {
    const { table, calls } = memoryTable();
    const writer = createDeviceStateWriter(table, { logger: quiet, flushMs: 1_000, heartbeatMs: 1_000 });
    const at = (t: number, lat: number) =>
      vehicle('tram-1', {
        position: { lat, lon: 24.7 },
        sources: { position: { vendorId: 'positions', observedAt: t } },
      });
    writer.add(snapshot(T0, [at(T0, 59.1)]));
    writer.add(snapshot(T0 + 2_000, [at(T0 + 2_000, 59.3)]));
    writer.add(snapshot(T0 + 3_000, [at(T0 + 1_000, 59.2)])); // late: counted, not newest
    await writer.flush();
    expect(calls.at(-1)!.get('tram-1')).toEqual({
      seenAt: T0 + 2_000,
      position: { lat: 59.3, lon: 24.7 },
      quality: 0,
      count: 3,
    });
    writer.add(snapshot(T0 + 4_000, [at(T0 + 4_000, 59.4)]));
    await writer.flush();
    expect(calls.at(-1)!.get('tram-1')).toMatchObject({ seenAt: T0 + 4_000, count: 1 });
  });

  it("carries a vehicle's quality bits, ORed, to its turn", async () => {
    const { table, calls } = memoryTable();
    const writer = createDeviceStateWriter(table, { logger: quiet, flushMs: 10_000, heartbeatMs: 60_000 });
    const id = IDS.find((i) => deviceStateBucket(i) % 6 === 2)!;
    writer.add(snapshot(T0, [vehicle(id, { quality: QualityFlag.Stale })]));
    writer.add(snapshot(T0 + 1_000, [vehicle(id, { quality: QualityFlag.InvalidPosition })]));
    writer.add(snapshot(T0 + 2_000, [vehicle(id)]));
    await writer.flush();
    await writer.flush();
    expect(calls).toHaveLength(0); // turns 0 and 1
    await writer.flush();
    expect(calls.at(-1)!.get(id)).toEqual({
      seenAt: T0 + 2_000,
      quality: QualityFlag.Stale | QualityFlag.InvalidPosition,
      count: 3,
    });
  });

  it('keeps what a failed write held and writes it with what arrived since', async () => {
    const { table, failing, calls } = memoryTable();
    const warnings: string[] = [];
    const writer = createDeviceStateWriter(table, {
      logger: { warn: (_o, m) => warnings.push(m) },
      flushMs: 1_000,
      heartbeatMs: 1_000,
    });
    const id = IDS[0]!;
    failing.add(deviceStateBucket(id));
    writer.add(snapshot(T0, [vehicle(id, { quality: QualityFlag.Partial })]));
    writer.add(snapshot(T0 + 1_000, [vehicle(id)]));
    expect(await writer.flush()).toEqual({ written: 0, failed: 1 });
    expect(warnings).toEqual(['device state flush failed; the next one retries']);
    expect(writer.pending).toBe(1);

    failing.clear();
    writer.add(snapshot(T0 + 2_000, [vehicle(id)]));
    expect(await writer.flush()).toEqual({ written: 1, failed: 0 });
    expect(calls.at(-1)!.get(id)).toEqual({ seenAt: T0 + 2_000, quality: QualityFlag.Partial, count: 3 });
    expect(writer.pending).toBe(0);
  });

  it('paces a periodic flush partition by partition; flush({ all }) runs after it without waiting', async () => {
    const { table, calls, written } = memoryTable();
    const gates: (() => void)[] = [];
    const writer = createDeviceStateWriter(table, {
      logger: quiet,
      flushMs: 10_000,
      heartbeatMs: 60_000,
      pace: () => new Promise<void>((resolve) => gates.push(resolve)),
    });
    writer.add(
      snapshot(
        T0,
        IDS.map((id) => vehicle(id)),
      ),
    );
    const periodic = writer.flush();
    expect(writer.flush()).toBe(periodic); // a second periodic flush joins the running one
    const all = writer.flush({ all: true });

    // Nothing is written before the pace lets a partition go, then one partition per release.
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(0);
    const turnPartitions = new Set(IDS.map(deviceStateBucket).filter((b) => b % 6 === 0)).size;
    expect(turnPartitions).toBeGreaterThan(1);
    for (let released = 1; released <= turnPartitions; released++) {
      expect(gates).toHaveLength(1);
      gates.shift()!();
      await new Promise((r) => setImmediate(r));
      // The last release lets the stop flush write everything else at once.
      if (released < turnPartitions) expect(calls).toHaveLength(released);
    }
    const first = await periodic;
    expect(first.written).toBeGreaterThan(0);
    // The stop flush writes the rest without asking the pace.
    expect(await all).toEqual({ written: IDS.length - first.written, failed: 0 });
    expect(gates).toHaveLength(0);
    expect(written().sort()).toEqual([...IDS].sort());
    expect(writer.pending).toBe(0);
  });

  it('forgets a vehicle not seen since its last write when its turn comes again', async () => {
    const { table } = memoryTable();
    const writer = createDeviceStateWriter(table, { logger: quiet, flushMs: 10_000, heartbeatMs: 20_000 });
    writer.add(
      snapshot(
        T0,
        IDS.map((id) => vehicle(id)),
      ),
    );
    await writer.flush();
    await writer.flush();
    expect(writer.held).toBe(IDS.length);
    // Half the fleet keeps reporting.
    const staying = IDS.slice(0, 48);
    writer.add(
      snapshot(
        T0 + 1_000,
        staying.map((id) => vehicle(id)),
      ),
    );
    await writer.flush();
    await writer.flush();
    expect(writer.held).toBe(48);
    expect(writer.pending).toBe(0);
  });
});
