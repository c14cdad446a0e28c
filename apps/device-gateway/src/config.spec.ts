// Settings: safe defaults, and start-up refused with a message naming each bad variable.

import { describe, expect, it } from 'vitest';
import { gatewayConfigFromEnv } from './config.js';

const BUS = {
  TF_SERVICEBUS_CONNECTION_STRING: 'Endpoint=sb://localhost;SharedAccessKeyName=a;SharedAccessKey=b',
};

describe('gatewayConfigFromEnv', () => {
  it('has defaults for everything but the devices', () => {
    const config = gatewayConfigFromEnv({
      ...BUS,
      TF_GATEWAY_ALLOWED_IMEIS: '356307042441013, 123456789012345',
    });
    expect(config).toMatchObject({
      tcpPort: 5027,
      vendorId: 'trackers',
      topic: 'vendor-pushes',
      maxConnections: 20_000,
      loginTimeoutMs: 10_000,
      devices: { allowed: ['356307042441013', '123456789012345'] },
    });
    expect(config.ioMapping.length).toBeGreaterThan(0);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('refuses a configuration that would accept no device, or malformed settings, naming each', () => {
    expect(() => gatewayConfigFromEnv(BUS)).toThrow(
      /TF_GATEWAY_DEVICE_REGISTRY: no device would be accepted/,
    );
    let message = '';
    try {
      gatewayConfigFromEnv({
        ...BUS,
        TF_GATEWAY_ALLOWED_IMEIS: '35630704244101x',
        TF_GATEWAY_MAX_PACKET_BYTES: '10',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/TF_GATEWAY_ALLOWED_IMEIS\[0\]: must be IMEIs/);
    expect(message).toMatch(/TF_GATEWAY_MAX_PACKET_BYTES: .*>=64/);
    expect(() =>
      gatewayConfigFromEnv({
        ...BUS,
        TF_GATEWAY_ALLOWED_IMEIS: '1',
        TF_GATEWAY_IO_MAPPING: '[{"io": 66, "field": "nonsense"}]',
      }),
    ).toThrow(/TF_GATEWAY_IO_MAPPING: .*IO mapping is invalid/);
  });

  it('reads an IO mapping from a file', () => {
    const config = gatewayConfigFromEnv(
      {
        ...BUS,
        TF_GATEWAY_ALLOWED_IMEIS: '1',
        TF_GATEWAY_IO_MAPPING_FILE: '/etc/gateway/io.json',
      },
      { readFile: () => '[{"io": 9, "field": "fuel", "scale": 0.1}]' },
    );
    expect(config.ioMapping).toEqual([expect.objectContaining({ io: 9, field: 'fuel', scale: 0.1 })]);
  });
});
