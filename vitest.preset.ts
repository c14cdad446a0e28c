// Shared Vitest settings for every project: resolve workspace packages to their TypeScript sources
// (the "@transit-fusion/source" export condition) so tests never need a build first.
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const sourceCondition = '@transit-fusion/source';

export function vitestPreset(overrides: ViteUserConfig['test'] = {}): ViteUserConfig {
  return defineConfig({
    resolve: { conditions: [sourceCondition, 'module', 'node', 'default'] },
    ssr: { resolve: { conditions: [sourceCondition, 'node', 'default'] } },
    test: {
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      environment: 'node',
      reporters: ['default'],
      ...overrides,
    },
  });
}
