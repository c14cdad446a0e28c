import { isConfigError } from '@transit-fusion/service-kit';
import { describe, expect, it } from 'vitest';
import { collectorConfigFromEnv } from './config.js';

const STORAGE = { TF_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' };
const BUS = {
  TF_SERVICEBUS_CONNECTION_STRING:
    'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
};
const VENDORS = {
  positions: { kind: 'pull', format: 'gtfs-rt-vehicle-positions', url: 'http://localhost:8090/positions' },
  speed: {
    kind: 'pull',
    format: 'siri-vm',
    url: 'https://vendor.example/siri?key=abc',
    schedule: '*/2 * * * * *',
    budgetMs: 1500,
    headers: { 'x-api-key': { fromFile: '/run/secrets/speed' } },
  },
  fuel: { kind: 'push' },
};

function issuesOf(env: Record<string, string>, files: Record<string, string> = {}) {
  try {
    collectorConfigFromEnv(env, {
      readFile: (p) => {
        if (!(p in files)) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        return files[p]!;
      },
    });
  } catch (error) {
    if (isConfigError(error)) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('collectorConfigFromEnv', () => {
  it('reads pull and push vendors with their defaults, sorted by id, frozen', () => {
    const config = collectorConfigFromEnv(
      { ...STORAGE, ...BUS, TF_COLLECTOR_VENDORS: JSON.stringify(VENDORS) },
      { readFile: () => 'speed-api-key-from-a-file\n' },
    );
    expect(config.vendors.map((v) => v.id)).toEqual(['fuel', 'positions', 'speed']);
    const [fuel, positions, speed] = config.vendors;
    expect(fuel).toMatchObject({
      kind: 'push',
      topic: 'vendor-pushes',
      subscription: 'collector',
      schedule: '* * * * * *',
      budgetMs: 800,
      batchSize: 64,
      maxRecordAgeMs: 900_000,
    });
    expect(positions).toMatchObject({ kind: 'pull', format: 'gtfs-rt-vehicle-positions', budgetMs: 800 });
    expect(speed).toMatchObject({ schedule: '*/2 * * * * *', budgetMs: 1500 });
    if (speed?.kind !== 'pull') throw new Error('speed is a pull vendor');
    expect(speed.headers['x-api-key']!.reveal().toString()).toBe('speed-api-key-from-a-file');
    // Secrets never print.
    expect(JSON.stringify(config)).not.toContain('speed-api-key-from-a-file');
    expect(config.serviceBus).toBeDefined();
    expect(config.port).toBe(8082);
    expect(Object.isFrozen(config) && Object.isFrozen(config.vendors) && Object.isFrozen(fuel)).toBe(true);
  });

  it('TF_COLLECTOR_ONLY picks the vendors of this container; Service Bus is needed only for push vendors', () => {
    const config = collectorConfigFromEnv({
      ...STORAGE,
      TF_COLLECTOR_VENDORS: JSON.stringify(VENDORS),
      TF_COLLECTOR_ONLY: 'positions',
    });
    expect(config.vendors.map((v) => v.id)).toEqual(['positions']);
    expect(config.serviceBus).toBeUndefined();

    expect(
      issuesOf({ ...STORAGE, TF_COLLECTOR_VENDORS: JSON.stringify(VENDORS), TF_COLLECTOR_ONLY: 'fuel' }),
    ).toEqual([
      {
        variable: 'TF_SERVICEBUS_CONNECTION_STRING',
        message: 'is required unless TF_SERVICEBUS_NAMESPACE is set',
      },
    ]);
    expect(
      issuesOf({
        ...STORAGE,
        TF_COLLECTOR_VENDORS: JSON.stringify(VENDORS),
        TF_COLLECTOR_ONLY: 'positions,nope',
      }),
    ).toEqual([{ variable: 'TF_COLLECTOR_ONLY', message: 'vendor nope is not configured' }]);
  });

  it('reads vendors from a file as well, but each vendor only once', () => {
    const files = { '/etc/tf/vendors.json': JSON.stringify({ positions: VENDORS.positions }) };
    const env = { ...STORAGE, TF_COLLECTOR_VENDORS_FILE: '/etc/tf/vendors.json' };
    expect(
      collectorConfigFromEnv(env, { readFile: (p) => files[p as keyof typeof files] }).vendors,
    ).toHaveLength(1);
    expect(
      issuesOf({ ...env, TF_COLLECTOR_VENDORS: JSON.stringify({ positions: VENDORS.positions }) }, files),
    ).toEqual([
      {
        variable: 'TF_COLLECTOR_VENDORS',
        message: 'vendor positions is also defined in TF_COLLECTOR_VENDORS_FILE; define each vendor once',
      },
    ]);
    expect(issuesOf({ ...STORAGE, TF_COLLECTOR_VENDORS_FILE: '/missing.json' })).toEqual([
      expect.objectContaining({
        variable: 'TF_COLLECTOR_VENDORS_FILE',
        message: expect.stringContaining('ENOENT'),
      }),
    ]);
  });

  it('names every bad setting at once', () => {
    const issues = issuesOf({
      TF_COLLECTOR_VENDORS: JSON.stringify({
        'Bad Id': VENDORS.positions,
        a: { kind: 'pull', format: 'csv', url: 'ftp://x' },
        b: { kind: 'pull', format: 'json', url: 'http://x/feed' },
        c: { ...VENDORS.positions, schedule: 'every second' },
        d: { ...VENDORS.positions, budgetMs: 1000 },
        e: { kind: 'carrier-pigeon' },
      }),
      TF_COLLECTOR_PORT: 'eighty',
    });
    const text = issues.map((i) => `${i.variable}: ${i.message}`).join('\n');
    expect(text).toContain('TF_COLLECTOR_PORT');
    expect(text).toContain('"kind": "pull"');
    expect(text).toMatch(/TF_STORAGE/);
    expect(
      issuesOf({ ...STORAGE, TF_COLLECTOR_VENDORS: JSON.stringify({ 'Bad Id': VENDORS.positions }) }),
    ).toEqual([
      { variable: 'TF_COLLECTOR_VENDORS.Bad Id', message: 'vendor ids must match [a-z0-9][a-z0-9_-]{0,63}' },
    ]);
    // Once the shapes are right, the deeper checks: the json mapping, the cron pattern, the budget.
    const deeper = issuesOf({
      ...STORAGE,
      TF_COLLECTOR_VENDORS: JSON.stringify({
        b: { kind: 'pull', format: 'json', url: 'http://x/feed' },
        c: { ...VENDORS.positions, schedule: 'every second' },
        d: { ...VENDORS.positions, budgetMs: 1000 },
        s: VENDORS.speed,
      }),
    }).map((i) => i.message);
    expect(deeper).toEqual([
      expect.stringMatching(/^b: INVALID_MAPPING: the json format needs a field mapping/),
      expect.stringMatching(/^c: schedule "every second" is not a six-field \(seconds\) cron pattern/),
      "d: budgetMs 1000 must be shorter than the schedule's interval (1000 ms), or ticks would be skipped",
      's: header x-api-key: cannot read /run/secrets/speed (ENOENT)',
    ]);
  });

  it('push vendors sharing a subscription must be drained alike', () => {
    expect(
      issuesOf({
        ...STORAGE,
        ...BUS,
        TF_COLLECTOR_VENDORS: JSON.stringify({
          fuel: { kind: 'push' },
          tyres: { kind: 'push', batchSize: 8 },
        }),
      }),
    ).toEqual([
      {
        variable: 'TF_COLLECTOR_VENDORS',
        message:
          'tyres and fuel share subscription vendor-pushes/collector but differ in schedule, budgetMs or batchSize',
      },
    ]);
  });
});
