import { vitestPreset } from '../../vitest.preset.js';

export default vitestPreset({
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
});
