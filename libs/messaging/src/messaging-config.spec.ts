import { describe, expect, it } from 'vitest';
import { messagingConfigFromEnv } from './messaging-config.js';
import { isMessagingError } from './messaging-error.js';

const SECRET = 'c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=';
const azure = `Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=${SECRET}`;
const emulator = `Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=any;SharedAccessKey=${SECRET};UseDevelopmentEmulator=true`;

function errorOf(env: Record<string, string>): Error {
  try {
    messagingConfigFromEnv(env);
  } catch (error) {
    expect(isMessagingError(error) && error.code).toBe('INVALID_CONFIG');
    return error as Error;
  }
  throw new Error('expected the config to be rejected');
}

describe('messagingConfigFromEnv', () => {
  it('takes an Azure connection string, frozen, with the secret out of JSON and inspection', () => {
    const config = messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: azure });
    expect(config).toMatchObject({
      kind: 'connection-string',
      fullyQualifiedNamespace: 'contoso.servicebus.windows.net',
      developmentEmulator: false,
    });
    expect(config.kind === 'connection-string' && config.connectionString).toBe(azure);
    expect(Object.isFrozen(config)).toBe(true);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(JSON.stringify(config)).not.toContain('connectionString');
  });

  it('recognises the development emulator', () => {
    const config = messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: emulator });
    expect(config).toMatchObject({ developmentEmulator: true, fullyQualifiedNamespace: '127.0.0.1:5672' });
  });

  it('takes a namespace for Entra ID instead', () => {
    const config = messagingConfigFromEnv({ TF_SERVICEBUS_NAMESPACE: 'contoso.servicebus.windows.net' });
    expect(config).toEqual({
      kind: 'entra-id',
      fullyQualifiedNamespace: 'contoso.servicebus.windows.net',
      developmentEmulator: false,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    [{}, /TF_SERVICEBUS_CONNECTION_STRING is required unless TF_SERVICEBUS_NAMESPACE/],
    [
      { TF_SERVICEBUS_CONNECTION_STRING: azure, TF_SERVICEBUS_NAMESPACE: 'contoso.servicebus.windows.net' },
      /TF_SERVICEBUS_CONNECTION_STRING set either .* not both/,
    ],
    [
      { TF_SERVICEBUS_NAMESPACE: 'sb://contoso.servicebus.windows.net' },
      /TF_SERVICEBUS_NAMESPACE must be a host name without a scheme/,
    ],
    [{ TF_SERVICEBUS_NAMESPACE: 'contoso' }, /TF_SERVICEBUS_NAMESPACE must be a fully qualified host name/],
    [
      { TF_SERVICEBUS_CONNECTION_STRING: `AccountKey=${SECRET}` },
      /TF_SERVICEBUS_CONNECTION_STRING is not a Service Bus/,
    ],
    [
      {
        TF_SERVICEBUS_CONNECTION_STRING:
          'Endpoint=https://contoso.servicebus.windows.net/;SharedAccessKeyName=a;SharedAccessKey=b',
      },
      /TF_SERVICEBUS_CONNECTION_STRING must have an Endpoint of the form sb:/,
    ],
    [
      { TF_SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://contoso.servicebus.windows.net/' },
      /TF_SERVICEBUS_CONNECTION_STRING must carry SharedAccessKeyName/,
    ],
    [
      { TF_SERVICEBUS_CONNECTION_STRING: emulator.replace('=true', '=True') },
      /UseDevelopmentEmulator must be exactly true or false/,
    ],
  ])('rejects %j naming the variable, never quoting the value', (env, message) => {
    const error = errorOf(env);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(SECRET);
    const cs = (env as Record<string, string>).TF_SERVICEBUS_CONNECTION_STRING;
    if (cs) expect(error.message).not.toContain(cs);
  });
});
