import { vitestPreset } from '../vitest.preset.js';

// Benchmark smoke tests (each benchmark run tiny, so it cannot rot) and workspace-rule tests.
export default vitestPreset({ include: ['bench/**/*.spec.ts', 'workspace/**/*.spec.ts'] });
