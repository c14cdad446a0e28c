// ensureTopology's decisions against a Map-backed fake of the few admin-client methods it uses. The real
// ServiceBusAdministrationClient cannot run here: it speaks HTTPS/ATOM to Azure only, and neither Microsoft's
// emulator nor the project's has an admin API (their entities come from a config file).

import { describe, expect, it } from 'vitest';
import { messagingConfigFromEnv } from './messaging-config.js';
import { isMessagingError } from './messaging-error.js';
import type { MessagingLogger } from './messaging-logger.js';
import {
  emulatorConfigOf,
  ensureTopology,
  isoDuration,
  type Topology,
  type TopologyAdmin,
} from './topology.js';

const azure = messagingConfigFromEnv({
  TF_SERVICEBUS_CONNECTION_STRING:
    'Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=manage;SharedAccessKey=a2V5',
});
const emulator = messagingConfigFromEnv({
  TF_SERVICEBUS_CONNECTION_STRING:
    'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=any;SharedAccessKey=any;UseDevelopmentEmulator=true',
});

const topology: Topology = {
  topics: [
    { name: 'vendor-b', subscriptions: [{ name: 'collector', maxDeliveryCount: 5, lockDurationMs: 30_000 }] },
    {
      name: 'snapshots',
      subscriptions: [
        { name: 'broadcaster', autoDeleteOnIdleMs: 3_600_000 },
        { name: 'archiver', lockDurationMs: 90_000 },
      ],
    },
  ],
};

type Call = [string, ...unknown[]];

/** Entities in Maps; records calls; fails on demand. */
function fakeAdmin(
  existing: { topics?: string[]; subscriptions?: string[] } = {},
  fail?: (call: Call) => unknown,
) {
  const topics = new Set(existing.topics ?? []);
  const subscriptions = new Map<string, unknown>((existing.subscriptions ?? []).map((s) => [s, {}]));
  const calls: Call[] = [];
  const record = (call: Call) => {
    calls.push(call);
    const error = fail?.(call);
    if (error) throw error;
  };
  const admin: TopologyAdmin = {
    async topicExists(topic) {
      record(['topicExists', topic]);
      return topics.has(topic);
    },
    async createTopic(topic, options) {
      record(['createTopic', topic, options]);
      topics.add(topic);
    },
    async subscriptionExists(topic, sub) {
      record(['subscriptionExists', topic, sub]);
      return subscriptions.has(`${topic}/${sub}`);
    },
    async createSubscription(topic, sub, options) {
      record(['createSubscription', topic, sub, options]);
      subscriptions.set(`${topic}/${sub}`, options);
    },
  };
  return { admin, calls, topics, subscriptions };
}

function recordingLogger() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const logger: MessagingLogger = {
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
  return { logger, lines };
}

// The shape of the admin client's RestError (statusCode + code), without depending on core-rest-pipeline.
const restError = (statusCode: number, code: string) =>
  Object.assign(new Error('refused'), { name: 'RestError', statusCode, code });

