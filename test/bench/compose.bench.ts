// Benchmark "compose": four vendors × N vehicles through the default pipeline, then MessagePack encode/decode.
// Targets (issue #2): compose + encode ≤ 2 µs per vehicle at N = 50,000; MessagePack ≤ 0.5 × JSON size.
// It also measures what moving a per-type batch to a worker thread would cost at the least (structured clone
// there and back), against the per-type stage itself: the figure behind docs/decisions/0002.

import { decodeTransportSnapshot, encodeTransportSnapshot } from '@transit-fusion/codec';
import { createCompositionEngine, defaultSteps } from '@transit-fusion/pipeline';
import { createReporter, medianMs, type Figure } from './reporter.js';
import { syntheticFleet, VENDOR_RULES } from './synthetic-fleet.js';

export interface ComposeBenchOptions {
  sizes?: number[];
  write?: (line: string) => void;
}

export async function run(options: ComposeBenchOptions = {}): Promise<Figure[]> {
  const reporter = createReporter('compose', options.write);
  for (const n of options.sizes ?? [1_000, 10_000, 50_000]) {
    const fleet = syntheticFleet(n);
    const engine = createCompositionEngine({
      vendors: VENDOR_RULES,
      steps: defaultSteps(),
      clock: { now: () => fleet.now },
    });
    // Each run composes a fresh copy of the vendor snapshots, as a composer decodes fresh blobs every tick: no
    // string is ever the very object the previous tick saw.
    const runs = n >= 10_000 ? 15 : 31;
    const inputs = Array.from({ length: 2 }, (_, i) => ({
      sequence: i + 1,
      snapshots: structuredClone(fleet.snapshots),
      registry: fleet.registry,
    }));
    let next = 0;
    const input = () => inputs[next++ % inputs.length]!;

    const { snapshot } = await engine.compose(input());
    if (snapshot.vehicles.length !== n)
      throw new Error(`composed ${snapshot.vehicles.length} of ${n} vehicles`);
    const composeMs = await medianMs(() => engine.compose(input()), runs);
    const encoded = encodeTransportSnapshot(snapshot);
    const encodeMs = await medianMs(() => encodeTransportSnapshot(snapshot), runs);
    const decodeMs = await medianMs(() => decodeTransportSnapshot(encoded), runs);
    const jsonBytes = Buffer.byteLength(JSON.stringify(snapshot));
    const perType: number[] = [];
    for (let i = 0; i < runs; i++) perType.push((await engine.compose(input())).report.stageMs.perType);
    const perTypeMs = perType.sort((a, b) => a - b)[runs >> 1]!;
    const cloneMs = await medianMs(() => structuredClone(structuredClone(snapshot.vehicles)), runs);

    const us = (ms: number) => (ms * 1000) / n;
    reporter.figure('us_per_vehicle', n, us(composeMs + encodeMs), 'us', n === 50_000 ? '≤ 2' : '');
    reporter.figure('compose_us_per_vehicle', n, us(composeMs), 'us');
    reporter.figure('encode_us_per_vehicle', n, us(encodeMs), 'us');
    reporter.figure('decode_us_per_vehicle', n, us(decodeMs), 'us');
    reporter.figure('msgpack_to_json_size_ratio', n, encoded.byteLength / jsonBytes, 'ratio', '≤ 0.5');
    reporter.figure('msgpack_bytes_per_vehicle', n, encoded.byteLength / n, 'B');
    reporter.figure('per_type_stage_us_per_vehicle', n, us(perTypeMs), 'us');
    reporter.figure('worker_clone_us_per_vehicle', n, us(cloneMs), 'us');
  }
  return reporter.flush();
}
