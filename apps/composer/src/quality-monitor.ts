// Data quality over recent ticks (the IoT data-integrity seed): devices that keep reporting invalid coordinates,
// or positions that imply an impossible speed since their previous one, are found and reported, so an operator
// can fix or replace the tracker instead of the map silently showing nonsense.
//
// Incidents are kept in memory per vehicle as the leader composes (it already holds every snapshot), so the
// check costs no storage reads; a new leader starts with an empty window, which only delays an alert.

import { QualityFlag, type TransportSnapshot } from '@transit-fusion/model';
import type { QualityCheckSettings } from './config.js';

export type IncidentKind = 'invalid-position' | 'impossible-jump';

export interface DeviceAlert {
  readonly vehicleId: string;
  readonly invalidPositions: number;
  readonly impossibleJumps: number;
  /** The quality bits to flag the device with. */
  readonly quality: number;
  readonly windowMs: number;
  readonly detectedAt: number;
}

export interface QualityMonitor {
  /** Records the incidents of one composed snapshot. */
  observe(snapshot: TransportSnapshot): void;
  /**
   * Devices over the threshold within the window before the newest snapshot observed, each alerted once until it
   * falls back under it. (The window is measured on snapshot time, so a replay or a lagging clock judges the same.)
   */
  check(): DeviceAlert[];
}

interface Track {
  lat: number;
  lon: number;
  at: number;
  /** Incident times, oldest first, per kind. */
  invalid: number[];
  jumps: number[];
  alerted: boolean;
}

const EARTH_RADIUS_M = 6_371_000;

export function createQualityMonitor(settings: QualityCheckSettings): QualityMonitor {
  const tracks = new Map<string, Track>();
  let newest = 0;

  function trackOf(id: string): Track {
    let track = tracks.get(id);
    if (!track) {
      track = { lat: Number.NaN, lon: Number.NaN, at: 0, invalid: [], jumps: [], alerted: false };
      tracks.set(id, track);
    }
    return track;
  }

  return {
    observe(snapshot) {
      newest = Math.max(newest, snapshot.generatedAt);
      for (const v of snapshot.vehicles) {
        if (v.quality & QualityFlag.InvalidPosition) {
          trackOf(v.id).invalid.push(snapshot.generatedAt);
          continue;
        }
        const position = v.position;
        const at = v.sources.position?.observedAt;
        if (!position || at === undefined) continue;
        const track = trackOf(v.id);
        if (at > track.at) {
          if (track.at > 0) {
            const metres = distanceM(track.lat, track.lon, position.lat, position.lon);
            const seconds = (at - track.at) / 1000;
            if (metres / seconds > settings.maxSpeedMps) track.jumps.push(snapshot.generatedAt);
          }
          track.lat = position.lat;
          track.lon = position.lon;
          track.at = at;
        }
      }
    },
    check() {
      const now = newest;
      const since = now - settings.windowMs;
      const alerts: DeviceAlert[] = [];
      for (const [vehicleId, track] of tracks) {
        while (track.invalid.length > 0 && track.invalid[0]! < since) track.invalid.shift();
        while (track.jumps.length > 0 && track.jumps[0]! < since) track.jumps.shift();
        const incidents = track.invalid.length + track.jumps.length;
        if (incidents < settings.threshold) {
          track.alerted = false;
          if (incidents === 0 && track.at < since) tracks.delete(vehicleId); // gone quiet: forget it
          continue;
        }
        if (track.alerted) continue;
        track.alerted = true;
        alerts.push({
          vehicleId,
          invalidPositions: track.invalid.length,
          impossibleJumps: track.jumps.length,
          quality:
            (track.invalid.length > 0 ? QualityFlag.InvalidPosition : 0) |
            (track.jumps.length > 0 ? QualityFlag.ImpossibleJump : 0),
          windowMs: settings.windowMs,
          detectedAt: now,
        });
      }
      return alerts;
    },
  };
}

/** Great-circle distance (haversine), metres. */
export function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}
