// One Azurite (in memory, free ports) for the whole broadcaster test run; each test isolates itself with its own
// container and table.

// By path, not package name: Vitest does not apply resolve conditions to setup files (vitest-dev/vitest#9429),
// so '@transit-fusion/testing' would resolve to a build that does not exist.
import { startAzurite } from '../../../libs/testing/src/index.js';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject) {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return () => azurite.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}
