// The live views: one per distinct profile, shared by every subscriber with that profile (gRPC streams, SignalR
// connections and groups), computed once per snapshot. Each tick a view yields its update — the vehicles that
// entered or changed in the fields the profile asked for, and the ids that left — and a full keyframe every K
// ticks. What changed is worked out once per snapshot for all views (a bit mask of changed fields per vehicle),
// so twenty views cost twenty filters, not twenty comparisons of every vehicle; and a view with a bounding box
// filters only the vehicles in the grid cells its box overlaps.
//
// The number of views is bounded: the source system reached 99% CPU when a broken profile equality made every
// subscriber its own view. Profiles are normalised before they get here, and acquiring a view past the bound is
// refused rather than degrading everyone.

import {
  FUSED_FIELDS,
  type FieldSource,
  type FusedField,
  type TransportSnapshot,
  type Vehicle,
} from '@transit-fusion/model';
import {
  accepts,
  applyProfile,
  profileFilter,
  profileKey,
  project,
  type Profile,
  type ProfileFilter,
} from './profile.js';
import { spatialGridOf, type SpatialGrid } from './spatial-grid.js';

/** One tick of a view as subscribers receive it. */
export interface ViewUpdate {
  readonly sequence: number;
  readonly generatedAt: number;
  /** The sequence of the view's previous update: a subscriber that did not get that one needs a keyframe. */
  readonly previousSequence: number;
  readonly keyframe: boolean;
  /** Keyframe: every vehicle in the view. Delta: those that entered or changed. */
  readonly vehicles: readonly Vehicle[];
  /** Ids that left the view (always empty in a keyframe). */
  readonly removed: readonly string[];
}

export interface LiveView {
  readonly key: string;
  readonly profile: Profile;
  /** Subscribers holding the view (acquire/release). */
  readonly holders: number;
  /** The view now: every vehicle it contains, as of the latest snapshot; undefined before the first one. */
  current(): ViewUpdate | undefined;
  /** This tick's update (a keyframe every K ticks, else a delta); undefined before the first snapshot. */
  latest(): ViewUpdate | undefined;
  /**
   * Memoises an encoding of this tick's update or keyframe (gRPC bytes, a SignalR message) so each is encoded
   * once per tick however many subscribers share the view.
   */
  encoded<T>(slot: string, update: ViewUpdate, encode: (update: ViewUpdate) => T): T;
}

export interface LiveViews {
  /** Takes a share of the view for a profile (creating it); `undefined` when the bound on views is reached. */
  acquire(profile: Profile): LiveView | undefined;
  release(view: LiveView): void;
  /** The view for a profile if one exists, else computed on the spot from the latest snapshot (not kept). */
  peek(profile: Profile): ViewUpdate | undefined;
  /** Applies a new snapshot to every view; returns the views that have holders, with their updates ready. */
  publish(snapshot: TransportSnapshot): readonly LiveView[];
  /**
   * The same, handing each view on as soon as its update is ready, before the next view is computed: its
   * subscribers need not wait for every other view's. With `pause`, awaits it between views (so what the
   * transports queued goes out, see fan-out.ts) and resolves when every view is done; a caller must not
   * publish again before then.
   */
  publishEach(snapshot: TransportSnapshot, ready: (view: LiveView) => void): void;
  publishEach(
    snapshot: TransportSnapshot,
    ready: (view: LiveView) => void,
    pause: () => Promise<void>,
  ): Promise<void>;
  readonly snapshot: TransportSnapshot | undefined;
  readonly size: number;
  readonly maxViews: number;
}

export interface LiveViewsOptions {
  /** Most distinct views at once (default 256). */
  readonly maxViews?: number;
  /** A keyframe every K ticks per view (default 30). */
  readonly keyframeEvery?: number;
  /**
   * Vehicle ids remembered beyond twice the latest snapshot's count before the id table starts again (default
   * 10,000): ids that come and go must not grow it for ever.
   */
  readonly spareIds?: number;
}

/** The bit for a fused field in a change mask; bit 30 stands for identity fields (label, type, quality). */
const FIELD_BIT = new Map<string, number>(FUSED_FIELDS.map((f, i) => [f, 1 << i]));
const IDENTITY_BIT = 1 << 30;
const ALL_BITS = 0x7fffffff;

