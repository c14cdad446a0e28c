// The real agency feeds live outside the repository, at ../shared/data from its root (see that folder's
// SOURCES.md); tests read them in place and skip, saying why, where the folder is absent.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** <repo root>/../shared/data, resolved from this file (libs/testing/src). */
export const SHARED_DATA_DIR = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));

const missing = ['gtfs-rt', 'gtfs']
  .map((dir) => `${SHARED_DATA_DIR}${dir}`)
  .filter((dir) => !existsSync(dir));

export const sharedDataMissing = missing.length > 0;

if (sharedDataMissing) {
  console.warn(`skipping real-feed tests: ${missing.join(' and ')} missing`);
}

export function readSharedFile(relativePath: string): Uint8Array {
  return new Uint8Array(readFileSync(`${SHARED_DATA_DIR}${relativePath}`));
}
