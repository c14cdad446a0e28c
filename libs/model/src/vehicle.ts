// The unified model every service speaks: what one vendor said about one vehicle (VendorRecord), and what the
// composer made of all vendors together (Vehicle), with where and when each fused field came from.

export const TRANSPORT_TYPES = ['bus', 'trolleybus', 'tram', 'rail', 'ferry', 'other'] as const;
export type TransportType = (typeof TRANSPORT_TYPES)[number];

export const VEHICLE_STATUSES = ['on_duty', 'parked', 'unknown'] as const;
export type VehicleStatus = (typeof VEHICLE_STATUSES)[number];

/** WGS-84 degrees. */
export interface Position {
  lat: number;
  lon: number;
}

/** The observable fields a vendor may report and the composer fuses, each optional. */
export interface VehicleFields {
  position?: Position;
  /** Degrees clockwise from true north, [0, 360). */
  bearing?: number;
  /** Metres per second. */
  speed?: number;
  /** Seconds behind schedule (negative: ahead). */
  delay?: number;
  /** Tank or battery level, percent. */
  fuel?: number;
  routeId?: string;
  tripId?: string;
  status?: VehicleStatus;
}

/**
 * The fused fields, in the fixed order the codec and the conflict resolver use.
 * Adding a field means adding it here and to {@link VehicleFields}.
 */
export const FUSED_FIELDS = [
  'position',
  'bearing',
  'speed',
  'delay',
  'fuel',
  'routeId',
  'tripId',
  'status',
] as const satisfies readonly (keyof VehicleFields)[];
export type FusedField = (typeof FUSED_FIELDS)[number];

/** One vendor's report about one vehicle, keyed the vendor's own way. */
export interface VendorRecord extends VehicleFields {
  vendorId: string;
  /** The vendor's own key for the vehicle: a GTFS vehicle id, a fleet number, a tracker IMEI... */
  vehicleKey: string;
  /** When the vendor observed this, epoch milliseconds. */
  observedAt: number;
  /** What the vendor says the vehicle is, when it says so; the fleet registry overrides it. */
  transportType?: TransportType;
}

/** Where a fused field's value came from. */
export interface FieldSource {
  vendorId: string;
  /** Epoch milliseconds of the winning observation. */
  observedAt: number;
  /** Older than the configured freshness age when the snapshot was composed: not current. */
  stale?: boolean;
}

export type FieldSources = { [F in FusedField]?: FieldSource };

/** One vehicle as the composer fused it from every vendor that knows it. */
export interface Vehicle extends VehicleFields {
  /** Canonical vehicle id from the fleet registry. */
  id: string;
  /** A human label (fleet number), when the registry has one. */
  label?: string;
  transportType: TransportType;
  status: VehicleStatus;
  /** Per fused field present on this vehicle: its source vendor and observation time. */
  sources: FieldSources;
  /** Bit set of {@link QualityFlag}. */
  quality: number;
}

/**
 * A vehicle with every field key present (undefined until set), in one fixed order, and status unknown.
 * Every producer of vehicles (the pipeline, the codec) starts here, so all vehicles share one hidden class in V8:
 * processors stay monomorphic, and fields are cleared by assigning undefined, never with `delete`.
 */
export function createVehicle(id: string, transportType: TransportType, label?: string): Vehicle {
  return {
    id,
    label,
    transportType,
    position: undefined,
    bearing: undefined,
    speed: undefined,
    delay: undefined,
    fuel: undefined,
    routeId: undefined,
    tripId: undefined,
    status: 'unknown',
    sources: {
      position: undefined,
      bearing: undefined,
      speed: undefined,
      delay: undefined,
      fuel: undefined,
      routeId: undefined,
      tripId: undefined,
      status: undefined,
    },
    quality: 0,
  };
}
