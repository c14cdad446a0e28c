// Configuration in Microsoft's emulator format: defaults, tolerance for its other keys, and errors that name the
// bad field and the entity it belongs to.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entityDefinitions, loadEmulatorConfig, parseEmulatorConfig } from './emulator-config.js';
import { isEmulatorError } from './emulator-error.js';

const withNamespace = (namespace: Record<string, unknown>) => ({
  UserConfig: { Namespaces: [{ Name: 'sbemulatorns', ...namespace }], Logging: { Type: 'File' } },
});

function configError(json: unknown): string {
  try {
    parseEmulatorConfig(json);
  } catch (error) {
    expect(isEmulatorError(error) && error.code).toBe('INVALID_CONFIG');
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('parseEmulatorConfig', () => {
  it('fills in Microsoft’s defaults (LockDuration PT1M, MaxDeliveryCount 10)', () => {
    const config = parseEmulatorConfig(withNamespace({ Queues: [{ Name: 'orders' }] }));
    expect(config.UserConfig.Namespaces[0]!.Queues[0]!.Properties).toMatchObject({
      LockDuration: 'PT1M',
      MaxDeliveryCount: 10,
    });
    expect(entityDefinitions(config)).toMatchObject({
      namespace: 'sbemulatorns',
      queues: [{ name: 'orders', lockDurationMs: 60_000, maxDeliveryCount: 10 }],
      topics: [],
      warnings: [],
    });
    expect(Object.isFrozen(config.UserConfig.Namespaces[0])).toBe(true);
  });

  it('accepts and keeps the keys of Microsoft’s format it does not implement', () => {
    const config = parseEmulatorConfig(
      withNamespace({
        Topics: [
          {
            Name: 'events',
            Properties: { DefaultMessageTimeToLive: 'PT1H', RequiresDuplicateDetection: false },
            Subscriptions: [
              {
                Name: 'audit',
                Properties: {
                  LockDuration: 'PT0.5S',
                  MaxDeliveryCount: 3,
                  DeadLetteringOnMessageExpiration: false,
                  SomethingNew: 1,
                },
              },
            ],
          },
        ],
      }),
    );
    const topic = config.UserConfig.Namespaces[0]!.Topics[0]!;
    expect(topic.Properties).toEqual({ DefaultMessageTimeToLive: 'PT1H', RequiresDuplicateDetection: false });
    expect(topic.Subscriptions[0]!.Properties).toMatchObject({ SomethingNew: 1 });
    expect(entityDefinitions(config).topics[0]!.subscriptions[0]).toEqual({
      name: 'audit',
      lockDurationMs: 500,
      maxDeliveryCount: 3,
    });
  });

  it('warns about settings that would change behaviour: sessions, rules, forwarding', () => {
    const config = parseEmulatorConfig(
      withNamespace({
        Queues: [{ Name: 'q', Properties: { RequiresSession: true, ForwardTo: 'other' } }],
        Topics: [{ Name: 't', Subscriptions: [{ Name: 's', Rules: [{ Name: 'r', Properties: {} }] }] }],
      }),
    );
    expect(entityDefinitions(config).warnings).toEqual([
      'queue "q" requires sessions, which are not supported',
      'queue "q" forwards to "other": ignored',
      'subscription "t/s" has rules: filters are not supported, it receives every message',
    ]);
  });

  it('accepts its own output (an EmulatorConfig is valid input)', () => {
    const config = parseEmulatorConfig(withNamespace({ Queues: [{ Name: 'q' }] }));
    expect(parseEmulatorConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
  });

  it('names the field and the entity of a bad value', () => {
    expect(
      configError(
        withNamespace({ Queues: [{ Name: 'orders', Properties: { LockDuration: '30 seconds' } }] }),
      ),
    ).toMatch(
      /UserConfig\.Namespaces\[0\]\.Queues\[0\]\.Properties\.LockDuration \(queue "orders"\) must be an ISO-8601/,
    );
    expect(
      configError(
        withNamespace({
          Topics: [{ Name: 't', Subscriptions: [{ Name: 'sub', Properties: { MaxDeliveryCount: 0 } }] }],
        }),
      ),
    ).toMatch(
      /Topics\[0\]\.Subscriptions\[0\]\.Properties\.MaxDeliveryCount \(subscription "sub"\) must be a whole/,
    );
    expect(
      configError(withNamespace({ Queues: [{ Name: 'q', Properties: { LockDuration: 'PT10M' } }] })),
    ).toMatch(/PT5M/);
  });

  it('refuses missing or malformed structure and bad names', () => {
    expect(configError({})).toMatch(/UserConfig must be an object/);
    expect(configError({ UserConfig: { Namespaces: [] } })).toMatch(/exactly one namespace/);
    expect(configError(withNamespace({ Queues: {} }))).toMatch(
      /Queues \(namespace "sbemulatorns"\) must be an array/,
    );
    expect(configError(withNamespace({ Queues: [{ Name: 'a/b' }] }))).toMatch(
      /Queues\[0\]\.Name \(queue "a\/b"\) may only contain/,
    );
    expect(configError(withNamespace({ Queues: [{}] }))).toMatch(
      /Queues\[0\]\.Name \(namespace "sbemulatorns"\) must be a string/,
    );
  });

  it('refuses duplicate names, case-insensitively, across queues and topics', () => {
    expect(
      configError(withNamespace({ Queues: [{ Name: 'orders' }], Topics: [{ Name: 'Orders' }] })),
    ).toMatch(/Topics\[0\]\.Name \(topic "Orders"\) duplicates the name of Queues\.0/);
    expect(
      configError(withNamespace({ Topics: [{ Name: 't', Subscriptions: [{ Name: 's' }, { Name: 'S' }] }] })),
    ).toMatch(/Subscriptions\[1\]\.Name \(subscription "S"\) duplicates another subscription/);
  });
});

describe('loadEmulatorConfig', () => {
  it('loads the example config shipped with the emulator', async () => {
    const path = fileURLToPath(new URL('../config/transit-fusion.json', import.meta.url));
    const definitions = entityDefinitions(await loadEmulatorConfig(path));
    expect(definitions.queues.map((q) => q.name)).toEqual(['test-queue']);
    expect(definitions.topics.map((t) => [t.name, t.subscriptions.map((s) => s.name)])).toEqual([
      ['vendor-pushes', ['collector']],
      ['snapshots', ['broadcaster']],
      ['alerts', ['broadcaster']],
      ['tracker-records', ['collector']],
    ]);
    expect(definitions.warnings).toEqual([]);
  });

  it('reports a missing file and bad JSON as CONFIG_UNREADABLE, a bad config with its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-emulator-'));
    await expect(loadEmulatorConfig(join(dir, 'missing.json'))).rejects.toMatchObject({
      code: 'CONFIG_UNREADABLE',
    });
    await writeFile(join(dir, 'bad.json'), '{ "UserConfig": ');
    await expect(loadEmulatorConfig(join(dir, 'bad.json'))).rejects.toMatchObject({
      code: 'CONFIG_UNREADABLE',
      message: expect.stringContaining('is not JSON'),
    });
    await writeFile(join(dir, 'invalid.json'), JSON.stringify({ UserConfig: { Namespaces: [] } }));
    await expect(loadEmulatorConfig(join(dir, 'invalid.json'))).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('invalid.json'),
    });
  });
});
