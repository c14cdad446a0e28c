// Where the .proto files are and how they are loaded: at run time with @grpc/proto-loader (no generated code to
// keep in step), with options chosen for the model — int64 as JS numbers (epoch milliseconds fit exactly), enums
// as their names, absent optional fields left absent rather than defaulted.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_FILE_PATH = 'transit_fusion/v1/transit_fusion.proto';

/**
 * The folder holding `transit_fusion/v1/transit_fusion.proto`: the include root for protoc and for clients.
 * In the workspace it is the lib's proto/; in a service's production bundle (tools/package-service.ts) this
 * module is part of main.js and the folder is copied beside it.
 */
export const PROTO_ROOT =
  [new URL('./proto/', import.meta.url), new URL('../proto/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((folder) => existsSync(`${folder}${PROTO_FILE_PATH}`)) ??
  fileURLToPath(new URL('../proto/', import.meta.url));
/** The API's file, relative to {@link PROTO_ROOT}. */
export const PROTO_FILE = PROTO_FILE_PATH;
/** Fully qualified service names, for health checks and reflection. */
export const SERVICE_NAMES = {
  vehicleFeed: 'transit_fusion.v1.VehicleFeed',
  snapshotArchive: 'transit_fusion.v1.SnapshotArchive',
} as const;

export const PROTO_LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
});

export interface TransitFusionPackage {
  readonly definition: protoLoader.PackageDefinition;
  readonly VehicleFeed: grpc.ServiceClientConstructor;
  readonly SnapshotArchive: grpc.ServiceClientConstructor;
}

let loaded: TransitFusionPackage | undefined;

/** Loads the API once per process (servers and clients share it). */
export function loadTransitFusionProto(): TransitFusionPackage {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(PROTO_FILE, PROTO_LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    transit_fusion: {
      v1: { VehicleFeed: grpc.ServiceClientConstructor; SnapshotArchive: grpc.ServiceClientConstructor };
    };
  };
  loaded = Object.freeze({
    definition,
    VehicleFeed: root.transit_fusion.v1.VehicleFeed,
    SnapshotArchive: root.transit_fusion.v1.SnapshotArchive,
  });
  return loaded;
}
