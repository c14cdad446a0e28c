import { vitestPreset } from '../../vitest.preset.js';

// Integration tests run against Azurite (one per run), the Service Bus emulator (in process) and real HTTP
// servers, with real cron ticks: longer timeouts.
export default vitestPreset({
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
});
