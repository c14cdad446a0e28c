// The whole system on one machine: Azurite (data kept in a folder), the Service Bus emulator, the vendor
// simulator, and the receiver, collector, composer and broadcaster, each its own process started the way its
// README says, wired to each other through the environment. start() resolves once every service answers
// /readyz; stop() stops them in reverse order and leaves nothing running.

import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { emulatorConfigOf } from '@transit-fusion/messaging';
import { spawnServiceBusEmulator, type EmulatorProcess } from '@transit-fusion/servicebus-emulator';
import { startAzurite, type AzuriteInstance } from '@transit-fusion/testing';
import { startServiceProcess, type ServiceProcess } from './service-process.js';
import { PORT_SETTINGS, type StackConfig, type StackPorts } from './stack-config.js';

export class LocalStackError extends Error {
  constructor(
    readonly code: 'PORT_IN_USE' | 'NOT_READY' | 'EXITED',
    message: string,
  ) {
    super(message);
    this.name = 'LocalStackError';
  }
}

export interface StackEndpoints {
  /** Where the web map will be served (the broadcaster's root). */
  readonly mapUrl: string;
  readonly apiUrl: string;
  readonly hubUrl: string;
  readonly grpcAddress: string;
  /** The API bearer token of this run (local only; printed for the user). */
  readonly token: string;
  readonly storageConnectionString: string;
  readonly serviceBusConnectionString: string;
  readonly receiverUrl: string;
  readonly receiverApiKey: string;
  /** Where trackers connect (Teltonika TCP). */
  readonly gatewayAddress: string;
  /** Simulated trackers connected to it. */
  readonly trackers: number;
}

export interface LocalStack {
  start(): Promise<StackEndpoints>;
  stop(): Promise<void>;
}