describe('ensureTopology', () => {
  it('creates every missing topic (batched operations on) and subscription, with their settings', async () => {
    const { admin, calls } = fakeAdmin();
    const { logger } = recordingLogger();
    const report = await ensureTopology(azure, topology, logger, { admin });
    expect(report).toEqual({
      createdTopics: ['vendor-b', 'snapshots'],
      createdSubscriptions: ['vendor-b/collector', 'snapshots/broadcaster', 'snapshots/archiver'],
    });
    expect(calls.filter(([name]) => name.startsWith('create'))).toEqual([
      ['createTopic', 'vendor-b', { enableBatchedOperations: true }],
      ['createSubscription', 'vendor-b', 'collector', { maxDeliveryCount: 5, lockDuration: 'PT30S' }],
      ['createTopic', 'snapshots', { enableBatchedOperations: true }],
      ['createSubscription', 'snapshots', 'broadcaster', { autoDeleteOnIdle: 'PT60M' }],
      ['createSubscription', 'snapshots', 'archiver', { lockDuration: 'PT1M30S' }],
    ]);
  });

  it('leaves existing entities alone and creates only what is missing', async () => {
    const { admin, calls } = fakeAdmin({
      topics: ['vendor-b', 'snapshots'],
      subscriptions: ['vendor-b/collector', 'snapshots/archiver'],
    });
    const report = await ensureTopology(azure, topology, recordingLogger().logger, { admin });
    expect(report).toEqual({ createdTopics: [], createdSubscriptions: ['snapshots/broadcaster'] });
    expect(calls.filter(([name]) => name.startsWith('create'))).toHaveLength(1);
  });

  it('takes a topic or subscription created meanwhile by another instance (409) as done', async () => {
    const { admin } = fakeAdmin({}, ([name, topic]) =>
      name === 'createTopic' && topic === 'vendor-b'
        ? restError(409, 'MessageEntityAlreadyExistsError')
        : undefined,
    );
    const report = await ensureTopology(azure, topology, recordingLogger().logger, { admin });
    expect(report.createdTopics).toEqual(['snapshots']);
    expect(report.createdSubscriptions).toContain('vendor-b/collector');
  });

  it('skips the emulator with an info log, without touching any admin API', async () => {
    const { admin, calls } = fakeAdmin();
    const { logger, lines } = recordingLogger();
    const report = await ensureTopology(emulator, topology, logger, { admin });
    expect(report).toEqual({ skipped: 'emulator', createdTopics: [], createdSubscriptions: [] });
    expect(calls).toEqual([]);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', msg: expect.stringMatching(/emulator/) }),
    ]);
  });

  it.each([
    [401, 'UnauthorizedRequestError'],
    [403, 'QuotaExceededError'],
  ])('warns and continues when the credentials lack Manage rights (%i)', async (status, code) => {
    const { admin } = fakeAdmin({}, ([name]) =>
      name === 'topicExists' ? restError(status, code) : undefined,
    );
    const { logger, lines } = recordingLogger();
    const report = await ensureTopology(azure, topology, logger, { admin });
    expect(report).toEqual({ skipped: 'unauthorized', createdTopics: [], createdSubscriptions: [] });
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        obj: expect.objectContaining({ status, step: 'topic vendor-b' }),
        msg: expect.stringMatching(/Manage rights/),
      }),
    ]);
  });

  it('recognises the AMQP-style UnauthorizedAccess code too', async () => {
    const denied = Object.assign(new Error('denied'), { code: 'UnauthorizedAccess' });
    const { admin } = fakeAdmin({ topics: ['vendor-b'] }, ([name]) =>
      name === 'subscriptionExists' ? denied : undefined,
    );
    const report = await ensureTopology(azure, topology, recordingLogger().logger, { admin });
    expect(report.skipped).toBe('unauthorized');
  });

  it('fails with UNAVAILABLE naming the step for anything else', async () => {
    const { admin } = fakeAdmin({}, ([name]) =>
      name === 'createSubscription' ? restError(500, 'ServiceError') : undefined,
    );
    const error = await ensureTopology(azure, topology, recordingLogger().logger, { admin }).catch((e) => e);
    expect(isMessagingError(error) && error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/subscription vendor-b\/collector on contoso\.servicebus\.windows\.net/);
    expect(error.cause).toMatchObject({ statusCode: 500 });
  });

  it.each([
    [{ topics: [{ name: 'bad name', subscriptions: [] }] }, /topic name "bad name"/],
    [
      {
        topics: [
          { name: 't', subscriptions: [] },
          { name: 't', subscriptions: [] },
        ],
      },
      /topic t is listed twice/,
    ],
    [
      { topics: [{ name: 't', subscriptions: [{ name: 's', maxDeliveryCount: 0 }] }] },
      /t\/s maxDeliveryCount/,
    ],
    [
      { topics: [{ name: 't', subscriptions: [{ name: 's', lockDurationMs: 1_000 }] }] },
      /t\/s lockDurationMs/,
    ],
    [
      { topics: [{ name: 't', subscriptions: [{ name: 's', autoDeleteOnIdleMs: 60_000 }] }] },
      /t\/s autoDeleteOnIdleMs must be at least 300000/,
    ],
    [{ topics: [{ name: 't', subscriptions: [{ name: 'x'.repeat(51) }] }] }, /subscription name/],
  ])('rejects an invalid topology before any call: %j', async (bad, message) => {
    const { admin, calls } = fakeAdmin();
    const error = await ensureTopology(azure, bad, recordingLogger().logger, { admin }).catch((e) => e);
    expect(isMessagingError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(message);
    expect(calls).toEqual([]);
  });
});

describe('emulatorConfigOf', () => {
  it("writes the topology in the emulator's config format, with Service Bus defaults", () => {
    expect(emulatorConfigOf(topology)).toEqual({
      UserConfig: {
        Namespaces: [
          {
            Name: 'sbemulatorns',
            Queues: [],
            Topics: [
              {
                Name: 'vendor-b',
                Properties: {},
                Subscriptions: [
                  { Name: 'collector', Properties: { LockDuration: 'PT30S', MaxDeliveryCount: 5 } },
                ],
              },
              {
                Name: 'snapshots',
                Properties: {},
                Subscriptions: [
                  { Name: 'broadcaster', Properties: { LockDuration: 'PT1M', MaxDeliveryCount: 10 } },
                  { Name: 'archiver', Properties: { LockDuration: 'PT1M30S', MaxDeliveryCount: 10 } },
                ],
              },
            ],
          },
        ],
        Logging: { Type: 'File' },
      },
    });
  });

  it.each([
    [60_000, 'PT1M'],
    [90_000, 'PT1M30S'],
    [2_000, 'PT2S'],
    [1_500, 'PT1.5S'],
    [300_000, 'PT5M'],
  ])('isoDuration(%i) = %s', (ms, iso) => expect(isoDuration(ms)).toBe(iso));
});
