// What `npm start` runs with: command-line flags (`--vehicles 2000`, `--clean`) and TF_LOCAL_* ports from the
// environment, parsed once and frozen. Every port is a setting, so a machine that already uses one can move it.

import path from 'node:path';

export interface StackPorts {
  readonly blob: number;
  readonly table: number;
  readonly serviceBus: number;
  readonly simulator: number;
  readonly receiver: number;
  readonly collector: number;
  readonly composer: number;
  readonly broadcaster: number;
  readonly grpc: number;
  readonly gateway: number;
  readonly gatewayHttp: number;
}

export interface StackConfig {
  readonly vehicles: number;
  /** Start from empty storage (the data folder is removed first). */
  readonly clean: boolean;
  /** Azurite keeps blobs and tables here, so a restart keeps history. */
  readonly dataDir: string;
  readonly host: string;
  readonly ports: StackPorts;
}

/** Environment variable and default of each port, and what it is for (for messages). */
export const PORT_SETTINGS: Readonly<
  Record<keyof StackPorts, { variable: string; port: number; what: string }>
> = {
  blob: { variable: 'TF_LOCAL_BLOB_PORT', port: 10000, what: 'Azurite blob' },
  table: { variable: 'TF_LOCAL_TABLE_PORT', port: 10002, what: 'Azurite table' },
  serviceBus: { variable: 'TF_LOCAL_SERVICEBUS_PORT', port: 5672, what: 'the Service Bus emulator' },
  simulator: { variable: 'TF_LOCAL_SIMULATOR_PORT', port: 8090, what: 'the vendor simulator' },
  receiver: { variable: 'TF_LOCAL_RECEIVER_PORT', port: 8081, what: 'the receiver' },
  collector: { variable: 'TF_LOCAL_COLLECTOR_PORT', port: 8082, what: 'the collector' },
  composer: { variable: 'TF_LOCAL_COMPOSER_PORT', port: 8083, what: 'the composer' },
  broadcaster: {
    variable: 'TF_LOCAL_BROADCASTER_PORT',
    port: 8084,
    what: 'the broadcaster (HTTP, SignalR, map)',
  },
  grpc: { variable: 'TF_LOCAL_GRPC_PORT', port: 50051, what: 'the broadcaster (gRPC)' },
  gateway: { variable: 'TF_LOCAL_GATEWAY_PORT', port: 5027, what: 'the device gateway (trackers, TCP)' },
  gatewayHttp: { variable: 'TF_LOCAL_GATEWAY_HTTP_PORT', port: 8086, what: 'the device gateway (health)' },
};

export const USAGE = `Usage: npm start [-- --vehicles <n>] [-- --clean]

  --vehicles <n>  simulated vehicles (default 500, at most 50000)
  --clean         start from empty storage (removes the data folder first)

Ports: ${Object.values(PORT_SETTINGS)
  .map((s) => `${s.variable} (${s.port})`)
  .join(', ')}. Data: TF_LOCAL_DATA_DIR (default .data).`;

/** The config, or a message naming what is wrong. */
export function stackConfigFrom(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  cwd: string,
): StackConfig | string {
  let vehicles = 500;
  let clean = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--clean') clean = true;
    else if (arg === '--vehicles' || arg.startsWith('--vehicles=')) {
      const text = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1 || n > 50_000)
        return `--vehicles must be a whole number from 1 to 50000 (got ${text ?? 'nothing'})`;
      vehicles = n;
    } else if (arg === '--help' || arg === '-h') return USAGE;
    else return `unknown option ${arg}\n\n${USAGE}`;
  }
  const ports = {} as Record<keyof StackPorts, number>;
  for (const [key, setting] of Object.entries(PORT_SETTINGS) as [
    keyof StackPorts,
    (typeof PORT_SETTINGS)[keyof StackPorts],
  ][]) {
    const text = env[setting.variable];
    const port = text === undefined || text === '' ? setting.port : Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65_535)
      return `${setting.variable} must be a port number (got ${text})`;
    ports[key] = port;
  }
  const taken = new Map<number, string>();
  for (const [key, port] of Object.entries(ports)) {
    const other = taken.get(port);
    if (other) return `${PORT_SETTINGS[key as keyof StackPorts].variable} and ${other} are both ${port}`;
    taken.set(port, PORT_SETTINGS[key as keyof StackPorts].variable);
  }
  return Object.freeze({
    vehicles,
    clean,
    dataDir: path.resolve(cwd, env['TF_LOCAL_DATA_DIR'] || '.data'),
    host: '127.0.0.1',
    ports: Object.freeze(ports),
  });
}