export function createLocalStack(
  config: StackConfig,
  deps: { cwd: string; write: (line: string) => void; colour?: boolean; readyTimeoutMs?: number },
): LocalStack {
  const { host, ports } = config;
  let azurite: AzuriteInstance | undefined;
  let emulator: EmulatorProcess | undefined;
  const services: ServiceProcess[] = [];
  const url = (port: number) => `http://${host}:${port}`;

  function run(name: string, entry: string, env: Record<string, string>): ServiceProcess {
    const service = startServiceProcess({
      name,
      entry,
      env,
      cwd: deps.cwd,
      write: deps.write,
      ...(deps.colour === undefined ? {} : { colour: deps.colour }),
    });
    services.push(service);
    return service;
  }

  async function waitReady(service: ServiceProcess, port: number, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void service.exited.then((code) => (exitCode = code));
    while (Date.now() < end) {
      if (exitCode !== undefined) {
        throw new LocalStackError(
          'EXITED',
          `${service.name} exited with code ${exitCode} while starting (its log is above)`,
        );
      }
      try {
        const response = await fetch(`${url(port)}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new LocalStackError(
      'NOT_READY',
      `${service.name} was not ready within ${timeoutMs / 1000} s (its log is above)`,
    );
  }

  return {
    async start() {
      for (const [key, port] of Object.entries(ports) as [keyof StackPorts, number][]) {
        if (await inUse(host, port)) {
          const setting = PORT_SETTINGS[key];
          throw new LocalStackError(
            'PORT_IN_USE',
            `port ${port} (${setting.what}) is in use: stop what uses it, or choose another with ${setting.variable}=<port>`,
          );
        }
      }
      if (config.clean) await rm(config.dataDir, { recursive: true, force: true });
      const azuriteDir = path.join(config.dataDir, 'azurite');
      await mkdir(azuriteDir, { recursive: true });
      azurite = await startAzurite({
        location: azuriteDir,
        blobPort: ports.blob,
        tablePort: ports.table,
        host,
        ownProcessGroup: true,
      });
      deps.write(`[azurite]     blob ${azurite.blobEndpoint}, data in ${azuriteDir}`);
      emulator = await spawnServiceBusEmulator({
        config: emulatorConfigOf({
          topics: [
            { name: 'vendor-pushes', subscriptions: [{ name: 'collector' }] },
            { name: 'snapshots', subscriptions: [{ name: 'broadcaster' }] },
            { name: 'alerts', subscriptions: [] },
          ],
        }),
        host,
        port: ports.serviceBus,
        ownProcessGroup: true,
      });
      deps.write(`[servicebus]  emulator on ${host}:${ports.serviceBus}`);

      const webDir = await buildWebMap(deps.cwd, deps.write);
      const token = randomBytes(24).toString('base64url');
      const receiverApiKey = randomBytes(24).toString('base64url');
      const common = {
        TF_STORAGE_CONNECTION_STRING: azurite.connectionString,
        TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
        TF_LOG_LEVEL: 'info',
      };
      const simulatorUrl = url(ports.simulator);
      const trackers = Math.max(1, Math.round(config.vehicles / 10));
      const ready: Promise<void>[] = [];
      const timeout = deps.readyTimeoutMs ?? 90_000;
      const receiver = run('receiver', 'apps/receiver/src/main.ts', {
        ...common,
        TF_RECEIVER_HOST: host,
        TF_RECEIVER_PORT: String(ports.receiver),
        TF_RECEIVER_VENDORS: JSON.stringify({ fuel: { auth: { type: 'api-key', keys: [receiverApiKey] } } }),
      });
      ready.push(waitReady(receiver, ports.receiver, timeout));
      const simulator = run('simulator', 'apps/simulator/src/main.ts', {
        TF_SIM_HOST: host,
        TF_SIM_PORT: String(ports.simulator),
        TF_SIM_VEHICLES: String(config.vehicles),
        TF_SIM_RECEIVER_URL: url(ports.receiver),
        TF_SIM_RECEIVER_API_KEY: receiverApiKey,
        // Tracker mode: one vehicle in ten carries a Teltonika tracker connected to the device gateway.
        TF_SIM_TRACKERS: String(trackers),
        TF_SIM_TRACKER_GATEWAY: `${host}:${ports.gateway}`,
        TF_SIM_TRACKER_INTERVAL_MS: '2000',
        TF_SIM_TRACKER_RECORDS_PER_PACKET: '2',
        // Its request log (three feeds a second) would drown everything else.
        TF_SIM_LOG_LEVEL: 'warn',
      });
      ready.push(waitReady(simulator, ports.simulator, timeout));
      const gateway = run('gateway', 'apps/device-gateway/src/main.ts', {
        ...common,
        TF_GATEWAY_HOST: host,
        TF_GATEWAY_TCP_PORT: String(ports.gateway),
        TF_GATEWAY_HTTP_PORT: String(ports.gatewayHttp),
        // Trackers are admitted when the fleet registry knows their vehicle (keys.trackers).
        TF_GATEWAY_DEVICE_REGISTRY: `${simulatorUrl}/fleet-registry.json`,
        // All simulated trackers connect from this machine.
        TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: String(trackers + 10),
        TF_GATEWAY_CONNECT_RATE_PER_ADDRESS: String(Math.max(20, trackers)),
      });
      ready.push(waitReady(gateway, ports.gatewayHttp, timeout));
      const collector = run('collector', 'apps/collector/src/main.ts', {
        ...common,
        TF_COLLECTOR_HOST: host,
        TF_COLLECTOR_PORT: String(ports.collector),
        TF_COLLECTOR_VENDORS: JSON.stringify({
          positions: {
            kind: 'pull',
            format: 'gtfs-rt-vehicle-positions',
            url: `${simulatorUrl}/vendors/positions/gtfs-rt`,
          },
          delays: {
            kind: 'pull',
            format: 'gtfs-rt-trip-updates',
            url: `${simulatorUrl}/vendors/delays/gtfs-rt`,
          },
          speed: { kind: 'pull', format: 'siri-vm', url: `${simulatorUrl}/vendors/speed/siri-vm` },
          fuel: { kind: 'push' },
          trackers: { kind: 'push' },
        }),
      });
      ready.push(waitReady(collector, ports.collector, timeout));
      const composer = run('composer', 'apps/composer/src/main.ts', {
        ...common,
        TF_COMPOSER_HOST: host,
        TF_COMPOSER_PORT: String(ports.composer),
        TF_COMPOSER_VENDORS: JSON.stringify([
          { vendorId: 'positions', match: { by: 'key' } },
          { vendorId: 'delays', match: { by: 'attribute', attribute: 'tripId' } },
          { vendorId: 'fuel', match: { by: 'key' } },
          { vendorId: 'speed', match: { by: 'key' } },
          { vendorId: 'trackers', match: { by: 'key' } },
        ]),
        TF_COMPOSER_FLEET_REGISTRY_URL: `${simulatorUrl}/fleet-registry.json`,
      });
      ready.push(waitReady(composer, ports.composer, timeout));
      const broadcaster = run('broadcaster', 'apps/broadcaster/src/main.ts', {
        ...common,
        TF_BROADCASTER_HOST: host,
        TF_BROADCASTER_HTTP_PORT: String(ports.broadcaster),
        TF_BROADCASTER_GRPC_PORT: String(ports.grpc),
        TF_BROADCASTER_TOKENS: token,
        TF_BROADCASTER_WEB_DIR: webDir,
        // The simulated network, as the static GTFS an operator publishes: the map's offline basemap.
        TF_BROADCASTER_NETWORK_GTFS: `${simulatorUrl}/network/gtfs.zip`,
      });
      ready.push(waitReady(broadcaster, ports.broadcaster, timeout));
      await Promise.all(ready);

      const api = url(ports.broadcaster);
      return {
        // The token in the fragment: the page reads it, and browsers never send fragments to servers.
        mapUrl: `${api}/#token=${token}`,
        apiUrl: `${api}/api/vehicles`,
        hubUrl: `${api}/hubs/vehicles`,
        grpcAddress: `${host}:${ports.grpc}`,
        token,
        storageConnectionString: azurite.connectionString,
        serviceBusConnectionString: emulator.connectionString,
        receiverUrl: url(ports.receiver),
        receiverApiKey,
        gatewayAddress: `${host}:${ports.gateway}`,
        trackers,
      };
    },
    async stop() {
      // The broadcaster first (clients move off), then the producers, then the infrastructure they used.
      for (const name of ['broadcaster', 'composer']) await services.find((s) => s.name === name)?.stop();
      await Promise.all(services.map((s) => s.stop()));
      await emulator?.stop();
      await azurite?.stop();
    },
  };
}

/** Builds the web map (Vite) unless its build is newer than its sources; returns the folder to serve. */
async function buildWebMap(cwd: string, write: (line: string) => void): Promise<string> {
  const app = path.join(cwd, 'apps/web');
  const dist = path.join(app, 'dist');
  const newest = async (dir: string): Promise<number> => {
    let latest = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? await newest(file) : (await stat(file)).mtimeMs);
    }
    return latest;
  };
  const built = await stat(path.join(dist, 'index.html')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(
    await newest(path.join(app, 'src')),
    (await stat(path.join(app, 'index.html'))).mtimeMs,
  );
  if (built > sources) return dist;
  write('[web]         building the map…');
  const vite = path.join(
    path.dirname(createRequire(import.meta.url).resolve('vite/package.json')),
    'bin/vite.js',
  );
  const child = spawn(
    process.execPath,
    [vite, 'build', '--config', path.join(app, 'vite.config.ts'), '--logLevel', 'warn'],
    {
      cwd,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0)
    throw new LocalStackError('EXITED', `building the web map failed (exit ${code}; see above)`);
  return dist;
}

function inUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}
