import { QualityFlag, type Vehicle } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import {
  createCompositionEngine,
  defaultSteps,
  isPipelineError,
  parseFleetRegistry,
  type Processor,
} from './index.js';
import { FLEET, fixedClock, rec, registry, RULES, snap, T0 } from '../test/fixtures.js';

describe('composition engine', () => {
  it('runs the default steps in their explicit order', () => {
    const engine = createCompositionEngine({ vendors: RULES });
    expect(engine.stepNames).toEqual({
      pre: ['detect-transport-type', 'filter-invalid-positions'],
      perType: ['validate-ranges'],
      post: ['mark-freshness', 'derive-status'],
    });
  });

  it('composes a snapshot end to end with the default steps', async () => {
    const engine = createCompositionEngine({ vendors: RULES, clock: fixedClock() });
    const { snapshot, report } = await engine.compose({
      sequence: 7,
      registry: registry(),
      snapshots: [
        snap('A', [
          rec('A', 'g1', { position: { lat: 59.4, lon: 24.7 }, tripId: 't1' }),
          rec('A', 'g2', { position: { lat: 0, lon: 0 }, observedAt: T0 - 120_000 }),
        ]),
        snap('C', [rec('C', '1001', { fuel: 130 })]),
        snap('D', [rec('D', '35000001', { speed: 12 }), rec('D', '35000002', { speed: 0 })]),
      ],
    });
    expect(snapshot.sequence).toBe(7);
    expect(snapshot.generatedAt).toBe(T0);
    const [bus1, bus2] = snapshot.vehicles as [Vehicle, Vehicle];
    expect(bus1).toMatchObject({
      id: 'bus-1',
      status: 'on_duty',
      speed: 12,
      quality: QualityFlag.FuelOutOfRange,
    });
    expect(bus1.fuel).toBeUndefined();
    expect(bus2.position).toBeUndefined();
    expect(bus2.status).toBe('parked');
    expect(bus2.quality).toBe(QualityFlag.InvalidPosition | QualityFlag.Partial);
    expect(report.flags).toEqual({ Partial: 1, InvalidPosition: 1, FuelOutOfRange: 1 });
    expect(report.counters).toEqual({ 'filter-invalid-positions.removed': 1, 'validate-ranges.fuel': 1 });
    expect(Object.keys(report.stageMs)).toEqual(['match', 'pre', 'perType', 'post']);
  });

  it('runs per-type chains concurrently, each type through only the steps for it', async () => {
    const started: string[] = [];
    let releaseBus!: () => void;
    const busGate = new Promise<void>((resolve) => (releaseBus = resolve));
    const slow: Processor = {
      name: 'slow-bus',
      transportTypes: ['bus'],
      async process(vs) {
        started.push(`bus:${vs.length}`);
        await busGate; // would deadlock if the tram chain waited for the bus chain
      },
    };
    const tramOnly: Processor = {
      name: 'tram-only',
      transportTypes: ['tram'],
      process(vs) {
        started.push(`tram:${vs.length}`);
        releaseBus();
      },
    };
    const engine = createCompositionEngine({
      vendors: RULES,
      clock: fixedClock(),
      steps: { pre: [], perType: [slow, tramOnly], post: [] },
    });
    const { snapshot } = await engine.compose({
      sequence: 1,
      registry: registry(),
      snapshots: [snap('A', [rec('A', 'g7'), rec('A', 'g1'), rec('A', 'g2')])],
    });
    expect(started).toEqual(['bus:2', 'tram:1']);
    // Output is grouped by type in TRANSPORT_TYPES order, match order within a type.
    expect(snapshot.vehicles.map((v) => v.id)).toEqual(['bus-1', 'bus-2', 'tram-7']);
  });

  it('lets a step replace the batch to drop vehicles', async () => {
    const dropParked: Processor = {
      name: 'drop-parked',
      process: (vs) => vs.filter((v) => v.status !== 'parked'),
    };
    const engine = createCompositionEngine({
      vendors: RULES,
      clock: fixedClock(),
      steps: { ...defaultSteps(), post: [...defaultSteps().post, dropParked] },
    });
    const { snapshot } = await engine.compose({
      sequence: 1,
      registry: registry(),
      snapshots: [snap('D', [rec('D', '35000001', { speed: 0 }), rec('D', '35000002', { speed: 9 })])],
    });
    expect(snapshot.vehicles.map((v) => v.id)).toEqual(['bus-2']);
  });

  it('a throwing step fails the composition with a PipelineError naming the step', async () => {
    const broken: Processor = {
      name: 'broken',
      process() {
        throw new Error('boom');
      },
    };
    const engine = createCompositionEngine({
      vendors: RULES,
      steps: { pre: [broken], perType: [], post: [] },
    });
    const failure = await engine
      .compose({ sequence: 1, registry: registry(), snapshots: [] })
      .catch((e) => e);
    expect(isPipelineError(failure)).toBe(true);
    expect(failure).toMatchObject({ code: 'PROCESSOR_FAILED', message: expect.stringContaining('"broken"') });
    expect((failure as Error).cause).toBeInstanceOf(Error);
  });

  it.each([
    [{ vendors: [] }, /no vendors/],
    [{ vendors: [...RULES, RULES[0]!] }, /"A" is configured twice/],
    [{ vendors: RULES, priority: ['A', 'Q'] }, /unknown vendor "Q"/],
    [
      { vendors: RULES, steps: { pre: defaultSteps().pre, perType: [], post: defaultSteps().pre } },
      /step "detect-transport-type" appears twice/,
    ],
    [
      {
        vendors: Array.from({ length: 32 }, (_, i) => ({ vendorId: `v${i}`, match: { by: 'key' as const } })),
      },
      /at most 31 vendors/,
    ],
  ])('rejects inconsistent configuration %#', (options, message) => {
    expect(() => createCompositionEngine(options)).toThrow(message);
  });
});

describe('parseFleetRegistry', () => {
  it('parses a registry document', () => {
    const parsed = parseFleetRegistry({ vehicles: FLEET });
    expect(parsed.size).toBe(FLEET.length);
    expect(parsed.lookup('D', '35000007')?.vehicleId).toBe('tram-7');
    expect(parsed.lookup('D', 'nope')).toBeUndefined();
  });

  it('names the bad field of a malformed document', () => {
    expect(() =>
      parseFleetRegistry({ vehicles: [{ vehicleId: 'x', transportType: 'zeppelin', keys: {} }] }),
    ).toThrow(/INVALID_REGISTRY: vehicles\.0\.transportType/);
    expect(() => parseFleetRegistry('nope')).toThrow(/INVALID_REGISTRY: document/);
  });
});