export function createLiveViews(options: LiveViewsOptions = {}): LiveViews {
  const maxViews = options.maxViews ?? 256;
  const keyframeEvery = options.keyframeEvery ?? 30;
  const spareIds = options.spareIds ?? 10_000;
  const views = new Map<string, ViewState>();
  let snapshot: TransportSnapshot | undefined;
  // Per-vehicle state lives in arrays indexed by a slot, a small integer given to each vehicle id the first
  // time it is seen: each tick every view asks of each of its vehicles "was it here last tick, did it change",
  // and array reads answer that where a map lookup per view and vehicle cost most of the tick.
  const slotOf = new Map<string, number>();
  let idOfSlot: string[] = [];
  let lastBySlot: (Vehicle | undefined)[] = [];
  /** The epoch (count of published snapshots) a slot's vehicle was last in a snapshot. */
  let seenAt = new Int32Array(1_024);
  let epoch = 0;
  /** By index in the latest snapshot: each vehicle's slot and which fields changed since the snapshot before. */
  let slots = new Int32Array(0);
  let changes = new Int32Array(0);
  /** A paced publish is running: `slots` and `changes` belong to it until it ends. */
  let publishing = false;

  // Each view sends its periodic keyframe on the ticks whose epoch modulo K is its class. A keyframe costs
  // several times a delta (the whole view, to every subscriber), so the classes are dealt out evenly: with V
  // views no tick carries more than ceil(V / K) keyframes. (A phase from a hash of the profile, as before, put
  // two or three of twenty views on one tick and none on others; decision 0016.)
  const viewsInClass = new Int32Array(keyframeEvery);

  /**
   * The class with the fewest views. Of those, the one whose next keyframe is furthest off, since a new view's
   * first update is already full: the current epoch's class (next in K ticks), then the one before it, and so on.
   */
  function leastLoadedClass(): number {
    let best = epoch % keyframeEvery;
    for (let ahead = keyframeEvery - 1; ahead >= 0; ahead--) {
      const c = (epoch + ahead) % keyframeEvery;
      if (viewsInClass[c]! < viewsInClass[best]!) best = c;
    }
    viewsInClass[best]!++;
    return best;
  }

  function createView(profile: Profile, key: string): ViewState {
    const fields = profile.fields;
    // A projected vehicle always carries its identity and status (see project()), so their changes count too.
    const mask =
      fields.length === 0
        ? ALL_BITS
        : fields.reduce((m, f) => m | (FIELD_BIT.get(f) ?? 0), IDENTITY_BIT | FIELD_BIT.get('status')!);
    const view: ViewState = {
      key,
      profile,
      filter: profileFilter(profile),
      holders: 0,
      mask,
      keyframeClass: leastLoadedClass(),
      epoch: 0,
      forceKeyframe: false,
      inView: new Int32Array(seenAt.length),
      memberSlots: [],
      full: undefined,
      update: undefined,
      memo: new Map(),
      current: () => view.full,
      latest: () => view.update,
      encoded<T>(slot: string, update: ViewUpdate, encode: (u: ViewUpdate) => T): T {
        const memoKey = `${slot}:${update.keyframe ? 'k' : 'd'}:${update === view.full ? 'full' : 'tick'}`;
        if (view.memo.has(memoKey)) return view.memo.get(memoKey) as T;
        const value = encode(update);
        view.memo.set(memoKey, value);
        return value;
      },
    };
    if (snapshot) advance(view, snapshot);
    return view;
  }

  function advance(view: ViewState, next: TransportSnapshot): void {
    const { filter, mask } = view;
    const vehicles = next.vehicles;
    // A keyframe also when the view missed a snapshot (a fan-out cut short): its change masks compare with the
    // snapshot just before, so a vehicle that changed only in the missed one would otherwise never be sent.
    const keyframe =
      view.full === undefined ||
      view.forceKeyframe ||
      view.epoch !== epoch - 1 ||
      epoch % keyframeEvery === view.keyframeClass;
    view.forceKeyframe = false;
    if (view.inView.length < seenAt.length) view.inView = grown(view.inView, seenAt.length);
    const inView = view.inView;
    // A vehicle was in the view last time if its slot carries the epoch of the view's last advance.
    const before = view.epoch;
    const all: Vehicle[] = [];
    const changed: Vehicle[] = [];
    const memberSlots: number[] = [];
    // A boxed view looks only at the vehicles in the grid cells its box overlaps, in snapshot order.
    const candidates = filter.boxed
      ? gridOf(next).candidates(filter.minLon, filter.minLat, filter.maxLon, filter.maxLat)
      : undefined;
    const count = candidates ? candidates.length : vehicles.length;
    for (let k = 0; k < count; k++) {
      const i = candidates ? candidates[k]! : k;
      const v = vehicles[i]!;
      if (!accepts(filter, v)) continue;
      const slot = slots[i]!;
      const sent = filter.fields ? project(v, filter.fields) : v;
      all.push(sent);
      memberSlots.push(slot);
      if (!keyframe && (inView[slot] !== before || (changes[i]! & mask) !== 0)) changed.push(sent);
      inView[slot] = epoch;
    }
    const removed: string[] = [];
    if (!keyframe)
      for (const slot of view.memberSlots) if (inView[slot] !== epoch) removed.push(idOfSlot[slot]!);
    const previousSequence = view.full?.sequence ?? -1;
    const full: ViewUpdate = {
      sequence: next.sequence,
      generatedAt: next.generatedAt,
      previousSequence,
      keyframe: true,
      vehicles: all,
      removed: [],
    };
    view.update = keyframe
      ? full
      : {
          sequence: next.sequence,
          generatedAt: next.generatedAt,
          previousSequence,
          keyframe: false,
          vehicles: changed,
          removed,
        };
    view.epoch = epoch;
    view.memberSlots = memberSlots;
    view.full = full;
    view.memo.clear();
  }

  /** The spatial grid of a snapshot, built on the first boxed view's advance and kept for that snapshot. */
  let grid: { snapshot: TransportSnapshot; grid: SpatialGrid } | undefined;
  function gridOf(of: TransportSnapshot): SpatialGrid {
    if (grid?.snapshot !== of) grid = { snapshot: of, grid: spatialGridOf(of.vehicles) };
    return grid.grid;
  }

  /** Gives every vehicle of the snapshot its slot, and works out what changed for all views at once. */
  function index(next: TransportSnapshot): void {
    // Ids that came and went would grow the slots for ever: past a bound, start again from this snapshot.
    // Every view then sends a keyframe, as it cannot tell what its subscribers hold.
    if (slotOf.size > 2 * next.vehicles.length + spareIds) {
      slotOf.clear();
      idOfSlot = [];
      lastBySlot = [];
      seenAt = new Int32Array(seenAt.length);
      for (const view of views.values()) {
        view.forceKeyframe = true;
        view.memberSlots = [];
        view.inView = new Int32Array(seenAt.length);
      }
    }
    epoch++;
    const n = next.vehicles.length;
    slots = new Int32Array(n);
    changes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = next.vehicles[i]!;
      let slot = slotOf.get(v.id);
      if (slot === undefined) {
        slot = idOfSlot.length;
        slotOf.set(v.id, slot);
        idOfSlot.push(v.id);
        if (slot >= seenAt.length) seenAt = grown(seenAt, seenAt.length * 2);
      }
      const previous = seenAt[slot] === epoch - 1 ? lastBySlot[slot] : undefined;
      changes[i] = previous ? changeMask(previous, v) : ALL_BITS;
      lastBySlot[slot] = v;
      seenAt[slot] = epoch;
      slots[i] = slot;
    }
  }

  function publishEach(next: TransportSnapshot, ready: (view: LiveView) => void): void;
  function publishEach(
    next: TransportSnapshot,
    ready: (view: LiveView) => void,
    pause: () => Promise<void>,
  ): Promise<void>;
  function publishEach(
    next: TransportSnapshot,
    ready: (view: LiveView) => void,
    pause?: () => Promise<void>,
  ): void | Promise<void> {
    if (publishing)
      throw new Error('a snapshot was published while the previous one was still being published');
    if (snapshot && next.sequence <= snapshot.sequence) return pause ? Promise.resolve() : undefined;
    index(next);
    snapshot = next;
    // A copy: a subscriber handed a view may release or acquire views meanwhile. A view acquired during a
    // pause was computed from this snapshot when it was created; one released is computed for nobody.
    const pending = [...views.values()];
    const step = (view: ViewState) => {
      // Released meanwhile (perhaps with a new view of the same profile since): computed for nobody.
      if (views.get(view.key) !== view) return;
      advance(view, next);
      ready(view);
    };
    if (!pause) {
      pending.forEach(step);
      return;
    }
    publishing = true;
    return (async () => {
      try {
        for (let i = 0; i < pending.length; i++) {
          if (i > 0) await pause();
          step(pending[i]!);
        }
      } finally {
        publishing = false;
      }
    })();
  }

  return {
    get snapshot() {
      return snapshot;
    },
    get size() {
      return views.size;
    },
    maxViews,
    acquire(profile) {
      const key = profileKey(profile);
      let view = views.get(key);
      if (!view) {
        if (views.size >= maxViews) return undefined;
        view = createView(profile, key);
        views.set(key, view);
      }
      view.holders++;
      return view;
    },
    release(view) {
      const state = views.get(view.key);
      if (!state || state.holders === 0) return;
      state.holders--;
      if (state.holders === 0) {
        views.delete(view.key);
        viewsInClass[state.keyframeClass]!--;
      }
    },
    peek(profile) {
      const view = views.get(profileKey(profile));
      if (view) return view.full;
      if (!snapshot) return undefined;
      return {
        sequence: snapshot.sequence,
        generatedAt: snapshot.generatedAt,
        previousSequence: -1,
        keyframe: true,
        vehicles: applyProfile(snapshot.vehicles, profile),
        removed: [],
      };
    },
    publishEach,
    publish(next) {
      const published: LiveView[] = [];
      publishEach(next, (view) => published.push(view));
      return published;
    },
  };
}

