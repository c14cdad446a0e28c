// The simulated city: a generated route network and a fleet moving along it. Pure and deterministic from a seed
// (no clock, no I/O): the service advances it with step() and the vendor encoders read snapshotAt(). Vehicle state is
// kept in typed arrays, one per field, so stepping 50,000 vehicles allocates nothing and stays in the low milliseconds.

import { createRandom, hashUnit } from './random.js';

export const SIM_TRANSPORT_TYPES = ['bus', 'trolleybus', 'tram', 'ferry', 'rail'] as const;
/** The types the generated network has (rail appears only when driving a static GTFS feed's shapes). */
const GENERATED_TYPES = ['bus', 'trolleybus', 'tram', 'ferry'] as const;
export type SimTransportType = (typeof SIM_TRANSPORT_TYPES)[number];

/** Per-type behaviour. Speeds in m/s; fuel use in percent per metre (electric types: battery percent). */
export interface TransportProfile {
  readonly cruiseMin: number;
  readonly cruiseMax: number;
  /** Never exceeded, whatever the traffic factor: the bound tests and consumers can rely on. */
  readonly maxSpeed: number;
  readonly dwellMinMs: number;
  readonly dwellMaxMs: number;
  readonly stopSpacingMin: number;
  readonly stopSpacingMax: number;
  readonly fuelPerMetre: number;
  readonly electric: boolean;
}

export const TRANSPORT_PROFILES: Readonly<Record<SimTransportType, TransportProfile>> = Object.freeze({
  bus: {
    cruiseMin: 7,
    cruiseMax: 11,
    maxSpeed: 16.7,
    dwellMinMs: 10_000,
    dwellMaxMs: 40_000,
    stopSpacingMin: 350,
    stopSpacingMax: 650,
    fuelPerMetre: 0.0004,
    electric: false,
  },
  trolleybus: {
    cruiseMin: 6,
    cruiseMax: 10,
    maxSpeed: 15,
    dwellMinMs: 10_000,
    dwellMaxMs: 35_000,
    stopSpacingMin: 350,
    stopSpacingMax: 600,
    fuelPerMetre: 0.0006,
    electric: true,
  },
  tram: {
    cruiseMin: 7,
    cruiseMax: 11,
    maxSpeed: 19.4,
    dwellMinMs: 15_000,
    dwellMaxMs: 30_000,
    stopSpacingMin: 400,
    stopSpacingMax: 700,
    fuelPerMetre: 0.0005,
    electric: true,
  },
  ferry: {
    cruiseMin: 5,
    cruiseMax: 8,
    maxSpeed: 11,
    dwellMinMs: 300_000,
    dwellMaxMs: 600_000,
    stopSpacingMin: Infinity,
    stopSpacingMax: Infinity,
    fuelPerMetre: 0.00008,
    electric: false,
  },
  rail: {
    cruiseMin: 18,
    cruiseMax: 28,
    maxSpeed: 36,
    dwellMinMs: 30_000,
    dwellMaxMs: 90_000,
    stopSpacingMin: 2_000,
    stopSpacingMax: 5_000,
    fuelPerMetre: 0.00005,
    electric: false,
  },
});

/** Layover at a terminus, where most of the delay is absorbed before the next trip. */
const LAYOVER_MIN_MS = 60_000;
const LAYOVER_MAX_MS = 180_000;
const REFUEL_BELOW = 12;
export const METRES_PER_DEGREE = 111_320;

export interface Route {
  readonly routeId: string;
  readonly transportType: SimTransportType;
  /** Polyline in metres east (x) and north (y) of the network's centre. */
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  /** Distance along the polyline at each point; the last value is the route's length. */
  readonly cumulative: Float64Array;
  readonly length: number;
  /** Distances of the stops along the route; the first is 0 and the last is the length (the termini). */
  readonly stops: Float64Array;
  readonly stopIds: readonly string[];
  /**
   * Timetabled trip ids the route's vehicles serve, by direction along the polyline (a static GTFS feed's
   * trip_ids; empty for the generated network). A vehicle finding none free gets a made-up opaque id instead.
   */
  readonly trips: RouteTrips;
}

