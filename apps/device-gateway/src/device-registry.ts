// Which trackers may log in: the IMEIs of the fleet registry's vehicles under the gateway's vendor id (the same
// document the composer matches vehicles with, so a tracker is admitted exactly when the fusion knows its
// vehicle), plus an explicit allowlist. The registry is a file or an http(s) URL, reloaded periodically; a failed
// reload keeps the last good set, so a registry outage never locks the fleet out, and a first read that fails is
// retried while readiness stays false.

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { GatewayError } from './gateway-error.js';

export interface DeviceRegistry {
  accepts(imei: string): boolean;
  /** IMEIs accepted now. */
  readonly size: number;
  /** Whether the registry has been read (always true without one): readiness waits for it. */
  readonly loaded: boolean;
  /**
   * Reads the registry, then keeps it fresh. A first read that fails is retried (from 1 s, doubling up to the
   * refresh interval) rather than stopping the gateway: the registry's server may start after it.
   */
  start(): Promise<void>;
  stop(): void;
}

export interface DeviceRegistryDeps {
  readonly vendorId: string;
  readonly allowed: readonly string[];
  /** A fleet registry document: a file path or an http(s) URL. */
  readonly location?: string;
  readonly refreshMs: number;
  readonly logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

const document = z.object({
  vehicles: z.array(z.object({ keys: z.record(z.string(), z.string()) }).loose()).max(1_000_000),
});

export function createDeviceRegistry(deps: DeviceRegistryDeps): DeviceRegistry {
  const allowed = new Set(deps.allowed);
  let fromRegistry = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const where = () =>
    deps.location && /^https?:\/\//i.test(deps.location)
      ? `${new URL(deps.location).origin}${new URL(deps.location).pathname}`
      : deps.location;

  async function load(): Promise<void> {
    const location = deps.location!;
    let text: string;
    try {
      if (/^https?:\/\//i.test(location)) {
        const response = await fetch(location, { signal: AbortSignal.timeout(30_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        text = await response.text();
      } else {
        text = await readFile(location, 'utf8');
      }
    } catch (error) {
      throw new GatewayError(
        'REGISTRY_UNAVAILABLE',
        `device registry ${where()}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    let parsed;
    try {
      parsed = document.safeParse(JSON.parse(text));
    } catch (error) {
      throw new GatewayError('REGISTRY_UNAVAILABLE', `device registry ${where()} is not JSON`, {
        cause: error,
      });
    }
    if (!parsed.success) {
      throw new GatewayError(
        'REGISTRY_UNAVAILABLE',
        `device registry ${where()} is not a fleet registry: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    const next = new Set<string>();
    for (const vehicle of parsed.data.vehicles) {
      const imei = vehicle.keys[deps.vendorId];
      if (imei) next.add(imei);
    }
    fromRegistry = next;
    deps.logger.info({ registry: where(), devices: next.size }, 'device registry loaded');
  }

  let loaded = !deps.location;
  let stopped = false;
  let failures = 0;
  async function refresh(): Promise<void> {
    let next = deps.refreshMs;
    try {
      await load();
      loaded = true;
      failures = 0;
    } catch (error) {
      failures++;
      if (!loaded) next = Math.min(deps.refreshMs, 1_000 * 2 ** (failures - 1));
      deps.logger.warn(
        { err: error, retryInMs: next },
        loaded
          ? 'device registry reload failed; keeping the devices loaded before'
          : 'device registry not loaded yet; only TF_GATEWAY_ALLOWED_IMEIS are accepted until it is',
      );
    }
    if (!stopped) timer = setTimeout(() => void refresh(), next).unref();
  }

  return {
    accepts: (imei) => allowed.has(imei) || fromRegistry.has(imei),
    get size() {
      return allowed.size + fromRegistry.size;
    },
    get loaded() {
      return loaded;
    },
    async start() {
      if (deps.location) await refresh();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
