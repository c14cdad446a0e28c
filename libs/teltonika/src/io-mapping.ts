// Which IO element carries what: Teltonika numbers its IO values (239 ignition, 66 external voltage...), and
// which ids a device sends depends on its model and configuration, so the mapping is configuration, validated
// once by parseIoMapping. Only `fuel` and `speed` reach the model's vendor records; the other fields are read
// for the gateway's own use (logs, metrics, device health) and go no further.

import { z } from 'zod';
import type { AvlRecord } from './avl-packet.js';
import { TeltonikaError } from './teltonika-error.js';

/**
 * Fields an IO value may fill, with the unit its scaled value must be in:
 * - `fuel`: percent — the model's `fuel`;
 * - `speed`: km/h (a CAN wheel speed, say) — the model's `speed` once converted to m/s; it wins over GPS speed;
 * - `ignition`, `movement`: 1 on, 0 off;
 * - `externalVoltage`, `batteryVoltage`: volts;
 * - `gsmSignal`: 0..5;
 * - `temperature`: °C;
 * - `odometer`: metres.
 */
export const IO_FIELDS = [
  'fuel',
  'speed',
  'ignition',
  'movement',
  'externalVoltage',
  'batteryVoltage',
  'gsmSignal',
  'temperature',
  'odometer',
] as const;
export type IoField = (typeof IO_FIELDS)[number];

/** How to read the raw unsigned value: as is, or as a two's-complement signed integer of that many bits. */
export const IO_VALUE_TYPES = ['uint', 'int8', 'int16', 'int32', 'int64'] as const;
export type IoValueType = (typeof IO_VALUE_TYPES)[number];

export interface IoMappingEntry {
  /** The Teltonika IO id. */
  io: number;
  field: IoField;
  /** Multiplies the value (after `type`): 0.001 turns millivolts into volts. Default 1. */
  scale?: number;
  /** Default 'uint'. */
  type?: IoValueType;
}

/** Entries in priority order: for each field, the first entry whose IO id a record carries wins. */
export type IoMapping = readonly Readonly<IoMappingEntry>[];

/** What a mapping read from one record: each field its first present entry gave, scaled. */
export type IoReadings = Partial<Record<IoField, number>>;

const MAX_ENTRIES = 64;

const entrySchema = z
  .object({
    io: z.number().int().min(0).max(0xffff),
    field: z.enum(IO_FIELDS),
    scale: z
      .number()
      .refine((n) => Number.isFinite(n) && n !== 0, 'must be a finite number other than 0')
      .optional(),
    type: z.enum(IO_VALUE_TYPES).optional(),
  })
  .strict();

const mappingSchema = z.array(entrySchema).max(MAX_ENTRIES, `must have at most ${MAX_ENTRIES} entries`);

const parsed = new WeakSet<object>();

/** Validates an IO mapping from configuration; throws INVALID_MAPPING naming each bad entry. */
export function parseIoMapping(input: unknown): IoMapping {
  if (typeof input === 'object' && input !== null && parsed.has(input)) return input as IoMapping;
  const result = mappingSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${formatPath(i.path) || 'mapping'}: ${i.message}`);
    throw new TeltonikaError('INVALID_MAPPING', `IO mapping is invalid: ${issues.join('; ')}`, {
      cause: result.error,
    });
  }
  const mapping = Object.freeze(result.data.map((entry) => Object.freeze({ ...entry })));
  parsed.add(mapping);
  return mapping;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/**
 * Common Teltonika FMB IO ids (FMB1xx/FMB9xx parameter list): ignition, movement, external and battery voltage
 * (millivolts), GSM signal, Dallas temperature 1 (signed, 0.1 °C), CAN fuel level (percent), total odometer
 * (metres). Devices send only the ids they are configured to; a missing id leaves its field unset.
 */
export const DEFAULT_IO_MAPPING: IoMapping = parseIoMapping([
  { io: 239, field: 'ignition' },
  { io: 240, field: 'movement' },
  { io: 66, field: 'externalVoltage', scale: 0.001 },
  { io: 67, field: 'batteryVoltage', scale: 0.001 },
  { io: 21, field: 'gsmSignal' },
  { io: 72, field: 'temperature', type: 'int32', scale: 0.1 },
  { io: 89, field: 'fuel' },
  { io: 16, field: 'odometer' },
]);

/**
 * Reads a record's IO values through a mapping. Variable-length (Buffer) values are skipped; an 8-byte value
 * beyond 2^53 loses precision as a number.
 */
export function readIo(record: Pick<AvlRecord, 'io'>, mapping: IoMapping = DEFAULT_IO_MAPPING): IoReadings {
  const readings: IoReadings = {};
  for (const entry of mapping) {
    if (readings[entry.field] !== undefined) continue;
    const raw = record.io.get(entry.io);
    if (raw === undefined || typeof raw === 'object') continue;
    readings[entry.field] = toSigned(raw, entry.type ?? 'uint') * (entry.scale ?? 1);
  }
  return readings;
}

function toSigned(raw: number | bigint, type: IoValueType): number {
  switch (type) {
    case 'uint':
      return Number(raw);
    case 'int64':
      return Number(BigInt.asIntN(64, BigInt(raw)));
    default: {
      const bits = type === 'int8' ? 8 : type === 'int16' ? 16 : 32;
      const value = Number(raw);
      // A value wider than the declared type was not sent as that type: leave it as it came.
      if (value >= 2 ** bits) return value;
      return value >= 2 ** (bits - 1) ? value - 2 ** bits : value;
    }
  }
}
