// Where the fleet registry comes from: a file (a mounted ConfigMap) or a URL (the simulator serves one), loaded
// before the first tick and reloaded in the background every refresh interval. A reload that fails or does not
// validate keeps the registry in use (and is logged): matching must not stop because the registry's host blinked.

import { readFile } from 'node:fs/promises';
import { parseFleetRegistry, type FleetRegistry } from '@transit-fusion/pipeline';
import { ComposerError } from './composer-error.js';

export interface RegistrySource {
  /** The registry in use; undefined until the first load succeeded. */
  current(): FleetRegistry | undefined;
  /** Loads now; throws ComposerError REGISTRY_UNAVAILABLE (the registry in use stays). */
  load(): Promise<FleetRegistry>;
  /** Starts a background reload when the registry is older than the refresh interval. */
  refreshIfDue(now: number): void;
}

export interface RegistrySourceDeps {
  readonly source: { readonly file: string } | { readonly url: URL };
  readonly refreshMs: number;
  readonly logger: { warn(obj: object, msg: string): void };
  readonly fetch?: typeof fetch;
}

export function createRegistrySource(deps: RegistrySourceDeps): RegistrySource {
  let registry: FleetRegistry | undefined;
  let loadedAt = 0;
  let loading: Promise<FleetRegistry> | undefined;
  const where = 'file' in deps.source ? deps.source.file : deps.source.url.href;

  async function read(): Promise<unknown> {
    if ('file' in deps.source) return JSON.parse(await readFile(deps.source.file, 'utf8')) as unknown;
    const response = await (deps.fetch ?? fetch)(deps.source.url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`answered ${response.status}`);
    return (await response.json()) as unknown;
  }

  function load(): Promise<FleetRegistry> {
    loading ??= (async () => {
      try {
        const next = parseFleetRegistry(await read());
        registry = next;
        loadedAt = Date.now();
        return next;
      } catch (error) {
        throw new ComposerError(
          'REGISTRY_UNAVAILABLE',
          `fleet registry ${where}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  return {
    current: () => registry,
    load,
    refreshIfDue(now) {
      if (loading || now - loadedAt < deps.refreshMs) return;
      load().catch((error: unknown) =>
        deps.logger.warn({ err: error }, 'fleet registry reload failed; keeping the one in use'),
      );
    },
  };
}