function grown(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length);
  bigger.set(array);
  return bigger;
}

interface ViewState extends LiveView {
  holders: number;
  readonly filter: ProfileFilter;
  /** The change bits this view cares about. */
  readonly mask: number;
  /** Its periodic keyframes go out on the ticks whose epoch modulo K is this. */
  readonly keyframeClass: number;
  /** The epoch of the view's last advance. */
  epoch: number;
  /** The next update is a keyframe (the id table started again). */
  forceKeyframe: boolean;
  /** By slot: the epoch the vehicle was last in this view. */
  inView: Int32Array;
  /** The slots of the vehicles in the view as of its last advance. */
  memberSlots: number[];
  full: ViewUpdate | undefined;
  update: ViewUpdate | undefined;
  readonly memo: Map<string, unknown>;
}

/**
 * Which fields differ between two versions of a vehicle, as bits (value or its source's observation). Written
 * out field by field: it runs for every vehicle of every snapshot.
 */
export function changeMask(a: Vehicle, b: Vehicle): number {
  let mask = 0;
  if (a.label !== b.label || a.transportType !== b.transportType || a.quality !== b.quality)
    mask |= IDENTITY_BIT;
  const pa = a.position;
  const pb = b.position;
  if (pa !== pb && (pa?.lat !== pb?.lat || pa?.lon !== pb?.lon)) mask |= POSITION;
  if (a.bearing !== b.bearing) mask |= BEARING;
  if (a.speed !== b.speed) mask |= SPEED;
  if (a.delay !== b.delay) mask |= DELAY;
  if (a.fuel !== b.fuel) mask |= FUEL;
  if (a.routeId !== b.routeId) mask |= ROUTE_ID;
  if (a.tripId !== b.tripId) mask |= TRIP_ID;
  if (a.status !== b.status) mask |= STATUS;
  const sa = a.sources;
  const sb = b.sources;
  if (sourceDiffers(sa.position, sb.position)) mask |= POSITION;
  if (sourceDiffers(sa.bearing, sb.bearing)) mask |= BEARING;
  if (sourceDiffers(sa.speed, sb.speed)) mask |= SPEED;
  if (sourceDiffers(sa.delay, sb.delay)) mask |= DELAY;
  if (sourceDiffers(sa.fuel, sb.fuel)) mask |= FUEL;
  if (sourceDiffers(sa.routeId, sb.routeId)) mask |= ROUTE_ID;
  if (sourceDiffers(sa.tripId, sb.tripId)) mask |= TRIP_ID;
  if (sourceDiffers(sa.status, sb.status)) mask |= STATUS;
  return mask;
}

const bit = (field: FusedField) => FIELD_BIT.get(field)!;
const POSITION = bit('position');
const BEARING = bit('bearing');
const SPEED = bit('speed');
const DELAY = bit('delay');
const FUEL = bit('fuel');
const ROUTE_ID = bit('routeId');
const TRIP_ID = bit('tripId');
const STATUS = bit('status');

function sourceDiffers(a: FieldSource | undefined, b: FieldSource | undefined): boolean {
  if (a === b) return false;
  return (
    a?.observedAt !== b?.observedAt || a?.vendorId !== b?.vendorId || Boolean(a?.stale) !== Boolean(b?.stale)
  );
}
