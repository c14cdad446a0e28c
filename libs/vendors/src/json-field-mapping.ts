// Vendors with their own JSON (fuel telemetry, for one) are read through a field mapping kept in
// configuration rather than code: which array holds the items, and which dotted path of an item feeds which
// model field. The mapping is validated once, at start-up, by parseJsonFieldMapping.

import { TRANSPORT_TYPES, VEHICLE_STATUSES, type VendorRecord } from '@transit-fusion/model';
import { z } from 'zod';
import {
  FeedResultBuilder,
  hasData,
  reject,
  type DecodeOptions,
  type FeedResult,
  type KeySource,
} from './feed-result.js';
import { VendorFeedError } from './vendor-feed-error.js';

/** Model fields a mapping may fill; `position.lat` and `position.lon` go together. */
export const MAPPABLE_FIELDS = [
  'vehicleKey',
  'observedAt',
  'position.lat',
  'position.lon',
  'bearing',
  'speed',
  'delay',
  'fuel',
  'routeId',
  'tripId',
  'status',
  'transportType',
] as const;
export type MappableField = (typeof MAPPABLE_FIELDS)[number];

const NUMERIC_FIELDS = ['position.lat', 'position.lon', 'bearing', 'speed', 'delay', 'fuel'] as const;
type NumericField = (typeof NUMERIC_FIELDS)[number];

const dotPath = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path like "data.items" (no empty segments or spaces)');

const mappingSchema = z
  .object({
    recordsPath: dotPath.optional(),
    fields: z
      .partialRecord(z.enum(MAPPABLE_FIELDS), dotPath)
      .refine((f) => f.vehicleKey !== undefined, { message: 'must map vehicleKey' })
      .refine((f) => (f['position.lat'] === undefined) === (f['position.lon'] === undefined), {
        message: 'must map position.lat and position.lon together',
      }),
    observedAtFormat: z.enum(['epoch-ms', 'epoch-s', 'iso']).default('epoch-ms'),
    scale: z
      .partialRecord(z.enum(NUMERIC_FIELDS), z.number().refine(Number.isFinite, 'must be a finite number'))
      .optional(),
  })
  .strict();

export interface JsonFieldMapping {
  /** Dot path to the array of items (numeric segments index arrays); the document itself when absent. */
  recordsPath?: string;
  /** Model field → dot path inside one item. `vehicleKey` is required. */
  fields: Partial<Record<MappableField, string>>;
  /** How `observedAt` is written; default epoch-ms. */
  observedAtFormat?: 'epoch-ms' | 'epoch-s' | 'iso';
  /** Factors applied to numeric fields (a fuel level in tenths of a percent: `{ fuel: 0.1 }`). */
  scale?: Partial<Record<NumericField, number>>;
}

const parsed = new WeakSet<JsonFieldMapping>();

