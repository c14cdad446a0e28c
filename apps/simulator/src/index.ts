/**
 * The vendor simulator: a deterministic fleet and the four vendors that report it.
 *
 * @example
 * ```ts
 * import { createFleet, step, snapshotAt, encodeVehiclePositions } from '@transit-fusion/simulator';
 *
 * const fleet = createFleet({ vehicles: 500, seed: 7 }); // same seed, same city
 * step(fleet, 1_000); // one simulated second
 * const { vehicles, timestampMs } = snapshotAt(fleet);
 * const protobuf = encodeVehiclePositions(vehicles, timestampMs);
 * ```
 */
export {
  createFleet,
  generateNetwork,
  buildRoute,
  step,
  snapshotAt,
  SIM_TRANSPORT_TYPES,
  TRANSPORT_PROFILES,
  type FleetOptions,
  type FleetState,
  type FleetSnapshot,
  type Network,
  type Route,
  type RouteOptions,
  type RouteTrips,
  type SimTransportType,
  type TransportProfile,
  type VehicleTruth,
} from './fleet.js';
export {
  VENDOR_IDS,
  positionsKey,
  fuelKey,
  speedKey,
  fleetRegistryDocument,
  encodeVehiclePositions,
  encodeTripUpdates,
  fuelRecords,
  encodeSiriVm,
  type VendorId,
  type FleetRegistryDocument,
} from './vendor-feeds.js';
export { networkFromGtfsZip } from './gtfs-network.js';
export { networkGtfsZip } from './network-gtfs.js';
export {
  NO_FAULTS,
  vendorVehicles,
  malformedPushBody,
  MALFORMED_PUSH_KINDS,
  type FaultSettings,
  type MalformedPushKind,
} from './faults.js';
export { createSimulatorApp, type SimulatorAppDeps } from './simulator-app.js';
export { createFuelPusher, type FuelPusherDeps, type PushResult } from './fuel-pusher.js';
export { loadSimulatorConfig, type SimulatorConfig } from './config.js';
export {
  createTrackerFleet,
  avlRecordOf,
  trackerImei,
  type TrackerFleet,
  type TrackerFleetDeps,
  type TrackerFleetStats,
} from './tracker-fleet.js';