export interface RouteTrips {
  /** Trips driven from the first stop to the last. */
  readonly forward: readonly string[];
  /** Trips driven from the last stop back to the first. */
  readonly backward: readonly string[];
}

/** How a route is built besides its polyline. */
export interface RouteOptions {
  /** Prefix of the generated stop ids (`<prefix>-S1`, …); default the route id. */
  readonly stopPrefix?: string;
  /**
   * Real stops instead of stops at the type's spacing: distances along the polyline, in order, and their ids. The
   * first and last are the termini, moved to 0 and to the polyline's length.
   */
  readonly stops?: { readonly distances: readonly number[]; readonly ids: readonly string[] };
  readonly trips?: RouteTrips;
}

export interface Network {
  readonly centre: { readonly lat: number; readonly lon: number };
  readonly routes: readonly Route[];
}

export interface FleetOptions {
  /** Number of vehicles; default 500. */
  vehicles?: number;
  /** Default 1. */
  seed?: number;
  /** Default Tallinn, 59.437 N 24.7536 E. */
  centre?: { lat: number; lon: number };
  /** Simulated clock at start (epoch ms); default 2026-01-01T06:00:00Z so results never depend on the host clock. */
  startMs?: number;
  /** Fraction of vehicles parked (no trip, speed 0); default 0.05. */
  parkedFraction?: number;
  /** Fleet number of the first vehicle; default 1000. */
  firstFleetNumber?: number;
  /** Drive along this network (e.g. from a static GTFS feed) instead of generating one. */
  network?: Network;
}

export interface FleetState {
  readonly network: Network;
  readonly size: number;
  nowMs: number;
  readonly firstFleetNumber: number;
  readonly random: () => number;
  readonly type: Uint8Array;
  readonly route: Int32Array;
  readonly distance: Float64Array;
  readonly direction: Int8Array;
  readonly speed: Float32Array;
  readonly cruise: Float32Array;
  /** Traffic: actual speed = cruise × factor (capped), rerolled at every departure. */
  readonly factor: Float32Array;
  readonly dwellMs: Float64Array;
  readonly nextStop: Int32Array;
  /** Seconds behind schedule (negative: early). */
  readonly delay: Float32Array;
  readonly fuel: Float32Array;
  readonly parked: Uint8Array;
  /**
   * Each vehicle's current trip id (undefined while parked). Strings rather than a typed array: they change only at
   * a terminus, and keeping them saves formatting one per vehicle in every snapshot.
   */
  readonly tripId: (string | undefined)[];
  /** Trip ids being served right now: no two vehicles ever serve one, so vendor B's trip-only key is unambiguous. */
  readonly tripsInUse: Set<string>;
  /** Per route and direction (2r forward, 2r + 1 backward): where the next search of the route's pool starts. */
  readonly tripCursor: Int32Array;
  /** Per route: opaque trip ids made up so far (generated network, or a GTFS pool used up). */
  readonly madeUpTrips: Int32Array;
}

export interface VehicleTruth {
  readonly index: number;
  readonly vehicleId: string;
  readonly fleetNumber: number;
  readonly transportType: SimTransportType;
  readonly lat: number;
  readonly lon: number;
  /** Degrees clockwise from north. */
  readonly bearing: number;
  /** m/s. */
  readonly speed: number;
  /** Whole seconds behind schedule. */
  readonly delay: number;
  /** Percent; battery percent for electric types. */
  readonly fuel: number;
  readonly routeId: string;
  /** Undefined while parked. */
  readonly tripId: string | undefined;
  readonly status: 'on_duty' | 'parked';
  readonly nextStopId: string | undefined;
  readonly nextStopSequence: number | undefined;
}

export interface FleetSnapshot {
  readonly timestampMs: number;
  readonly vehicles: readonly VehicleTruth[];
}

const TYPE_MIX: readonly [SimTransportType, number][] = [
  ['bus', 0.6],
  ['trolleybus', 0.17],
  ['tram', 0.2],
  ['ferry', 0.03],
];

