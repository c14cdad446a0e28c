// The simulator's settings: defaults that need nothing, and bad values named.

import { isConfigError } from '@transit-fusion/service-kit';
import { describe, expect, it } from 'vitest';
import { loadSimulatorConfig } from './config.js';

describe('loadSimulatorConfig', () => {
  it('needs nothing: 500 vehicles on port 8090, no receiver, no faults', () => {
    const config = loadSimulatorConfig({});
    expect(config).toMatchObject({
      TF_SIM_PORT: 8090,
      TF_SIM_VEHICLES: 500,
      TF_SIM_SEED: 1,
      TF_SIM_FAULT_ERROR_RATE: 0,
      TF_SIM_FAULT_VENDORS: ['positions', 'delays', 'fuel', 'speed'],
    });
    expect(config.TF_SIM_RECEIVER_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads faults and the vendors they apply to', () => {
    const config = loadSimulatorConfig({
      TF_SIM_VEHICLES: '50000',
      TF_SIM_FAULT_ERROR_RATE: '0.1',
      TF_SIM_FAULT_CLOCK_SKEW_MS: '-5000',
      TF_SIM_FAULT_VENDORS: 'speed, fuel',
      TF_SIM_RECEIVER_URL: 'http://localhost:8081',
      TF_SIM_RECEIVER_API_KEY: 'secret-key',
    });
    expect(config).toMatchObject({
      TF_SIM_VEHICLES: 50_000,
      TF_SIM_FAULT_ERROR_RATE: 0.1,
      TF_SIM_FAULT_CLOCK_SKEW_MS: -5000,
      TF_SIM_FAULT_VENDORS: ['speed', 'fuel'],
    });
  });

  it('names bad variables and never echoes the API key', () => {
    try {
      loadSimulatorConfig({
        TF_SIM_FAULT_ERROR_RATE: '2',
        TF_SIM_FAULT_VENDORS: 'acme',
        TF_SIM_RECEIVER_API_KEY: '',
      });
      expect.unreachable();
    } catch (error) {
      expect(isConfigError(error)).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain('TF_SIM_FAULT_ERROR_RATE');
      expect(message).toContain('TF_SIM_FAULT_VENDORS');
      expect(message).toContain('TF_SIM_RECEIVER_API_KEY');
    }
  });
});
