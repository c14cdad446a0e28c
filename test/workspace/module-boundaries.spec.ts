import { ESLint } from 'eslint';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProjectGraphAsync } from '@nx/devkit';
import { beforeAll, describe, expect, it } from 'vitest';

// The dependency rules are enforced by lint; these run the workspace's own ESLint configuration on small
// snippets placed inside a lib, so a config change that silently disables a rule fails here.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string, file = 'libs/pipeline/src/boundary-probe.ts') {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.map((m) => m.ruleId);
}

describe('module boundaries', () => {
  // The boundary rule reads Nx's cached project graph and silently skips itself without one: build it first,
  // so this test also holds when run on its own, outside `nx run-many`.
  beforeAll(async () => {
    await createProjectGraphAsync({ exitOnError: false });
  }, 60_000);

  it('allows a lib to import another lib through its public entry', async () => {
    expect(
      await ruleIds(`import { QualityFlag } from '@transit-fusion/model';\nexport const q = QualityFlag;\n`),
    ).toEqual([]);
  });

  it('rejects a deep import into another project', async () => {
    expect(
      await ruleIds(
        `import { QualityFlag } from '@transit-fusion/model/src/quality.js';\nexport const q = QualityFlag;\n`,
      ),
    ).toContain('no-restricted-imports');
  });

  it('rejects a relative import across projects', async () => {
    expect(
      await ruleIds(
        `import { QualityFlag } from '../../model/src/quality.js';\nexport const q = QualityFlag;\n`,
      ),
    ).toContain('@nx/enforce-module-boundaries');
  });

  it('rejects a lib depending on a project that is not a lib (apps, tests)', async () => {
    expect(await ruleIds(`import '@transit-fusion/test-suite';\n`)).toContain(
      '@nx/enforce-module-boundaries',
    );
  });
}, 60_000);
