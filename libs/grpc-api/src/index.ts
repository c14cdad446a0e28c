/**
 * The gRPC API of transit-fusion: the `.proto` (served for download by the broadcaster, usable with protoc in
 * any language), its loading for @grpc/grpc-js servers and clients, and the model ↔ wire mapping.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { loadTransitFusionProto, fromWireSnapshot } from '@transit-fusion/grpc-api';
 * const { SnapshotArchive } = loadTransitFusionProto();
 * const client = new SnapshotArchive('localhost:50051', grpc.credentials.createInsecure());
 * client.GetSnapshotAt({ atMs: Date.parse('2026-11-21T08:47:00Z') }, (err, wire) => console.log(fromWireSnapshot(wire)));
 * ```
 */
export { GrpcApiError, isGrpcApiError, type GrpcApiErrorCode } from './grpc-api-error.js';
export {
  loadTransitFusionProto,
  PROTO_FILE,
  PROTO_LOADER_OPTIONS,
  PROTO_ROOT,
  SERVICE_NAMES,
  type TransitFusionPackage,
} from './proto.js';
export {
  toWireVehicle,
  fromWireVehicle,
  toWireSnapshot,
  fromWireSnapshot,
  toWireDescriptor,
  type WireVehicle,
  type WireFieldSource,
  type WireSnapshot,
  type WireSnapshotDescriptor,
} from './wire.js';
export { encodeVehicleUpdate, type VehicleUpdateFields } from './vehicle-update-encoder.js';
