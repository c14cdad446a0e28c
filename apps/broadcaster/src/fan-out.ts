// The fan-out from live views to subscribers, with backpressure. Every subscriber (a gRPC stream, a SignalR
// connection) says whether its transport can take another update now; one that cannot is skipped for that tick
// (its delta dropped: old real-time data is worthless), gets a keyframe once it can take updates again, and is
// disconnected with a reason once it falls more than `maxLagTicks` behind. So a slow client costs at most what
// its socket already buffers, never a queue that grows with time.

import type { Profile } from './profile.js';
import type { LiveView, LiveViews, ViewUpdate } from './live-views.js';

export interface FeedSubscriber {
  /** The transport can take another update without queueing beyond its bound. */
  ready(): boolean;
  /** Writes one update; `skipped` is how many ticks this subscriber missed before it (keyframes only). */
  deliver(update: ViewUpdate, view: LiveView, skipped: number): void;
  disconnect(reason: string): void;
}

export interface FanOutMetrics {
  delivered(kind: 'keyframe' | 'delta'): void;
  dropped(): void;
  disconnected(reason: 'lagging'): void;
}

export interface FanOut {
  /**
   * Adds a subscriber to the view of its profile and sends it the current view at once (when there is one).
   * `undefined` when the bound on distinct views is reached.
   */
  subscribe(profile: Profile, subscriber: FeedSubscriber): Subscription | undefined;
  /** Delivers a new snapshot's updates to every subscriber; returns how many updates were written. */
  publish(snapshot: Parameters<LiveViews['publish']>[0]): number;
  /**
   * The same, awaiting `pause` after each view's subscribers were written. Node's HTTP/2 sends what gRPC
   * streams queued only once the event loop turns (WebSocket writes go out at once), so without a pause every
   * gRPC subscriber would wait for the whole fan-out. Publish nothing else until it resolves.
   */
  publishPaced(snapshot: Parameters<LiveViews['publish']>[0], pause: () => Promise<void>): Promise<number>;
  readonly subscribers: number;
}

export interface Subscription {
  readonly view: LiveView;
  /** The next update this subscriber gets is a keyframe. */
  requestKeyframe(): void;
  unsubscribe(): void;
}

interface Entry {
  readonly subscriber: FeedSubscriber;
  readonly view: LiveView;
  lastSequence: number;
  skipped: number;
  wantsKeyframe: boolean;
}

export function createFanOut(deps: {
  views: LiveViews;
  /** Ticks a subscriber may miss in a row before it is disconnected (default 30). */
  maxLagTicks?: number;
  metrics?: FanOutMetrics;
}): FanOut {
  const maxLagTicks = deps.maxLagTicks ?? 30;
  const byView = new Map<string, Set<Entry>>();
  let count = 0;

  /** Delivers one update; a subscriber whose transport throws is dropped, never the rest of the tick. */
  function send(entry: Entry, update: ViewUpdate): void {
    const gap = entry.wantsKeyframe || update.previousSequence !== entry.lastSequence;
    const chosen = gap && !update.keyframe ? entry.view.current()! : update;
    try {
      entry.subscriber.deliver(chosen, entry.view, chosen.keyframe ? entry.skipped : 0);
    } catch (error) {
      drop(entry, error);
      return;
    }
    deps.metrics?.delivered(chosen.keyframe ? 'keyframe' : 'delta');
    entry.lastSequence = chosen.sequence;
    entry.skipped = 0;
    entry.wantsKeyframe = false;
  }

  /** A subscriber whose transport throws leaves the fan-out; never the rest of the tick. */
  function drop(entry: Entry, error: unknown): void {
    remove(entry);
    try {
      entry.subscriber.disconnect(`could not send an update: ${(error as Error).message}`);
    } catch {
      // Already broken; it is out of the fan-out either way.
    }
  }

  function remove(entry: Entry): void {
    const set = byView.get(entry.view.key);
    if (!set?.delete(entry)) return;
    count--;
    if (set.size === 0) byView.delete(entry.view.key);
    deps.views.release(entry.view);
  }

  /** Writes a view's update to its subscribers, skipping (and in the end disconnecting) the busy ones. */
  function deliverView(view: LiveView): number {
    const update = view.latest()!;
    const entries = byView.get(view.key);
    if (!entries) return 0;
    let written = 0;
    for (const entry of entries) {
      // Entries of another view with the same key (this one was released and the profile taken again).
      if (entry.view !== view) continue;
      let ready: boolean;
      try {
        ready = entry.subscriber.ready();
      } catch (error) {
        drop(entry, error);
        continue;
      }
      if (ready) {
        send(entry, update);
        written++;
        continue;
      }
      entry.skipped++;
      entry.wantsKeyframe = true;
      deps.metrics?.dropped();
      if (entry.skipped > maxLagTicks) {
        remove(entry);
        deps.metrics?.disconnected('lagging');
        try {
          entry.subscriber.disconnect(
            `too slow: ${entry.skipped} updates behind (the limit is ${maxLagTicks}); reconnect to resume`,
          );
        } catch {
          // Out of the fan-out either way.
        }
      }
    }
    return written;
  }

  return {
    get subscribers() {
      return count;
    },
    subscribe(profile, subscriber) {
      const view = deps.views.acquire(profile);
      if (!view) return undefined;
      const entry: Entry = { subscriber, view, lastSequence: -1, skipped: 0, wantsKeyframe: true };
      let set = byView.get(view.key);
      if (!set) byView.set(view.key, (set = new Set()));
      set.add(entry);
      count++;
      const current = view.current();
      if (current) send(entry, current);
      return {
        view,
        requestKeyframe: () => {
          entry.wantsKeyframe = true;
        },
        unsubscribe: () => remove(entry),
      };
    },
    publish(snapshot) {
      let written = 0;
      // View by view: a view's subscribers are written as soon as it is computed, not after all of them.
      deps.views.publishEach(snapshot, (view) => (written += deliverView(view)));
      return written;
    },
    async publishPaced(snapshot, pause) {
      let written = 0;
      await deps.views.publishEach(snapshot, (view) => (written += deliverView(view)), pause);
      return written;
    },
  };
}