/** Routes for a fleet of `vehicles`: about 25 vehicles per route, at least one route of every type. */
export function generateNetwork(options: {
  vehicles: number;
  seed: number;
  centre?: { lat: number; lon: number };
}): Network {
  const random = createRandom(options.seed ^ 0x5eed);
  const count = Math.min(400, Math.max(8, Math.ceil(options.vehicles / 25)));
  const routes: Route[] = [];
  for (let r = 0; r < count; r++) {
    // The first four routes cover every type; the rest follow the mix (ferries rarely).
    const type: SimTransportType =
      r < GENERATED_TYPES.length ? GENERATED_TYPES[r]! : pickByMix(random(), true);
    routes.push(type === 'ferry' ? ferryRoute(r, random) : landRoute(r, type, random));
  }
  return { centre: options.centre ?? { lat: 59.437, lon: 24.7536 }, routes };
}

function pickByMix(u: number, routesOnly: boolean): SimTransportType {
  let acc = 0;
  for (const [type, share] of TYPE_MIX) {
    acc += routesOnly && type === 'ferry' ? share / 3 : share;
    if (u < acc) return type;
  }
  return 'bus';
}

function routeId(r: number, type: SimTransportType): string {
  const prefix = { bus: 'B', trolleybus: 'T', tram: 'TR', ferry: 'F', rail: 'R' }[type];
  return `${prefix}${r + 1}`;
}

/** A meandering street route: segments of 250–600 m turning up to ±35°, 5–15 km long, south of the coast. */
function landRoute(r: number, type: SimTransportType, random: () => number): Route {
  const xs = [(random() - 0.5) * 10_000];
  const ys = [-random() * 6_000];
  let heading = random() * 2 * Math.PI;
  const target = 5_000 + random() * 10_000;
  let length = 0;
  while (length < target) {
    heading += (random() - 0.5) * 1.2;
    const seg = 250 + random() * 350;
    let x = xs[xs.length - 1]! + Math.sin(heading) * seg;
    let y = ys[ys.length - 1]! + Math.cos(heading) * seg;
    if (y > 1_500) {
      // The coast: turn back south rather than drive into the bay.
      heading = Math.PI - heading;
      y = ys[ys.length - 1]! - Math.abs(Math.cos(heading) * seg);
      x = xs[xs.length - 1]! + Math.sin(heading) * seg;
    }
    xs.push(x);
    ys.push(y);
    length += Math.hypot(x - xs[xs.length - 2]!, y - ys[ys.length - 2]!);
  }
  return buildRoute(routeId(r, type), type, xs, ys, random);
}

/** A straight crossing out over the bay, 8–20 km. */
function ferryRoute(r: number, random: () => number): Route {
  const x0 = (random() - 0.5) * 6_000;
  const y0 = 2_500;
  const heading = (random() - 0.5) * 0.7;
  const length = 8_000 + random() * 12_000;
  return buildRoute(
    routeId(r, 'ferry'),
    'ferry',
    [x0, x0 + Math.sin(heading) * length],
    [y0, y0 + Math.cos(heading) * length],
    random,
  );
}

const NO_TRIPS: RouteTrips = Object.freeze({ forward: [], backward: [] });

/**
 * A route along a polyline in metres: with the given stops, or with stops at the type's spacing (both termini are
 * stops either way).
 */