/** Validates a mapping from configuration; throws VendorFeedError INVALID_MAPPING naming each bad setting. */
export function parseJsonFieldMapping(input: unknown): JsonFieldMapping {
  if (isParsed(input)) return input;
  const result = mappingSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || 'mapping'}: ${i.message}`);
    throw new VendorFeedError('INVALID_MAPPING', `JSON field mapping is invalid: ${issues.join('; ')}`, {
      cause: result.error,
    });
  }
  const mapping = Object.freeze({
    ...result.data,
    fields: Object.freeze({ ...result.data.fields }),
    ...(result.data.scale ? { scale: Object.freeze({ ...result.data.scale }) } : {}),
  }) as JsonFieldMapping;
  parsed.add(mapping);
  return mapping;
}

function isParsed(input: unknown): input is JsonFieldMapping {
  return input !== null && typeof input === 'object' && parsed.has(input as JsonFieldMapping);
}

/**
 * Maps a parsed JSON document into vendor records. Every item becomes a record or a rejection; a document
 * whose records path does not lead to an array throws VendorFeedError MALFORMED_FEED.
 */
export function mapJsonRecords(json: unknown, mapping: JsonFieldMapping, options: DecodeOptions): FeedResult {
  const valid = parseJsonFieldMapping(mapping);
  const builder = new FeedResultBuilder(options);
  const items = valid.recordsPath === undefined ? json : lookup(json, valid.recordsPath);
  if (!Array.isArray(items)) {
    const where = valid.recordsPath === undefined ? 'the document' : `"${valid.recordsPath}"`;
    throw new VendorFeedError('MALFORMED_FEED', `${where} is not an array (found ${kindOf(items)})`);
  }
  items.forEach((item, index) => {
    const key = keyOf(lookup(item, valid.fields.vehicleKey!));
    builder.add(index, key, () => itemRecord(item, key, valid, builder));
  });
  return builder.result;
}

function itemRecord(
  item: unknown,
  vehicleKey: string | undefined,
  mapping: JsonFieldMapping,
  builder: FeedResultBuilder,
): { record: Omit<VendorRecord, 'vendorId'>; keySource: KeySource } {
  const { fields } = mapping;
  if (vehicleKey === undefined) {
    return reject('NO_VEHICLE_KEY', `no string or number at "${fields.vehicleKey}"`);
  }
  const record: Omit<VendorRecord, 'vendorId' | 'vehicleKey' | 'observedAt'> = {};
  const lat = numeric(item, mapping, 'position.lat');
  const lon = numeric(item, mapping, 'position.lon');
  if ((lat === undefined) !== (lon === undefined)) {
    reject(
      'INVALID_FIELD',
      `position needs both "${fields['position.lat']}" and "${fields['position.lon']}"`,
    );
  }
  if (lat !== undefined && lon !== undefined) record.position = { lat, lon };
  for (const field of ['bearing', 'speed', 'delay', 'fuel'] as const) {
    const value = numeric(item, mapping, field);
    if (value !== undefined) record[field] = value;
  }
  for (const field of ['routeId', 'tripId'] as const) {
    const value = textField(item, mapping, field);
    if (value !== undefined) record[field] = value;
  }
  const status = enumField(item, mapping, 'status', VEHICLE_STATUSES);
  if (status !== undefined) record.status = status;
  const transportType = enumField(item, mapping, 'transportType', TRANSPORT_TYPES);
  if (!hasData(record)) {
    const mapped = Object.keys(fields).filter((f) => f !== 'vehicleKey' && f !== 'observedAt');
    reject('NO_DATA', `none of the mapped fields (${mapped.join(', ') || 'none mapped'}) is present`);
  }
  const observedAt = builder.observedAt(observedAtOf(item, mapping));
  return {
    record: { vehicleKey, observedAt, ...(transportType ? { transportType } : {}), ...record },
    keySource: 'mapped',
  };
}

function observedAtOf(item: unknown, mapping: JsonFieldMapping): number | undefined {
  const path = mapping.fields.observedAt;
  if (path === undefined) return undefined;
  const value = lookup(item, path);
  if (value === undefined || value === null) return undefined;
  const format = mapping.observedAtFormat ?? 'epoch-ms';
  if (format === 'iso') {
    const ms = typeof value === 'string' && /(Z|[+-]\d{2}:?\d{2})$/.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms)) reject('INVALID_FIELD', `"${path}" is not an ISO-8601 date-time with a zone`);
    return ms;
  }
  const number = toNumber(value);
  if (number === undefined) reject('INVALID_FIELD', `"${path}" is not ${format}`);
  return Math.round(format === 'epoch-s' ? number * 1000 : number);
}

function numeric(item: unknown, mapping: JsonFieldMapping, field: NumericField): number | undefined {
  const path = mapping.fields[field];
  if (path === undefined) return undefined;
  const value = lookup(item, path);
  if (value === undefined || value === null) return undefined;
  const number = toNumber(value);
  if (number === undefined) reject('INVALID_FIELD', `${field} at "${path}" is not a number`);
  return number * (mapping.scale?.[field] ?? 1);
}

function textField(
  item: unknown,
  mapping: JsonFieldMapping,
  field: 'routeId' | 'tripId',
): string | undefined {
  const path = mapping.fields[field];
  if (path === undefined) return undefined;
  const value = lookup(item, path);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') reject('INVALID_FIELD', `${field} at "${path}" is not a string`);
  return value;
}

function enumField<T extends string>(
  item: unknown,
  mapping: JsonFieldMapping,
  field: 'status' | 'transportType',
  allowed: readonly T[],
): T | undefined {
  const path = mapping.fields[field];
  if (path === undefined) return undefined;
  const value = lookup(item, path);
  if (value === undefined || value === null) return undefined;
  if (!allowed.includes(value as T)) {
    reject('INVALID_FIELD', `${field} at "${path}" must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Numbers, and strings that are wholly a finite number ("12.5"): some vendors quote every value. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const number = Number(value);
    return Number.isFinite(number) ? number : undefined;
  }
  return undefined;
}

function keyOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Follows a dot path through own properties only (never `__proto__` or inherited members). */
function lookup(root: unknown, path: string): unknown {
  let node = root;
  for (const segment of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, segment)) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
