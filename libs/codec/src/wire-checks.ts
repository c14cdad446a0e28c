// Shared pieces of the wire conversions: enum lookups and the checks that turn a bad value into a MALFORMED
// CodecError naming its path. The path is only formatted on failure, so the hot loops pay for a compare only.

import { FUSED_FIELDS, TRANSPORT_TYPES, VEHICLE_STATUSES } from '@transit-fusion/model';
import { CodecError } from './codec-error.js';

/** A wire object as unpacked: the expected keys, each still of unknown type. */
export type Unchecked<T> = { readonly [K in keyof T]?: unknown };

export const FUSED_FIELD_COUNT = FUSED_FIELDS.length;

export const TYPE_INDEX: ReadonlyMap<string, number> = new Map(TRANSPORT_TYPES.map((t, i) => [t, i]));
export const STATUS_INDEX: ReadonlyMap<string, number> = new Map(VEHICLE_STATUSES.map((s, i) => [s, i]));

/** Throws MALFORMED as `<path> must be <what>`; used by encode and decode alike. */
export function fail(path: string, what: string): never {
  throw new CodecError('MALFORMED', `${path} must be ${what}`);
}

/** Anything but a CodecError thrown while converting means a bug or a hostile payload: still MALFORMED. */
export function wrapUnexpected(error: unknown): CodecError {
  const reason = error instanceof Error ? error.message : String(error);
  return new CodecError('MALFORMED', `unreadable payload: ${reason}`, { cause: error });
}

export function isRecord(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sequences and counts: whole and non-negative. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Epoch milliseconds are whole (as the model's instants are), which keeps ages exact integers too. */
export function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

/** A msgpackr-decoded number that is a uint32 (bit sets); false for every non-number. */
export function isUint32(value: unknown): value is number {
  return (value as number) >>> 0 === value;
}

export function popcount(bits: number): number {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
}