export function buildRoute(
  id: string,
  type: SimTransportType,
  xs: readonly number[],
  ys: readonly number[],
  random: () => number,
  options: RouteOptions = {},
): Route {
  const cumulative = new Float64Array(xs.length);
  for (let i = 1; i < xs.length; i++) {
    cumulative[i] = cumulative[i - 1]! + Math.hypot(xs[i]! - xs[i - 1]!, ys[i]! - ys[i - 1]!);
  }
  const length = cumulative[xs.length - 1]!;
  let stops: number[];
  let stopIds: string[];
  if (options.stops && options.stops.distances.length >= 2) {
    const given = options.stops;
    if (given.ids.length !== given.distances.length) throw new RangeError('one stop id per stop distance');
    // Clamped and kept in order, the termini pinned to the ends: step() turns round at stops[0] and stops[last].
    let previous = 0;
    stops = given.distances.map((d) => (previous = Math.min(length, Math.max(previous, d))));
    stops[0] = 0;
    stops[stops.length - 1] = length;
    stopIds = [...given.ids];
  } else {
    const profile = TRANSPORT_PROFILES[type];
    stops = [0];
    if (Number.isFinite(profile.stopSpacingMin)) {
      for (;;) {
        const next =
          stops[stops.length - 1]! +
          profile.stopSpacingMin +
          random() * (profile.stopSpacingMax - profile.stopSpacingMin);
        if (next >= length - profile.stopSpacingMin / 2) break;
        stops.push(next);
      }
    }
    stops.push(length);
    const prefix = options.stopPrefix ?? id;
    stopIds = stops.map((_, i) => `${prefix}-S${i + 1}`);
  }
  return {
    routeId: id,
    transportType: type,
    xs: Float64Array.from(xs),
    ys: Float64Array.from(ys),
    cumulative,
    length,
    stops: Float64Array.from(stops),
    stopIds,
    trips: options.trips ?? NO_TRIPS,
  };
}

export function createFleet(options: FleetOptions = {}): FleetState {
  const size = options.vehicles ?? 500;
  const seed = options.seed ?? 1;
  if (!Number.isInteger(size) || size < 0) throw new RangeError('vehicles must be a non-negative integer');
  const network =
    options.network ??
    generateNetwork({ vehicles: size, seed, ...(options.centre ? { centre: options.centre } : {}) });
  if (network.routes.length === 0) throw new RangeError('the network has no routes');
  const random = createRandom(seed);
  const byType = new Map<SimTransportType, number[]>();
  network.routes.forEach((route, i) => {
    const list = byType.get(route.transportType) ?? [];
    list.push(i);
    byType.set(route.transportType, list);
  });
  const state: FleetState = {
    network,
    size,
    nowMs: options.startMs ?? Date.UTC(2026, 0, 1, 6),
    firstFleetNumber: options.firstFleetNumber ?? 1000,
    random,
    type: new Uint8Array(size),
    route: new Int32Array(size),
    distance: new Float64Array(size),
    direction: new Int8Array(size),
    speed: new Float32Array(size),
    cruise: new Float32Array(size),
    factor: new Float32Array(size),
    dwellMs: new Float64Array(size),
    nextStop: new Int32Array(size),
    delay: new Float32Array(size),
    fuel: new Float32Array(size),
    parked: new Uint8Array(size),
    tripId: new Array<string | undefined>(size).fill(undefined),
    tripsInUse: new Set(),
    tripCursor: new Int32Array(network.routes.length * 2),
    madeUpTrips: new Int32Array(network.routes.length),
  };
  const parkedFraction = options.parkedFraction ?? 0.05;
  for (let i = 0; i < size; i++) {
    // A given network may lack some types: then any route will do.
    const candidates = byType.get(pickByMix(random(), false));
    const r = candidates
      ? candidates[Math.floor(random() * candidates.length)]!
      : Math.floor(random() * network.routes.length);
    const route = network.routes[r]!;
    const type = route.transportType;
    const profile = TRANSPORT_PROFILES[type];
    state.type[i] = SIM_TRANSPORT_TYPES.indexOf(type);
    state.route[i] = r;
    state.cruise[i] = profile.cruiseMin + random() * (profile.cruiseMax - profile.cruiseMin);
    state.factor[i] = 0.75 + random() * 0.5;
    state.fuel[i] = 30 + random() * 70;
    state.delay[i] = Math.round((random() - 0.3) * 240);
    if (random() < parkedFraction) {
      // Parked at the depot, i.e. the route's first terminus.
      state.parked[i] = 1;
      state.direction[i] = 1;
      state.distance[i] = 0;
      state.delay[i] = 0;
      continue;
    }
    state.direction[i] = random() < 0.5 ? 1 : -1;
    state.distance[i] = random() * route.length;
    state.nextStop[i] = nextStopIndex(route.stops, state.distance[i]!, state.direction[i]!);
    startTrip(state, i);
  }
  return state;
}

