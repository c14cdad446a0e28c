import { vitestPreset } from '../../vitest.preset.js';

export default vitestPreset({ testTimeout: 30_000, hookTimeout: 30_000 });
