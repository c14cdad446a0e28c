// Workspace lint: typescript-eslint for code, @nx/enforce-module-boundaries for the dependency rules
// (apps → libs, libs → libs through their public entry only, never libs → apps).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist',
      '**/node_modules',
      '**/coverage',
      '**/.nx',
      '**/*.timestamp*',
      '**/.data',
      '**/out-tsc',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@nx': nx },
    files: ['**/*.ts', '**/*.js'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          banTransitiveDependencies: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:lib', 'type:app'] },
          ],
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@transit-fusion/*/src/*',
                '@transit-fusion/*/dist/*',
                '**/libs/*/src/*',
                '**/apps/*/src/*',
              ],
              message: 'Import another project only through its public entry (@transit-fusion/<name>).',
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Tool configuration may share the workspace's presets by path; it is not part of any project's code.
    // Global setup files import the testing lib by path: Vitest does not apply resolve conditions to them
    // (vitest-dev/vitest#9429).
    files: ['**/vitest.config.ts', '**/test/global-setup.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off', 'no-restricted-imports': 'off' },
  },
);
