// Human-readable text for the terminal. Machine-readable output (--json, --format json, exports) is plain JSON
// and never goes through here.

import {
  QualityFlag,
  TRANSPORT_TYPES,
  VEHICLE_STATUSES,
  qualityFlagNames,
  type QualityFlagName,
  type TransportSnapshot,
} from '@transit-fusion/model';
import type { SnapshotDescriptor } from '@transit-fusion/storage';

/** `label  value` lines with the values aligned. */
export function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, value]) => `${label.padEnd(width)}${value}\n`).join('');
}

export function isoTime(t: number): string {
  return new Date(t).toISOString();
}

/** `1.5 s before`, `2 min 3 s after`, `exactly at`. */
export function offsetFrom(t: number, requested: number): string {
  const diff = t - requested;
  if (diff === 0) return 'exactly at the requested time';
  const abs = Math.abs(diff);
  const text =
    abs < 60_000
      ? `${(abs / 1000).toFixed(3).replace(/\.?0+$/, '')} s`
      : abs < 3_600_000
        ? `${Math.floor(abs / 60_000)} min ${Math.round((abs % 60_000) / 1000)} s`
        : `${(abs / 3_600_000).toFixed(1)} h`;
  return `${text} ${diff < 0 ? 'before' : 'after'} the requested time`;
}

/** `bus 2, tram 1` in the model's order, zero counts left out; `-` when empty. */
function counts<K extends string>(order: readonly K[], values: Iterable<K>): string {
  const byKey = new Map<string, number>();
  for (const value of values) byKey.set(value, (byKey.get(value) ?? 0) + 1);
  const known = order.filter((k) => byKey.has(k)).map((k) => `${k} ${byKey.get(k)}`);
  const other = [...byKey]
    .filter(([k]) => !(order as readonly string[]).includes(k))
    .map(([k, n]) => `${k} ${n}`);
  return [...known, ...other].join(', ') || '-';
}

export function snapshotSummary(
  descriptor: SnapshotDescriptor,
  snapshot: TransportSnapshot,
  requested: number,
): string {
  const flagged = snapshot.vehicles.filter((v) => v.quality !== 0);
  const flagCounts = counts(
    Object.keys(QualityFlag) as QualityFlagName[],
    flagged.flatMap((v) => qualityFlagNames(v.quality)),
  );
  return table([
    ['id', descriptor.id],
    ['sequence', String(snapshot.sequence)],
    ['generatedAt', `${isoTime(snapshot.generatedAt)} (${offsetFrom(snapshot.generatedAt, requested)})`],
    ['vehicles', String(snapshot.vehicles.length)],
    [
      '  by type',
      counts(
        TRANSPORT_TYPES,
        snapshot.vehicles.map((v) => v.transportType),
      ),
    ],
    [
      '  by status',
      counts(
        VEHICLE_STATUSES,
        snapshot.vehicles.map((v) => v.status),
      ),
    ],
    ['  flagged', flagged.length === 0 ? '0' : `${flagged.length} (${flagCounts})`],
    [
      'sources',
      snapshot.sources.map((s) => `${s.vendorId} #${s.sequence} (${s.recordCount} records)`).join(', ') ||
        '-',
    ],
    ['blob', `${descriptor.blobName} (${descriptor.bytes} bytes)`],
  ]);
}

export function descriptorLine(d: SnapshotDescriptor): string {
  return `${d.id}  sequence ${d.sequence}  vehicles ${d.vehicleCount}  bytes ${d.bytes}\n`;
}
