import { vitestPreset } from '../../vitest.preset.js';

// Integration tests run against Azurite (one per run) and the Service Bus emulator (in process), some with real
// 1 Hz schedules: longer timeouts.
export default vitestPreset({
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 60_000,
});
