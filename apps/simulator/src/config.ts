// The simulator's settings, read once from the environment and validated: a bad value stops start-up naming the
// variable. Defaults need no data file and no receiver: `node … main.ts` alone serves a 500-vehicle Tallinn.

import { z } from 'zod';
import { loadConfig, type Env } from '@transit-fusion/service-kit';
import { VENDOR_IDS } from './vendor-feeds.js';

const fraction = z.coerce.number().min(0).max(1).default(0);

const schema = z.object({
  TF_SIM_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  TF_SIM_HOST: z.string().default('0.0.0.0'),
  TF_SIM_VEHICLES: z.coerce.number().int().min(0).max(200_000).default(500),
  TF_SIM_SEED: z.coerce.number().int().default(1),
  /** Path of a static GTFS zip whose shapes the vehicles drive along; unset: the generated network. */
  TF_SIM_GTFS_ZIP: z.string().min(1).optional(),
  TF_SIM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Base URL of the receiver; fuel is POSTed to `<url>/v1/vendors/fuel/records`. Unset: no pushes. */
  TF_SIM_RECEIVER_URL: z.url().optional(),
  TF_SIM_RECEIVER_API_KEY: z.string().min(1).optional(),
  TF_SIM_PUSH_INTERVAL_S: z.coerce.number().min(1).default(10),
  /** Tracker mode: this many vehicles carry a Teltonika tracker connected to the device gateway (0: none). */
  TF_SIM_TRACKERS: z.coerce.number().int().min(0).max(100_000).default(0),
  /** The device gateway's TCP address, host:port. */
  TF_SIM_TRACKER_GATEWAY: z
    .string()
    .regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')
    .default('127.0.0.1:5027'),
  TF_SIM_TRACKER_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  TF_SIM_TRACKER_RECORDS_PER_PACKET: z.coerce.number().int().min(1).max(255).default(1),
  TF_SIM_FAULT_LATENCY_MS: z.coerce.number().int().min(0).max(120_000).default(0),
  TF_SIM_FAULT_ERROR_RATE: fraction,
  TF_SIM_FAULT_MALFORMED_RATE: fraction,
  TF_SIM_FAULT_MISSING_FRACTION: fraction,
  TF_SIM_FAULT_CLOCK_SKEW_MS: z.coerce.number().int().default(0),
  /** Comma-separated vendor ids the faults apply to; default all four. */
  TF_SIM_FAULT_VENDORS: z
    .string()
    .default(VENDOR_IDS.join(','))
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(VENDOR_IDS))),
});

export type SimulatorConfig = z.infer<typeof schema>;

export function loadSimulatorConfig(env: Env): Readonly<SimulatorConfig> {
  return loadConfig(schema, env, { secrets: ['TF_SIM_RECEIVER_API_KEY'] });
}
