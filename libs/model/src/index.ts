/**
 * The unified transit-fusion model.
 *
 * @example
 * ```ts
 * import { parseVendorRecord, QualityFlag, type Vehicle } from '@transit-fusion/model';
 * const record = parseVendorRecord(JSON.parse(body)); // throws ModelError naming each bad field
 * const flagged = (vehicle: Vehicle) => (vehicle.quality & QualityFlag.InvalidPosition) !== 0;
 * ```
 */
export {
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  FUSED_FIELDS,
  createVehicle,
  type TransportType,
  type VehicleStatus,
  type Position,
  type VehicleFields,
  type FusedField,
  type VendorRecord,
  type FieldSource,
  type FieldSources,
  type Vehicle,
} from './vehicle.js';
export { QualityFlag, qualityFlagNames, hasQualityFlag, type QualityFlagName } from './quality.js';
export type { VendorSnapshot, SnapshotSource, TransportSnapshot } from './snapshot.js';
export { ModelError, isModelError, type ModelErrorCode, type ValidationIssue } from './model-error.js';
export {
  parseVendorRecord,
  parseVendorSnapshot,
  parseInstant,
  vendorRecordSchema,
  vendorSnapshotSchema,
  instantSchema,
  MAX_ID_LENGTH,
  MAX_RECORDS,
} from './validation.js';
export { toGeoJsonFeature, type VehicleFeature } from './geojson.js';
