/**
 * Helpers for tests and the local stack.
 *
 * @example
 * ```ts
 * import { startAzurite } from '@transit-fusion/testing';
 * const azurite = await startAzurite(); // in memory, free ports
 * const store = createSnapshotStore({ connectionString: azurite.connectionString });
 * await azurite.stop();
 * ```
 */
export {
  startAzurite,
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  type AzuriteInstance,
  type AzuriteOptions,
} from './azurite.js';
export { freePort, waitForPort } from './free-port.js';
export { seededRandom } from './seeded-random.js';
export { startChild, type ChildService } from './child-service.js';
export { SHARED_DATA_DIR, sharedDataMissing, readSharedFile } from './shared-data.js';