/**
 * Gives vehicle i a trip for its route and current direction, and frees the one it had. Trip ids say nothing about
 * the vehicle, as with real vendors: a timetabled trip of the route from its pool (whichever is free next), or
 * failing that an opaque made-up id. Vehicle identity reaches vendor B's trips only through vendor A, which
 * reports each vehicle's trip.
 */
function startTrip(state: FleetState, i: number): void {
  const previous = state.tripId[i];
  if (previous !== undefined) state.tripsInUse.delete(previous);
  const r = state.route[i]!;
  const route = state.network.routes[r]!;
  const forward = state.direction[i]! > 0;
  const pool = forward ? route.trips.forward : route.trips.backward;
  const c = 2 * r + (forward ? 0 : 1);
  let id: string | undefined;
  for (let k = 0; k < pool.length; k++) {
    const at = (state.tripCursor[c]! + k) % pool.length;
    if (!state.tripsInUse.has(pool[at]!)) {
      id = pool[at]!;
      state.tripCursor[c] = (at + 1) % pool.length;
      break;
    }
  }
  // More vehicles on the route than timetabled trips (or no timetable): an extra trip, like a GTFS-RT ADDED trip,
  // with an id of the route and an opaque number (hashed, so it does not even tell the order of departures).
  while (id === undefined || state.tripsInUse.has(id)) {
    const n = Math.floor(hashUnit(state.madeUpTrips[r]!++, r) * 0x1_0000_0000);
    id = `${route.routeId}_${n.toString(36).padStart(7, '0')}`;
  }
  state.tripsInUse.add(id);
  state.tripId[i] = id;
}

function nextStopIndex(stops: Float64Array, distance: number, direction: number): number {
  if (direction > 0) {
    for (let k = 0; k < stops.length; k++) if (stops[k]! > distance) return k;
    return stops.length - 1;
  }
  for (let k = stops.length - 1; k >= 0; k--) if (stops[k]! < distance) return k;
  return 0;
}

/** Advances the simulated clock by dtMs: vehicles drive, stop, dwell, turn at termini, burn and take on fuel. */
export function step(state: FleetState, dtMs: number): void {
  const { network, random } = state;
  state.nowMs += dtMs;
  for (let i = 0; i < state.size; i++) {
    if (state.parked[i] === 1) continue;
    const route = network.routes[state.route[i]!]!;
    const profile = TRANSPORT_PROFILES[SIM_TRANSPORT_TYPES[state.type[i]!]!];
    const stops = route.stops;
    let remaining = dtMs;
    let distance = state.distance[i]!;
    let delay = state.delay[i]!;
    let fuel = state.fuel[i]!;
    let speed = 0;
    // A few iterations at most: a stop reached mid-tick ends the movement with a dwell of ≥10 s.
    while (remaining > 0) {
      const dwell = state.dwellMs[i]!;
      if (dwell > 0) {
        const used = dwell < remaining ? dwell : remaining;
        state.dwellMs[i] = dwell - used;
        remaining -= used;
        speed = 0;
        if (state.dwellMs[i]! > 0) break;
        state.factor[i] = 0.75 + random() * 0.5;
        continue;
      }
      const factor = state.factor[i]!;
      const cruise = state.cruise[i]!;
      speed = Math.min(cruise * factor, profile.maxSpeed);
      const direction = state.direction[i]!;
      const target = stops[state.nextStop[i]!]!;
      const gap = Math.abs(target - distance);
      const travel = (speed * remaining) / 1000;
      if (travel < gap) {
        distance += direction * travel;
        fuel -= travel * profile.fuelPerMetre;
        delay += (remaining / 1000) * (1 - speed / cruise);
        remaining = 0;
        break;
      }
      const usedMs = (gap / speed) * 1000;
      distance = target;
      fuel -= gap * profile.fuelPerMetre;
      delay += (usedMs / 1000) * (1 - speed / cruise);
      remaining -= usedMs;
      const stop = state.nextStop[i]!;
      const terminus = (direction > 0 && stop === stops.length - 1) || (direction < 0 && stop === 0);
      if (terminus) {
        // Layover: turn round, start the next trip, absorb most of the delay, refuel if low.
        const layover = LAYOVER_MIN_MS + random() * (LAYOVER_MAX_MS - LAYOVER_MIN_MS);
        state.dwellMs[i] = layover;
        state.direction[i] = -direction as 1 | -1;
        state.nextStop[i] = direction > 0 ? Math.max(0, stop - 1) : Math.min(stops.length - 1, stop + 1);
        startTrip(state, i);
        delay = Math.round(delay * 0.3);
        if (fuel < REFUEL_BELOW) fuel = 100;
      } else {
        const dwellMs = profile.dwellMinMs + random() * (profile.dwellMaxMs - profile.dwellMinMs);
        state.dwellMs[i] = dwellMs;
        state.nextStop[i] = stop + direction;
        // The timetable plans the mean dwell: a longer one makes the vehicle late, a shorter one early.
        delay += (dwellMs - (profile.dwellMinMs + profile.dwellMaxMs) / 2) / 1000;
      }
      speed = 0;
    }
    state.distance[i] = distance;
    state.delay[i] = delay < -300 ? -300 : delay > 1800 ? 1800 : delay;
    state.fuel[i] = fuel < 1 ? 1 : fuel;
    state.speed[i] = speed;
  }
}

