// Turns a push's raw body into validated VendorRecords. Accepted shapes: JSON (one record, an array of records,
// or `{ "records": [...] }`) and NDJSON (one record per line). `vendorId` may be left out (the path says which
// vendor is pushing); when present it must be the path's vendor. Every record is validated with the model's
// schema, and a rejection names the offending field the way the vendor wrote it: `records[3].position.lat`, or
// `line 4: position.lat` for NDJSON.

import { isModelError, parseVendorRecord, type VendorRecord } from '@transit-fusion/model';

export type PushMediaType = 'application/json' | 'application/x-ndjson';
export const PUSH_MEDIA_TYPES: readonly PushMediaType[] = ['application/json', 'application/x-ndjson'];

export interface PushIssue {
  readonly path: string;
  readonly message: string;
}

export type PushBodyResult =
  | { readonly ok: true; readonly records: VendorRecord[] }
  | {
      readonly ok: false;
      readonly reason: 'invalid';
      readonly issues: PushIssue[];
      readonly invalidRecords: number;
    }
  | { readonly ok: false; readonly reason: 'too_many_records'; readonly count: number };

/** At most this many issues are reported (a push of 10,000 bad records does not get 10,000 back). */
export const MAX_REPORTED_ISSUES = 20;

/** `application/json; charset=utf-8` → `application/json`; undefined for anything not accepted. */
export function pushMediaType(contentType: string | undefined): PushMediaType | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';');
  const media = type!.trim().toLowerCase();
  const charset = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return undefined;
  return (PUSH_MEDIA_TYPES as readonly string[]).includes(media) ? (media as PushMediaType) : undefined;
}

export function parsePushBody(
  body: Buffer,
  mediaType: PushMediaType,
  vendorId: string,
  maxRecords: number,
): PushBodyResult {
  const items: { value: unknown; path: string }[] = [];
  const issues: PushIssue[] = [];
  const text = body.toString('utf8');

  if (mediaType === 'application/x-ndjson') {
    const lines = text.split('\n');
    for (const [i, raw] of lines.entries()) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      const prefix = `line ${i + 1}`;
      try {
        items.push({ value: JSON.parse(line), path: prefix });
      } catch {
        issues.push({ path: prefix, message: 'is not valid JSON' });
      }
    }
  } else {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return invalid([{ path: '', message: 'body is not valid JSON' }], 1);
    }
    if (Array.isArray(value)) {
      value.forEach((v, i) => items.push({ value: v, path: `records[${i}]` }));
    } else if (isObject(value) && Object.hasOwn(value, 'records')) {
      if (!Array.isArray(value.records))
        return invalid([{ path: 'records', message: 'must be an array' }], 1);
      value.records.forEach((v: unknown, i: number) => items.push({ value: v, path: `records[${i}]` }));
    } else {
      items.push({ value, path: '' });
    }
  }

  const count = items.length + issues.length;
  if (count > maxRecords) return { ok: false, reason: 'too_many_records', count };
  if (count === 0) return invalid([{ path: '', message: 'the push holds no records' }], 0);

  const records: VendorRecord[] = [];
  let invalidRecords = issues.length;
  for (const { value, path } of items) {
    const problems = validate(value, vendorId);
    if (Array.isArray(problems)) {
      invalidRecords += 1;
      for (const p of problems) issues.push({ path: join(path, p.path), message: p.message });
    } else {
      records.push(problems);
    }
  }
  return issues.length > 0 ? invalid(issues, invalidRecords) : { ok: true, records };
}

function validate(value: unknown, vendorId: string): VendorRecord | PushIssue[] {
  if (!isObject(value)) return [{ path: '', message: 'must be a record object' }];
  if (value.vendorId !== undefined && value.vendorId !== vendorId) {
    return [{ path: 'vendorId', message: `must be the vendor in the path ("${vendorId}") or left out` }];
  }
  try {
    return parseVendorRecord(value.vendorId === undefined ? { ...value, vendorId } : value);
  } catch (error) {
    if (!isModelError(error)) throw error;
    return [...error.issues];
  }
}

function invalid(issues: PushIssue[], invalidRecords: number): PushBodyResult {
  return { ok: false, reason: 'invalid', issues: issues.slice(0, MAX_REPORTED_ISSUES), invalidRecords };
}

/** `records[3]` + `position.lat` → `records[3].position.lat`; `line 4` + `position.lat` → `line 4: position.lat`. */
function join(prefix: string, path: string): string {
  if (!prefix) return path;
  if (!path) return prefix;
  return prefix.startsWith('line ')
    ? `${prefix}: ${path}`
    : path.startsWith('[')
      ? prefix + path
      : `${prefix}.${path}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
