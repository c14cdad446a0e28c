import { isConfigError, type ConfigError } from '@transit-fusion/service-kit';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DUMMY_CONNECTION_STRING } from '../test/helpers.js';
import { receiverConfigFromEnv, type ReceiverConfig } from './config.js';

const KEY = 'acme-key-0000000000000001';
const SECRET = 'globex-secret-00000000000001';
const base = { TF_SERVICEBUS_CONNECTION_STRING: DUMMY_CONNECTION_STRING };

function failure(env: Record<string, string>, files: Record<string, string> = {}): ConfigError {
  try {
    receiverConfigFromEnv(env, { readFile: readFrom(files) });
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function readFrom(files: Record<string, string>) {
  return (path: string) => {
    if (!(path in files)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return files[path]!;
  };
}

describe('receiverConfigFromEnv', () => {
  it('fills documented defaults and per-vendor limits, frozen', () => {
    const config = receiverConfigFromEnv({
      ...base,
      TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'api-key', keys: [KEY] } } }),
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 8081,
      topic: 'vendor-pushes',
      maxMessageBytes: 200 * 1024,
      sendTimeoutMs: 10_000,
      retryAfterSeconds: 5,
      brokerProbeIntervalMs: 5_000,
      shutdownTimeoutMs: 25_000,
      logLevel: 'info',
      serviceBus: { kind: 'connection-string', developmentEmulator: true },
    });
    expect(config.vendors.acme).toMatchObject({
      id: 'acme',
      rateLimit: { perSecond: 20, burst: 40 },
      maxBodyBytes: 1024 * 1024,
      maxRecords: 10_000,
    });
    expect(Object.isFrozen(config) && Object.isFrozen(config.vendors.acme)).toBe(true);
  });

  it('merges vendors from the env and from a file, with credentials from files (trimmed)', () => {
    const files = {
      '/mnt/secrets/vendors.json': JSON.stringify({
        globex: {
          auth: { type: 'hmac', secrets: [{ fromFile: '/mnt/secrets/globex' }, SECRET] },
          rateLimit: { perSecond: 5 },
          maxBodyBytes: 65_536,
          maxRecords: 100,
        },
      }),
      '/mnt/secrets/globex': `${SECRET.replace('1', '2')}\n`,
    };
    const config = receiverConfigFromEnv(
      {
        ...base,
        TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'api-key', keys: [KEY] } } }),
        TF_RECEIVER_VENDORS_FILE: '/mnt/secrets/vendors.json',
        TF_RECEIVER_RATE_BURST: '10',
      },
      { readFile: readFrom(files) },
    );
    expect(Object.keys(config.vendors).sort()).toEqual(['acme', 'globex']);
    const globex = config.vendors.globex!;
    expect(globex).toMatchObject({
      rateLimit: { perSecond: 5, burst: 10 },
      maxBodyBytes: 65_536,
      maxRecords: 100,
    });
    expect(globex.auth.type === 'hmac' && globex.auth.secrets.map((s) => s.reveal().toString())).toEqual([
      SECRET.replace('1', '2'),
      SECRET,
    ]);
  });

  it('never prints a credential: JSON, inspect and errors show [redacted]', () => {
    const config: ReceiverConfig = receiverConfigFromEnv({
      ...base,
      TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'api-key', keys: [KEY] } } }),
    });
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(JSON.stringify(config)).not.toContain('SharedAccessKey');
    expect(inspect(config, { depth: 10 })).not.toContain(KEY);

    const error = failure({
      ...base,
      TF_RECEIVER_VENDORS: `{"acme": {"auth": {"type": "api-key", "keys": ["${KEY}"]}}, "x": ${KEY}}`,
    });
    expect(error.message).toBe('invalid configuration: TF_RECEIVER_VENDORS: is not valid JSON');
    const short = failure({
      ...base,
      TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'api-key', keys: ['short-key'] } } }),
    });
    expect(short.message).toContain('TF_RECEIVER_VENDORS.acme.auth.keys[0]: must be at least 16 characters');
    expect(short.message).not.toContain('short-key');
  });

  it.each([
    [{}, /TF_RECEIVER_VENDORS: no vendor configured/],
    [{ TF_RECEIVER_PORT: 'http' }, /TF_RECEIVER_PORT: /],
    [{ TF_RECEIVER_MAX_MESSAGE_BYTES: '1000' }, /TF_RECEIVER_MAX_MESSAGE_BYTES: must be at least 16384/],
    [
      { TF_RECEIVER_VENDORS: JSON.stringify({ 'Bad Vendor': { auth: { type: 'api-key', keys: [KEY] } } }) },
      /vendor ids must match/,
    ],
    [
      { TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'oauth' } } }) },
      /TF_RECEIVER_VENDORS\.acme\.auth\.type/,
    ],
    [
      { TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'hmac' } } }) },
      /set either secret or secrets/,
    ],
    [
      { TF_RECEIVER_VENDORS: JSON.stringify({ acme: { auth: { type: 'api-key', keys: [KEY] }, burst: 3 } }) },
      /TF_RECEIVER_VENDORS\.acme: .*burst/,
    ],
    [
      { TF_RECEIVER_VENDORS_FILE: '/nope.json' },
      /TF_RECEIVER_VENDORS_FILE: cannot read \/nope\.json \(ENOENT\)/,
    ],
    [
      {
        TF_RECEIVER_VENDORS: JSON.stringify({
          acme: { auth: { type: 'api-key', keys: [{ fromFile: '/mnt/k' }] } },
        }),
      },
      /TF_RECEIVER_VENDORS\.acme\.auth\.keys\[0\]: cannot read \/mnt\/k \(ENOENT\)/,
    ],
    [{ TF_LOG_LEVEL: 'loud' }, /TF_LOG_LEVEL: /],
  ])('rejects %j naming the variable', (env, message) => {
    expect(failure({ ...base, ...env }).message).toMatch(message);
  });

  it('refuses a vendor defined twice, and reports Service Bus settings in the same error', () => {
    const vendors = JSON.stringify({ acme: { auth: { type: 'api-key', keys: [KEY] } } });
    const error = failure({ TF_RECEIVER_VENDORS: vendors, TF_RECEIVER_PORT: '-1' });
    expect(error.issues.map((i) => i.variable)).toEqual([
      'TF_RECEIVER_PORT',
      'TF_SERVICEBUS_CONNECTION_STRING',
    ]);
    const twice = failure(
      { ...base, TF_RECEIVER_VENDORS: vendors, TF_RECEIVER_VENDORS_FILE: '/v.json' },
      { '/v.json': vendors },
    );
    expect(twice.message).toMatch(/vendor acme is also defined in TF_RECEIVER_VENDORS_FILE/);
  });
});
