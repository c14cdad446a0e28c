import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isConfigError, type ConfigError } from './config-error.js';
import { isSecretVariable, loadConfig } from './load-config.js';

const schema = z.object({
  TF_PORT: z.coerce.number().int().min(1).max(65_535).default(8080),
  TF_MODE: z.enum(['fast', 'safe']).default('safe'),
  TF_SERVICEBUS_CONNECTION_STRING: z.string().startsWith('Endpoint=', 'must start with Endpoint='),
  TF_NESTED: z
    .string()
    .default('{"a":{"b":[1]}}')
    .transform((s) => JSON.parse(s) as unknown),
});

function failure(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('parses, applies defaults and freezes deeply', () => {
    const config = loadConfig(schema, { TF_SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://x' });
    expect(config).toEqual({
      TF_PORT: 8080,
      TF_MODE: 'safe',
      TF_SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://x',
      TF_NESTED: { a: { b: [1] } },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen((config.TF_NESTED as { a: { b: number[] } }).a.b)).toBe(true);
  });

  it('names every bad variable in one error', () => {
    const error = failure(() => loadConfig(schema, { TF_PORT: 'eighty', TF_MODE: 'turbo' }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.issues.map((i) => i.variable)).toEqual([
      'TF_PORT',
      'TF_MODE',
      'TF_SERVICEBUS_CONNECTION_STRING',
    ]);
    expect(error.message).toMatch(/^invalid configuration: TF_PORT: .*; TF_MODE: .*; TF_SERVICEBUS_/);
  });

  it('never echoes the value of a secret-looking variable, even from a custom message', () => {
    const secretSchema = z.object({
      TF_API_KEY: z.string().refine((v) => v.length > 40, { message: 'too short' }),
      // A careless custom message that quotes the input.
      TF_PASSWORD: z
        .string()
        .superRefine((v, ctx) => ctx.addIssue({ code: 'custom', message: `bad "${v}"` })),
    });
    const error = failure(() =>
      loadConfig(secretSchema, { TF_API_KEY: 'hunter2-key', TF_PASSWORD: 'p4ssw0rd-value' }),
    );
    expect(error.message).not.toContain('hunter2-key');
    expect(error.message).not.toContain('p4ssw0rd-value');
    expect(error.message).toContain('TF_PASSWORD: bad "[redacted]"');
    expect(error.cause).toBeUndefined();
  });

  it('treats variables listed in options.secrets as secret too', () => {
    const vendors = z.object({
      TF_VENDORS: z.string().superRefine((v, ctx) => ctx.addIssue({ code: 'custom', message: `got ${v}` })),
    });
    const error = failure(() =>
      loadConfig(vendors, { TF_VENDORS: '{"k":"s3cr3t"}' }, { secrets: ['TF_VENDORS'] }),
    );
    expect(error.message).toBe('invalid configuration: TF_VENDORS: got [redacted]');
  });

  it('names paths inside a variable and whole-config issues', () => {
    const nested = z
      .object({ TF_A: z.string().optional(), TF_B: z.string().optional() })
      .refine((env) => env.TF_A || env.TF_B, { message: 'set TF_A or TF_B' });
    expect(failure(() => loadConfig(nested, {})).issues).toEqual([
      { variable: '(config)', message: 'set TF_A or TF_B' },
    ]);
  });

  it.each([
    ['TF_SERVICEBUS_CONNECTION_STRING', true],
    ['TF_RECEIVER_API_KEY', true],
    ['TF_DB_PASSWORD', true],
    ['TF_HMAC_SECRET', true],
    ['TF_TOKEN', true],
    ['TF_RECEIVER_PORT', false],
  ])('isSecretVariable(%s) = %s', (name, secret) => {
    expect(isSecretVariable(name)).toBe(secret);
  });
});
