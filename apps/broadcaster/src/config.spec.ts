// The broadcaster's settings: defaults, the SignalR mode, and errors that name the variable without echoing
// secrets.

import { describe, expect, it } from 'vitest';
import { broadcasterConfigFromEnv } from './config.js';

const BASE = {
  TF_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  TF_SERVICEBUS_CONNECTION_STRING:
    'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;',
  TF_BROADCASTER_TOKENS: 'config-test-token-0123456789',
};

function failure(env: Record<string, string>): string {
  try {
    broadcasterConfigFromEnv(env);
  } catch (error) {
    return String((error as Error).message) + JSON.stringify(error);
  }
  throw new Error('expected the config to be refused');
}

describe('broadcaster config', () => {
  it('has defaults for the live feed and hosts SignalR itself', () => {
    const config = broadcasterConfigFromEnv(BASE);
    expect(config.live).toEqual({
      topic: 'snapshots',
      subscription: 'broadcaster',
      createSubscription: false,
      maxViews: 256,
      keyframeEvery: 30,
      maxLagTicks: 10,
      fanOutTurnMs: 25,
      maxStreams: 5_000,
      downloadTimeoutMs: 5_000,
    });
    expect(config.signalr).toMatchObject({ mode: 'self-hosted', hub: 'vehicles', allowedOrigins: [] });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes Azure SignalR Service with a valid connection string, and names what is wrong otherwise', () => {
    const key = 'c2VjcmV0LWFjY2Vzcy1rZXktdmFsdWU=';
    const azure = broadcasterConfigFromEnv({
      ...BASE,
      TF_BROADCASTER_SIGNALR_MODE: 'azure',
      TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING: `Endpoint=https://tf.service.signalr.net;AccessKey=${key};Version=1.0;`,
      TF_BROADCASTER_CORS_ORIGINS: 'https://map.example.org, https://ops.example.org',
    });
    expect(azure.signalr).toMatchObject({
      mode: 'azure',
      allowedOrigins: ['https://map.example.org', 'https://ops.example.org'],
    });
    expect(JSON.stringify(azure)).not.toContain(key);

    expect(failure({ ...BASE, TF_BROADCASTER_SIGNALR_MODE: 'azure' })).toMatch(
      /TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING.*required in azure mode/,
    );
    const missingKey = failure({
      ...BASE,
      TF_BROADCASTER_SIGNALR_MODE: 'azure',
      TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING: 'Endpoint=https://tf.service.signalr.net;Version=1.0;',
    });
    expect(missingKey).toMatch(/TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING.*AccessKey is missing/);
  });

  it('refuses a subscription name Service Bus would refuse, and an unknown mode', () => {
    expect(failure({ ...BASE, TF_BROADCASTER_SUBSCRIPTION: 'broadcaster/pod 1' })).toMatch(
      /TF_BROADCASTER_SUBSCRIPTION.*Service Bus subscription name/,
    );
    expect(failure({ ...BASE, TF_BROADCASTER_SIGNALR_MODE: 'cloud' })).toMatch(/TF_BROADCASTER_SIGNALR_MODE/);
  });
});
