import { vitestPreset } from '../../vitest.preset.js';

// Integration tests run against Azurite (one per run) with real gRPC servers and clients.
export default vitestPreset({
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
});
