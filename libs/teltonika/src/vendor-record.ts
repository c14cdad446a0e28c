// An AVL record into the model's VendorRecord, the unit the rest of the system fuses: keyed by the tracker's
// IMEI, positioned only by a real GPS fix, speed converted from km/h to the model's m/s, fuel from the IO
// mapping. Everything else a tracker reports (altitude, satellites, ignition, voltages...) has no model field
// and stays with the gateway.

import type { VendorRecord } from '@transit-fusion/model';
import type { AvlRecord } from './avl-packet.js';
import { DEFAULT_IO_MAPPING, readIo, type IoMapping } from './io-mapping.js';
import { TeltonikaError } from './teltonika-error.js';

export interface VendorRecordOptions {
  /** The vendor id the gateway publishes under. */
  vendorId: string;
  /** Default {@link DEFAULT_IO_MAPPING}. Parse configuration with parseIoMapping first. */
  mapping?: IoMapping;
}

/** The model's bounds on observation times: a device clock outside them is not a time. */
const EARLIEST_MS = Date.UTC(2000, 0, 1);
const LATEST_MS = Date.UTC(2100, 0, 1);
const KMH_TO_MS = 1 / 3.6;

/**
 * The vendor record of one AVL record. Position, bearing and GPS speed are set only when `gpsValid` (a record
 * without a fix reports its last position, or 0,0, and speed 0); a mapped `speed` IO value (km/h) wins over GPS
 * speed and is set even without a fix; a mapped `fuel` IO value sets fuel. Throws BAD_TIMESTAMP when the
 * record's time is outside 2000..2100, which the model would reject.
 */
export function toVendorRecord(imei: string, record: AvlRecord, options: VendorRecordOptions): VendorRecord {
  const { timestamp } = record;
  if (!(timestamp >= EARLIEST_MS && timestamp < LATEST_MS)) {
    throw new TeltonikaError(
      'BAD_TIMESTAMP',
      `record of ${imei} has timestamp ${timestamp}, outside 2000-01-01..2100-01-01 (device clock not set?)`,
    );
  }
  const out: VendorRecord = { vendorId: options.vendorId, vehicleKey: imei, observedAt: timestamp };
  if (record.gpsValid) {
    out.position = { lat: record.latitude, lon: record.longitude };
    out.bearing = record.angle % 360;
    out.speed = record.speed * KMH_TO_MS;
  }
  const io = readIo(record, options.mapping ?? DEFAULT_IO_MAPPING);
  if (io.speed !== undefined) out.speed = io.speed * KMH_TO_MS;
  if (io.fuel !== undefined) out.fuel = io.fuel;
  return out;
}
