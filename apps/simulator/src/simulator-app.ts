// The simulator's HTTP face: each polled vendor's feed (GTFS-RT protobuf, SIRI-VM XML) and the fleet registry,
// served the way real vendors serve them (ETag / 304, gzip) and with the configured faults. Feeds are encoded once
// per simulated tick and cached, so many pollers cost one encoding.

import { gzipSync } from 'node:zlib';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  createServiceApp,
  type Liveness,
  type Logger,
  type Metrics,
  type ServiceApp,
} from '@transit-fusion/service-kit';
import { snapshotAt, type FleetSnapshot, type FleetState } from './fleet.js';
import { networkGtfsZip } from './network-gtfs.js';
import { faultsFor, malformedBody, vendorVehicles, NO_FAULTS, type FaultSettings } from './faults.js';
import {
  encodeSiriVm,
  encodeTripUpdates,
  encodeVehiclePositions,
  fleetRegistryDocument,
  type VendorId,
} from './vendor-feeds.js';

const { transit_realtime } = GtfsRealtimeBindings;

export interface SimulatorAppDeps {
  readonly fleet: FleetState;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly liveness: Liveness;
  readonly faults?: FaultSettings;
  /** Vehicles carrying a tracker (tracker mode): the registry gives them a `trackers` key. */
  readonly trackers?: number;
  /** Decides which requests get a fault; default Math.random (tests pass a seeded one). */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface EncodedFeed {
  readonly tickMs: number;
  readonly etag: string;
  readonly body: Buffer;
  gzipped?: Buffer;
}

const CONTENT_TYPES: Record<'positions' | 'delays' | 'speed', string> = {
  positions: 'application/x-protobuf',
  delays: 'application/x-protobuf',
  speed: 'application/xml; charset=utf-8',
};

export function createSimulatorApp(deps: SimulatorAppDeps): ServiceApp {
  const { fleet, metrics } = deps;
  const faults = deps.faults ?? NO_FAULTS;
  const random = deps.random ?? Math.random;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const app = createServiceApp({
    service: 'simulator',
    logger: deps.logger,
    registry: metrics.registry,
    liveness: deps.liveness,
    readiness: async () => ({ ok: true, checks: { fleet: `${fleet.size} vehicles` } }),
  });
  const requests = metrics.counter({
    name: 'simulator_feed_requests_total',
    help: 'Feed requests by vendor and outcome (ok, not_modified, error_fault, malformed_fault).',
    labelNames: ['vendor', 'outcome'],
  });

  let snapshot: FleetSnapshot | undefined;
  const currentSnapshot = (): FleetSnapshot => {
    if (!snapshot || snapshot.timestampMs !== fleet.nowMs) snapshot = snapshotAt(fleet);
    return snapshot;
  };
  const cache = new Map<VendorId, EncodedFeed>();
  const encoded = (vendor: 'positions' | 'delays' | 'speed'): EncodedFeed => {
    const cached = cache.get(vendor);
    if (cached && cached.tickMs === fleet.nowMs) return cached;
    const snap = currentSnapshot();
    const vendorFaults = faultsFor(faults, vendor);
    const vehicles = vendorVehicles(snap.vehicles, vendor, faults);
    const at = snap.timestampMs + vendorFaults.clockSkewMs;
    const body =
      vendor === 'positions'
        ? Buffer.from(encodeVehiclePositions(vehicles, at))
        : vendor === 'delays'
          ? Buffer.from(encodeTripUpdates(vehicles, at))
          : Buffer.from(encodeSiriVm(vehicles, at));
    const feed: EncodedFeed = { tickMs: fleet.nowMs, etag: `"${vendor}-${fleet.nowMs}"`, body };
    cache.set(vendor, feed);
    return feed;
  };

  const serve = async (
    vendor: 'positions' | 'delays' | 'speed',
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<unknown> => {
    const vendorFaults = faultsFor(faults, vendor);
    if (vendorFaults.latencyMs > 0) await sleep(vendorFaults.latencyMs);
    if (vendorFaults.errorRate > 0 && random() < vendorFaults.errorRate) {
      requests.inc({ vendor, outcome: 'error_fault' });
      return reply.code(503).send({ error: 'unavailable', message: 'Injected fault' });
    }
    if (vendorFaults.malformedRate > 0 && random() < vendorFaults.malformedRate) {
      requests.inc({ vendor, outcome: 'malformed_fault' });
      return reply.header('content-type', CONTENT_TYPES[vendor]).send(malformedBody(vendor, random));
    }
    const feed = encoded(vendor);
    const query = request.query as { format?: string };
    if (query.format === 'json' && vendor !== 'speed') {
      requests.inc({ vendor, outcome: 'ok' });
      const message = transit_realtime.FeedMessage.decode(feed.body);
      return reply.send(transit_realtime.FeedMessage.toObject(message, { longs: Number, enums: String }));
    }
    reply.header('etag', feed.etag).header('cache-control', 'no-cache').header('vary', 'accept-encoding');
    if (request.headers['if-none-match'] === feed.etag) {
      requests.inc({ vendor, outcome: 'not_modified' });
      return reply.code(304).send();
    }
    requests.inc({ vendor, outcome: 'ok' });
    reply.header('content-type', CONTENT_TYPES[vendor]);
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      // Level 1: a third of the time of the default at 50,000 vehicles, for a few percent more bytes.
      feed.gzipped ??= gzipSync(feed.body, { level: 1 });
      return reply.header('content-encoding', 'gzip').send(feed.gzipped);
    }
    return reply.send(feed.body);
  };

  app.get('/vendors/positions/gtfs-rt', (request, reply) => serve('positions', request, reply));
  app.get('/vendors/delays/gtfs-rt', (request, reply) => serve('delays', request, reply));
  app.get('/vendors/speed/siri-vm', (request, reply) => serve('speed', request, reply));
  // Identities never change while the process runs: the registry is built once, on first request.
  let registry: string | undefined;
  app.get('/fleet-registry.json', async (_request, reply) => {
    registry ??= JSON.stringify(
      fleetRegistryDocument(currentSnapshot().vehicles, { trackers: deps.trackers ?? 0 }),
    );
    return reply.header('content-type', 'application/json; charset=utf-8').send(registry);
  });
  // The network as static GTFS, for the broadcaster to draw routes and stops under the map (offline basemap).
  let networkZip: Buffer | undefined;
  app.get('/network/gtfs.zip', async (_request, reply) => {
    networkZip ??= Buffer.from(networkGtfsZip(fleet.network));
    return reply.header('content-type', 'application/zip').send(networkZip);
  });
  return app;
}
