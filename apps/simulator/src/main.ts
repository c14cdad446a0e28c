// Wires the simulator: config → fleet → HTTP app, a 1 Hz clock advancing the fleet, and vendor C's pushes.

import { createLiveness, createLogger, createMetrics, runService } from '@transit-fusion/service-kit';
import { loadSimulatorConfig } from './config.js';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createFleet, snapshotAt, step, type FleetSnapshot } from './fleet.js';
import { networkFromGtfsZip } from './gtfs-network.js';
import { createFuelPusher } from './fuel-pusher.js';
import { createTrackerFleet } from './tracker-fleet.js';
import { createSimulatorApp } from './simulator-app.js';
import type { FaultSettings } from './faults.js';

const config = loadSimulatorConfig(process.env);
const logger = createLogger({ service: 'simulator', level: config.TF_SIM_LOG_LEVEL });
const metrics = createMetrics({ service: 'simulator' });
const liveness = createLiveness();
const faults: FaultSettings = {
  latencyMs: config.TF_SIM_FAULT_LATENCY_MS,
  errorRate: config.TF_SIM_FAULT_ERROR_RATE,
  malformedRate: config.TF_SIM_FAULT_MALFORMED_RATE,
  missingFraction: config.TF_SIM_FAULT_MISSING_FRACTION,
  clockSkewMs: config.TF_SIM_FAULT_CLOCK_SKEW_MS,
  vendors: config.TF_SIM_FAULT_VENDORS,
};
// The live simulator runs on the wall clock so its timestamps are fresh for the pipeline.
const network = config.TF_SIM_GTFS_ZIP
  ? networkFromGtfsZip(readFileSync(config.TF_SIM_GTFS_ZIP), config.TF_SIM_SEED)
  : undefined;
const fleet = createFleet({
  vehicles: config.TF_SIM_VEHICLES,
  seed: config.TF_SIM_SEED,
  startMs: Date.now(),
  ...(network ? { network } : {}),
});
const app = createSimulatorApp({
  fleet,
  logger,
  metrics,
  liveness,
  faults,
  trackers: Math.min(config.TF_SIM_TRACKERS, fleet.size),
});

const pushes = metrics.counter({
  name: 'simulator_fuel_pushes_total',
  help: 'Vendor C pushes to the receiver by outcome (accepted, rejected: refused 4xx, failed: network/5xx).',
  labelNames: ['outcome'],
});
const malformedPushes = metrics.counter({
  name: 'simulator_fuel_malformed_pushes_total',
  help: 'Vendor C pushes sent with a corrupt body by the malformed fault (the receiver should reject them).',
});
const timers: NodeJS.Timeout[] = [];
liveness.register('clock', 10_000);
const pusher =
  config.TF_SIM_RECEIVER_URL && config.TF_SIM_RECEIVER_API_KEY
    ? createFuelPusher({
        fleet,
        receiverUrl: config.TF_SIM_RECEIVER_URL,
        apiKey: config.TF_SIM_RECEIVER_API_KEY,
        faults,
      })
    : undefined;

// One snapshot per fleet step, shared by every tracker (thousands of packets a second read it).
let truth: FleetSnapshot | undefined;
const currentTruth = () => (truth?.timestampMs === fleet.nowMs ? truth : (truth = snapshotAt(fleet)));
const trackers =
  config.TF_SIM_TRACKERS > 0
    ? createTrackerFleet({
        host: config.TF_SIM_TRACKER_GATEWAY.split(':')[0]!,
        port: Number(config.TF_SIM_TRACKER_GATEWAY.split(':')[1]),
        count: Math.min(config.TF_SIM_TRACKERS, fleet.size),
        truth: currentTruth,
        intervalMs: config.TF_SIM_TRACKER_INTERVAL_MS,
        recordsPerPacket: config.TF_SIM_TRACKER_RECORDS_PER_PACKET,
        logger,
      })
    : undefined;

await runService({
  logger,
  shutdownTimeoutMs: 10_000,
  start: async () => {
    timers.push(
      setInterval(() => {
        // Follow the wall clock, so a late timer does not make the fleet fall behind real time.
        step(fleet, Math.max(0, Date.now() - fleet.nowMs));
        liveness.beat('clock');
      }, 1_000),
    );
    if (pusher) {
      let pushing = false;
      timers.push(
        setInterval(() => {
          if (pushing) return;
          pushing = true;
          pusher
            .pushOnce()
            .then((result) => {
              pushes.inc({ outcome: 'accepted' }, result.pushes - result.rejected - result.failed);
              pushes.inc({ outcome: 'rejected' }, result.rejected);
              pushes.inc({ outcome: 'failed' }, result.failed);
              malformedPushes.inc(result.malformed);
              // Rejections are expected for exactly the pushes corrupted on purpose; anything else is news.
              if (result.failed > 0 || result.rejected !== result.malformed)
                logger.warn(
                  result,
                  'fuel pushes not accepted as expected; the next interval sends fresh values',
                );
              else logger.debug(result, 'fuel pushed');
            })
            .catch((error: unknown) => logger.warn({ err: error }, 'fuel push failed'))
            .finally(() => (pushing = false));
        }, config.TF_SIM_PUSH_INTERVAL_S * 1_000),
      );
    } else {
      logger.info('TF_SIM_RECEIVER_URL or TF_SIM_RECEIVER_API_KEY unset: vendor C (fuel) is not pushed');
    }
    await app.listen({ host: config.TF_SIM_HOST, port: config.TF_SIM_PORT });
    if (trackers) {
      // In the background: the gateway may start after the simulator; devices keep reconnecting until it is up.
      void trackers
        .start()
        .then(() => logger.info({ trackers: config.TF_SIM_TRACKERS }, 'every tracker logged in'));
    }
    logger.info(
      {
        vehicles: fleet.size,
        routes: fleet.network.routes.length,
        // The bound port, which differs from the setting when TF_SIM_PORT is 0.
        port: (app.server.address() as AddressInfo).port,
        gtfs: config.TF_SIM_GTFS_ZIP,
      },
      'simulator serving',
    );
  },
  stop: async () => {
    trackers?.stop();
    for (const timer of timers) clearInterval(timer);
    await app.close();
    liveness.stop();
  },
});
