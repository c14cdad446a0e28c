// A coarse grid over one snapshot's vehicle positions, so that a view with a bounding box looks only at the
// vehicles in the cells its box overlaps instead of at the whole fleet. Each view used to test every vehicle of
// every snapshot: V views × N vehicles a tick, 2.56 million tests at the bound of 256 views over 10,000
// vehicles. With the grid a boxed view costs the cells it overlaps and the vehicles in them (decision 0018).
//
// The grid only prunes: the view still applies its full filter to every candidate, in snapshot order, so what it
// accepts is exactly what a scan of the whole fleet would accept. Cells come from the snapshot's own extent, so
// a city and a country get the same number of cells per vehicle.

import type { Vehicle } from '@transit-fusion/model';

/** About this many vehicles per cell on average (more cells cost more per view, fewer prune less). */
const VEHICLES_PER_CELL = 8;

export interface SpatialGrid {
  /**
   * Indices into the snapshot's vehicles, ascending, of every vehicle whose position may lie in the box: all
   * that do, plus some near it, plus any whose position is not a finite number (the caller's filter decides).
   * The array is reused by the next call.
   */
  candidates(minLon: number, minLat: number, maxLon: number, maxLat: number): Int32Array;
}

export function spatialGridOf(vehicles: readonly Vehicle[]): SpatialGrid {
  const n = vehicles.length;
  let minLon = Infinity;
  let minLat = Infinity;
  let maxLon = -Infinity;
  let maxLat = -Infinity;
  for (let i = 0; i < n; i++) {
    const p = vehicles[i]!.position;
    if (!p || !Number.isFinite(p.lon) || !Number.isFinite(p.lat)) continue;
    if (p.lon < minLon) minLon = p.lon;
    if (p.lon > maxLon) maxLon = p.lon;
    if (p.lat < minLat) minLat = p.lat;
    if (p.lat > maxLat) maxLat = p.lat;
  }
  const side = Math.max(1, Math.ceil(Math.sqrt(n / VEHICLES_PER_CELL)));
  // A zero extent (one place, or no positions) is one column or row.
  const cellLon = maxLon > minLon ? (maxLon - minLon) / side : 1;
  const cellLat = maxLat > minLat ? (maxLat - minLat) / side : 1;
  // The same arithmetic places vehicles and box edges, and it never decreases as a coordinate grows: a vehicle
  // inside a box lies in a cell between the cells of the box's corners.
  const column = (lon: number) => Math.min(side - 1, Math.max(0, Math.floor((lon - minLon) / cellLon)));
  const row = (lat: number) => Math.min(side - 1, Math.max(0, Math.floor((lat - minLat) / cellLat)));

  // Counting sort of the vehicles by cell: `order` lists them cell by cell, ascending within a cell.
  const cellOf = new Int32Array(n);
  const start = new Int32Array(side * side + 1);
  const unplaced: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = vehicles[i]!.position;
    if (!p) {
      cellOf[i] = -1; // no position: outside every box
    } else if (!Number.isFinite(p.lon) || !Number.isFinite(p.lat)) {
      cellOf[i] = -1;
      unplaced.push(i);
    } else {
      const cell = row(p.lat) * side + column(p.lon);
      cellOf[i] = cell;
      start[cell + 1]!++;
    }
  }
  for (let c = 0; c < side * side; c++) start[c + 1]! += start[c]!;
  const order = new Int32Array(start[side * side]!);
  const fill = start.slice(0, side * side);
  for (let i = 0; i < n; i++) {
    const cell = cellOf[i]!;
    if (cell >= 0) order[fill[cell]!++] = i;
  }
  const scratch = new Int32Array(n);

  return {
    candidates(boxMinLon, boxMinLat, boxMaxLon, boxMaxLat) {
      let count = 0;
      const overlaps =
        order.length > 0 &&
        boxMaxLon >= minLon &&
        boxMinLon <= maxLon &&
        boxMaxLat >= minLat &&
        boxMinLat <= maxLat;
      if (overlaps) {
        const c0 = column(boxMinLon);
        const c1 = column(boxMaxLon);
        for (let r = row(boxMinLat), r1 = row(boxMaxLat); r <= r1; r++) {
          for (let from = start[r * side + c0]!, to = start[r * side + c1 + 1]!, k = from; k < to; k++) {
            scratch[count++] = order[k]!;
          }
        }
      }
      for (const i of unplaced) scratch[count++] = i;
      return scratch.subarray(0, count).sort();
    },
  };
}
