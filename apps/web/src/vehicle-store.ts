// What the map holds: the vehicles of the live view, kept current from the hub's updates (a keyframe replaces
// everything; a delta upserts and removes), with a gap check on previousSequence, and the filters the user set.
// Pure, so it is tested without a browser.

import type { Vehicle } from '@transit-fusion/model';

/** The fused vehicle as the hub sends it (the model's type; only types are imported into the page). */
export type MapVehicle = Vehicle;

export interface VehicleUpdate {
  sequence: number;
  generatedAt: number;
  previousSequence?: number;
  keyframe: boolean;
  vehicles: MapVehicle[];
  removed: string[];
  part?: number;
  parts?: number;
}

export interface Filters {
  /** Empty: every type. */
  types: ReadonlySet<string>;
  onDutyOnly: boolean;
  /** Matches the vehicle id, label or route, case-insensitively. */
  search: string;
}

export type ApplyResult = 'applied' | 'gap' | 'old';

export class VehicleStore {
  readonly vehicles = new Map<string, MapVehicle>();
  sequence = -1;
  generatedAt = 0;

  /** Applies an update; 'gap' means a delta was missed and a keyframe is needed (nothing was applied). */
  apply(update: VehicleUpdate): ApplyResult {
    const continuation = (update.part ?? 1) > 1 && update.sequence === this.sequence;
    if (!continuation && update.sequence <= this.sequence) return 'old';
    if (!update.keyframe && !continuation) {
      const previous = update.previousSequence;
      if (this.sequence < 0 || (previous !== undefined && previous >= 0 && previous !== this.sequence))
        return 'gap';
    }
    if (update.keyframe) this.vehicles.clear();
    for (const vehicle of update.vehicles) this.vehicles.set(vehicle.id, vehicle);
    for (const id of update.removed) this.vehicles.delete(id);
    this.sequence = update.sequence;
    this.generatedAt = update.generatedAt;
    return 'applied';
  }

  /** Replaces everything with a whole snapshot (the time machine). */
  load(snapshot: { sequence: number; generatedAt: number; vehicles: MapVehicle[] }): void {
    this.vehicles.clear();
    for (const vehicle of snapshot.vehicles) this.vehicles.set(vehicle.id, vehicle);
    this.sequence = snapshot.sequence;
    this.generatedAt = snapshot.generatedAt;
  }

  reset(): void {
    this.vehicles.clear();
    this.sequence = -1;
    this.generatedAt = 0;
  }

  /** The vehicles that pass the filters and have a position. */
  visible(filters: Filters): MapVehicle[] {
    const search = filters.search.trim().toLowerCase();
    const out: MapVehicle[] = [];
    for (const v of this.vehicles.values()) {
      if (!v.position) continue;
      if (filters.types.size > 0 && !filters.types.has(v.transportType)) continue;
      if (filters.onDutyOnly && v.status !== 'on_duty') continue;
      if (
        search &&
        !v.id.toLowerCase().includes(search) &&
        !(v.label ?? '').toLowerCase().includes(search) &&
        !(v.routeId ?? '').toLowerCase().includes(search)
      )
        continue;
      out.push(v);
    }
    return out;
  }
}

/** How old a field's value is, for people: "4 s", "3 min". */
export function age(observedAt: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - observedAt) / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/** One colour per transport type, shared by the markers and the legend. */
export const TYPE_COLOURS: Readonly<Record<string, string>> = {
  bus: '#1f77b4',
  trolleybus: '#17becf',
  tram: '#d62728',
  rail: '#9467bd',
  ferry: '#2ca02c',
  other: '#7f7f7f',
};

/**
 * The model's quality flags (libs/model QualityFlag) by bit, as people read them. Only the model's types reach
 * the page, so the names are listed here; a test checks they match the model's.
 */
export const QUALITY_LABELS: readonly string[] = [
  'partial',
  'invalid position',
  'speed out of range',
  'fuel out of range',
  'delay out of range',
  'bearing out of range',
  'stale',
  'calibrated',
  'conflict',
  'impossible jump',
];

export function qualityLabels(quality: number): string[] {
  return QUALITY_LABELS.filter((_, bit) => (quality & (1 << bit)) !== 0);
}
