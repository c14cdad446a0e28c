import { isConfigError } from '@transit-fusion/service-kit';
import { QualityFlag, type TransportSnapshot, type Vehicle } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';
import { createChangeTracker } from './change-summary.js';
import { composerConfigFromEnv } from './config.js';
import { createQualityMonitor, distanceM } from './quality-monitor.js';

const ENV = {
  TF_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  TF_SERVICEBUS_CONNECTION_STRING:
    'Endpoint=sb://localhost;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true;',
  TF_COMPOSER_VENDORS: JSON.stringify([
    { vendorId: 'positions', match: { by: 'key' } },
    { vendorId: 'delays', match: { by: 'attribute', attribute: 'tripId' } },
  ]),
  TF_COMPOSER_FLEET_REGISTRY_URL: 'http://localhost:8090/fleet-registry.json',
};

const vehicle = (id: string, fields: Partial<Vehicle> = {}): Vehicle => ({
  id,
  transportType: 'bus',
  status: 'on_duty',
  sources: {},
  quality: 0,
  ...fields,
});
const snapshot = (generatedAt: number, vehicles: Vehicle[]): TransportSnapshot => ({
  sequence: generatedAt,
  generatedAt,
  sources: [],
  vehicles,
});

describe('composerConfigFromEnv', () => {
  it('reads the vendors, the registry source and derives the take-over time from the schedule', () => {
    const config = composerConfigFromEnv(ENV);
    expect(config.vendors.map((v) => v.vendorId)).toEqual(['positions', 'delays']);
    expect(config.registrySource).toEqual({ url: new URL('http://localhost:8090/fleet-registry.json') });
    expect(config).toMatchObject({
      schedule: '* * * * * *',
      tickIntervalMs: 1000,
      budgetMs: 900,
      prefetchLeadMs: 300,
      snapshotsTopic: 'snapshots',
      deviceStateFlushMs: 10_000,
      deviceStateHeartbeatMs: 60_000,
    });
    expect(config.lease).toEqual({
      container: 'leases',
      blob: 'composer-leader',
      durationSeconds: 15,
      takeoverAfterMs: 1500,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad setting', () => {
    try {
      composerConfigFromEnv({
        ...ENV,
        TF_COMPOSER_VENDORS: JSON.stringify([{ vendorId: 'a', match: { by: 'colour' } }]),
        TF_COMPOSER_FLEET_REGISTRY_FILE: '/etc/registry.json',
        TF_COMPOSER_BUDGET_MS: '1500',
      });
      throw new Error('expected a ConfigError');
    } catch (error) {
      if (!isConfigError(error)) throw error;
      expect(error.issues.map((i) => i.variable)).toEqual(['TF_COMPOSER_VENDORS[0].match.by']);
    }
    try {
      composerConfigFromEnv({
        ...ENV,
        TF_COMPOSER_FLEET_REGISTRY_FILE: '/etc/r.json',
        TF_COMPOSER_BUDGET_MS: '1500',
        TF_COMPOSER_PREFETCH_LEAD_MS: '1000',
        TF_COMPOSER_DEVICE_STATE_FLUSH_MS: '30000',
        TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS: '20000',
      });
      throw new Error('expected a ConfigError');
    } catch (error) {
      if (!isConfigError(error)) throw error;
      expect(error.issues).toEqual([
        {
          variable: 'TF_COMPOSER_BUDGET_MS',
          message: "must be shorter than the schedule's interval (1000 ms)",
        },
        {
          variable: 'TF_COMPOSER_PREFETCH_LEAD_MS',
          message: "must be shorter than the schedule's interval (1000 ms)",
        },
        {
          variable: 'TF_COMPOSER_FLEET_REGISTRY_FILE',
          message: 'set exactly one of TF_COMPOSER_FLEET_REGISTRY_FILE and TF_COMPOSER_FLEET_REGISTRY_URL',
        },
        {
          variable: 'TF_COMPOSER_DEVICE_STATE_HEARTBEAT_MS',
          message: 'must be at least TF_COMPOSER_DEVICE_STATE_FLUSH_MS',
        },
      ]);
    }
  });
});

describe('change summary', () => {
  it('counts vehicles added, removed, changed and unchanged since the previous snapshot', () => {
    const tracker = createChangeTracker();
    expect(
      tracker.summarise(snapshot(1, [vehicle('a'), vehicle('b', { position: { lat: 1, lon: 2 } })])),
    ).toEqual({
      added: 2,
      removed: 0,
      changed: 0,
      unchanged: 0,
    });
    expect(
      tracker.summarise(
        snapshot(2, [vehicle('b', { position: { lat: 1, lon: 2.0001 } }), vehicle('c'), vehicle('a')]),
      ),
    ).toEqual({ added: 1, removed: 0, changed: 1, unchanged: 1 });
    expect(tracker.summarise(snapshot(3, [vehicle('c', { status: 'parked' })]))).toEqual({
      added: 0,
      removed: 2,
      changed: 1,
      unchanged: 0,
    });
  });
});

describe('quality monitor', () => {
  const settings = { intervalMs: 1000, windowMs: 10_000, threshold: 3, maxSpeedMps: 70 };

  it('alerts on repeated invalid coordinates within the window, once, and again only after recovering', () => {
    const monitor = createQualityMonitor(settings);
    const bad = (t: number) =>
      snapshot(t, [vehicle('x', { quality: QualityFlag.InvalidPosition }), vehicle('ok')]);
    monitor.observe(bad(1_000));
    monitor.observe(bad(2_000));
    expect(monitor.check()).toEqual([]);
    monitor.observe(bad(3_000));
    expect(monitor.check()).toEqual([
      {
        vehicleId: 'x',
        invalidPositions: 3,
        impossibleJumps: 0,
        quality: QualityFlag.InvalidPosition,
        windowMs: 10_000,
        detectedAt: 3_000,
      },
    ]);
    expect(monitor.check()).toEqual([]);
    monitor.observe(snapshot(30_000, [])); // the window moves past the incidents
    expect(monitor.check()).toEqual([]);
  });

  it('counts a move faster than the bound as an impossible jump, but not a fast legal one', () => {
    const monitor = createQualityMonitor({ ...settings, threshold: 1 });
    const at = (t: number, lat: number, id: string) =>
      vehicle(id, { position: { lat, lon: 24 }, sources: { position: { vendorId: 'p', observedAt: t } } });
    // 0.0005° ≈ 56 m in 1 s: a train at full speed. 0.01° ≈ 1.1 km in 1 s: impossible.
    monitor.observe(snapshot(1_000, [at(1_000, 59, 'train'), at(1_000, 59, 'glitch')]));
    monitor.observe(snapshot(2_000, [at(2_000, 59.0005, 'train'), at(2_000, 59.01, 'glitch')]));
    expect(monitor.check().map((a) => [a.vehicleId, a.impossibleJumps, a.quality])).toEqual([
      ['glitch', 1, QualityFlag.ImpossibleJump],
    ]);
    expect(distanceM(59, 24, 59.01, 24)).toBeCloseTo(1_112, -1);
  });
});
