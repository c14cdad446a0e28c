// The live views: one per distinct profile, shared by every subscriber with that profile (gRPC streams, SignalR
// connections and groups), computed once per snapshot. Each tick a view yields its update — the vehicles that
// entered or changed in the fields the profile asked for, and the ids that left — and a full keyframe every K
// ticks. What changed is worked out once per snapshot for all views (a bit mask of changed fields per vehicle),
// so twenty views cost twenty filters, not twenty comparisons of every vehicle.
//
// The number of views is bounded: the source system reached 99% CPU when a broken profile equality made every
// subscriber its own view. Profiles are normalised before they get here, and acquiring a view past the bound is
// refused rather than degrading everyone.

import { FUSED_FIELDS, type TransportSnapshot, type Vehicle } from '@transit-fusion/model';
import { applyProfile, profileKey, type Profile } from './profile.js';

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
   * subscribers need not wait for every other view's.
   */
  publishEach(snapshot: TransportSnapshot, ready: (view: LiveView) => void): void;
  readonly snapshot: TransportSnapshot | undefined;
  readonly size: number;
  readonly maxViews: number;
}

export interface LiveViewsOptions {
  /** Most distinct views at once (default 256). */
  readonly maxViews?: number;
  /** A keyframe every K ticks per view (default 30). */
  readonly keyframeEvery?: number;
}

/** The bit for a fused field in a change mask; bit 31 stands for identity fields (label, type, quality). */
const FIELD_BIT = new Map<string, number>(FUSED_FIELDS.map((f, i) => [f, 1 << i]));
const IDENTITY_BIT = 1 << 30;
const ALL_BITS = 0x7fffffff;

export function createLiveViews(options: LiveViewsOptions = {}): LiveViews {
  const maxViews = options.maxViews ?? 256;
  const keyframeEvery = options.keyframeEvery ?? 30;
  const views = new Map<string, ViewState>();
  let snapshot: TransportSnapshot | undefined;
  let previousById = new Map<string, Vehicle>();
  let changes = new Map<string, number>();

  function createView(profile: Profile, key: string): ViewState {
    const fields = profile.fields;
    const mask =
      fields.length === 0 ? ALL_BITS : fields.reduce((m, f) => m | (FIELD_BIT.get(f) ?? 0), IDENTITY_BIT);
    const view: ViewState = {
      key,
      profile,
      holders: 0,
      mask,
      // Views keyframe at different ticks (a phase from the key), so twenty views created together do not all
      // send full views on the same tick.
      ticks: phaseOf(key, keyframeEvery),
      members: new Set(),
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
    const vehicles = applyProfile(next.vehicles, view.profile);
    const previousSequence = view.full?.sequence ?? -1;
    const members = new Set<string>();
    for (const v of vehicles) members.add(v.id);
    const full: ViewUpdate = {
      sequence: next.sequence,
      generatedAt: next.generatedAt,
      previousSequence,
      keyframe: true,
      vehicles,
      removed: [],
    };
    let update: ViewUpdate;
    // A view's first update is always full.
    if (view.full === undefined || view.ticks % keyframeEvery === 0) {
      update = full;
    } else {
      const changed: Vehicle[] = [];
      for (const v of vehicles) {
        if (!view.members.has(v.id) || ((changes.get(v.id) ?? ALL_BITS) & view.mask) !== 0) changed.push(v);
      }
      const removed: string[] = [];
      for (const id of view.members) if (!members.has(id)) removed.push(id);
      update = {
        sequence: next.sequence,
        generatedAt: next.generatedAt,
        previousSequence,
        keyframe: false,
        vehicles: changed,
        removed,
      };
    }
    view.ticks++;
    view.members = members;
    view.full = full;
    view.update = update;
    view.memo.clear();
  }

  function publishEach(next: TransportSnapshot, ready: (view: LiveView) => void): void {
    if (snapshot && next.sequence <= snapshot.sequence) return;
    const byId = new Map<string, Vehicle>();
    const nextChanges = new Map<string, number>();
    for (const v of next.vehicles) {
      byId.set(v.id, v);
      const before = previousById.get(v.id);
      nextChanges.set(v.id, before ? changeMask(before, v) : ALL_BITS);
    }
    previousById = byId;
    changes = nextChanges;
    snapshot = next;
    // A copy: a subscriber handed a view may release or acquire views meanwhile.
    for (const view of [...views.values()]) {
      advance(view, next);
      ready(view);
    }
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
      if (state.holders === 0) views.delete(view.key);
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

function phaseOf(key: string, period: number): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return hash % period;
}

interface ViewState extends LiveView {
  holders: number;
  /** The change bits this view cares about. */
  readonly mask: number;
  ticks: number;
  members: Set<string>;
  full: ViewUpdate | undefined;
  update: ViewUpdate | undefined;
  readonly memo: Map<string, unknown>;
}

/** Which fields differ between two versions of a vehicle, as bits (value or its source's observation). */
export function changeMask(a: Vehicle, b: Vehicle): number {
  let mask = 0;
  if (a.label !== b.label || a.transportType !== b.transportType || a.quality !== b.quality)
    mask |= IDENTITY_BIT;
  if (a.position?.lat !== b.position?.lat || a.position?.lon !== b.position?.lon) mask |= 1;
  for (let i = 1; i < FUSED_FIELDS.length; i++) {
    const field = FUSED_FIELDS[i]!;
    if (a[field] !== b[field]) mask |= 1 << i;
  }
  for (let i = 0; i < FUSED_FIELDS.length; i++) {
    const field = FUSED_FIELDS[i]!;
    const sa = a.sources[field];
    const sb = b.sources[field];
    if (sa === sb) continue;
    if (
      sa?.observedAt !== sb?.observedAt ||
      sa?.vendorId !== sb?.vendorId ||
      Boolean(sa?.stale) !== Boolean(sb?.stale)
    )
      mask |= 1 << i;
  }
  return mask;
}
