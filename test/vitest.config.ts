import { vitestPreset } from '../vitest.preset.js';

// Benchmark smoke tests (each benchmark run tiny, so it cannot rot), workspace-rule tests, and end-to-end tests
// of the local stack; deployment checks (Dockerfiles, manifests, Bicep, production bundles).
export default vitestPreset({
  include: ['bench/**/*.spec.ts', 'workspace/**/*.spec.ts', 'e2e/**/*.spec.ts', 'deploy/**/*.spec.ts'],
});