/** Canonical id of vehicle `index`, as the fleet registry names it. */
export function fleetNumberOf(state: Pick<FleetState, 'firstFleetNumber'>, index: number): number {
  return state.firstFleetNumber + index;
}

/** Every vehicle's true state right now (what the vendors each report a part of). */
export function snapshotAt(state: FleetState): FleetSnapshot {
  const { network } = state;
  const lat0 = network.centre.lat;
  const lon0 = network.centre.lon;
  const lonScale = METRES_PER_DEGREE * Math.cos((lat0 * Math.PI) / 180);
  const vehicles: VehicleTruth[] = new Array(state.size);
  for (let i = 0; i < state.size; i++) {
    const route = network.routes[state.route[i]!]!;
    const distance = state.distance[i]!;
    const direction = state.direction[i]!;
    const seg = segmentAt(route.cumulative, distance);
    const dx = route.xs[seg + 1]! - route.xs[seg]!;
    const dy = route.ys[seg + 1]! - route.ys[seg]!;
    const segLength = route.cumulative[seg + 1]! - route.cumulative[seg]!;
    const t = segLength > 0 ? (distance - route.cumulative[seg]!) / segLength : 0;
    const x = route.xs[seg]! + dx * t;
    const y = route.ys[seg]! + dy * t;
    let bearing = (Math.atan2(dx, dy) * 180) / Math.PI;
    if (direction < 0) bearing += 180;
    bearing = ((bearing % 360) + 360) % 360;
    const fleetNumber = fleetNumberOf(state, i);
    const parked = state.parked[i] === 1;
    const stop = state.nextStop[i]!;
    vehicles[i] = {
      index: i,
      vehicleId: `veh-${fleetNumber}`,
      fleetNumber,
      transportType: SIM_TRANSPORT_TYPES[state.type[i]!]!,
      lat: lat0 + y / METRES_PER_DEGREE,
      lon: lon0 + x / lonScale,
      bearing: Math.round(bearing * 10) / 10,
      speed: parked ? 0 : Math.round(state.speed[i]! * 100) / 100,
      // `|| 0` turns -0 into 0: -0 would survive into JSON consumers as a surprise.
      delay: parked ? 0 : Math.round(state.delay[i]!) || 0,
      fuel: Math.round(state.fuel[i]! * 10) / 10,
      routeId: route.routeId,
      tripId: parked ? undefined : state.tripId[i],
      status: parked ? 'parked' : 'on_duty',
      nextStopId: parked ? undefined : route.stopIds[stop],
      nextStopSequence: parked ? undefined : direction > 0 ? stop + 1 : route.stops.length - stop,
    };
  }
  return { timestampMs: state.nowMs, vehicles };
}

/** Index of the polyline segment holding `distance` (binary search). */
export function segmentAt(cumulative: Float64Array, distance: number): number {
  let lo = 0;
  let hi = cumulative.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cumulative[mid]! <= distance) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
