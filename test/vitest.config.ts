import { vitestPreset } from '../vitest.preset.js';

// Benchmark smoke tests (each benchmark run tiny, so it cannot rot), workspace-rule tests, and end-to-end tests
// of the local stack; deployment checks (Dockerfiles, manifests, Bicep, production bundles).
export default vitestPreset({
  include: ['bench/**/*.spec.ts', 'workspace/**/*.spec.ts', 'e2e/**/*.spec.ts', 'deploy/**/*.spec.ts'],
  // One file at a time: the end-to-end test times a push through the whole stack, the benchmarks and the
  // bundle tests start stacks of processes of their own, and two such files at once on two cores make each
  // other's deadlines (it costs little: each file is mostly processes, not parallel JavaScript).
  fileParallelism: false,
});
