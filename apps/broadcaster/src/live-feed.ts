// The broadcaster's live side, wired: announcements → snapshot follower (download, newest wins) → live views
// (one per profile, deltas and keyframes) → fan-out to subscribers with backpressure, plus any extra outlets
// that take whole views (Azure SignalR Service groups). At start it loads the newest stored snapshot, so a
// broadcaster that starts while the composer is quiet still serves the network as last composed.

import type { TransportSnapshot } from '@transit-fusion/model';
import type { Metrics } from '@transit-fusion/service-kit';
import type { SnapshotDescriptor, SnapshotStore } from '@transit-fusion/storage';
import { createFanOut, type FanOut } from './fan-out.js';
import { createLiveViews, type LiveViews } from './live-views.js';
import { createSnapshotFollower, type Announcement, type SnapshotFollower } from './snapshot-follower.js';

export interface LiveFeedOptions {
  readonly store: SnapshotStore;
  readonly metrics: Metrics;
  readonly logger: { info(o: object, m: string): void; warn(o: object, m: string): void };
  readonly maxViews: number;
  readonly keyframeEvery: number;
  readonly maxLagTicks: number;
  /** The longest the fan-out runs without letting the event loop turn (default 25 ms; 0: it never does). */
  readonly fanOutTurnMs?: number;
  readonly downloadTimeoutMs?: number;
  /** Called after each snapshot went out to the fan-out (e.g. the Azure SignalR outlet). */
  readonly outlets?: readonly ((snapshot: TransportSnapshot) => void | Promise<void>)[];
  readonly clock?: () => number;
}

export interface LiveFeed {
  readonly views: LiveViews;
  readonly fanOut: FanOut;
  readonly follower: SnapshotFollower;
  /** `enqueuedAt`: when the broker accepted the announcement, epoch ms, if known (for the delay metric). */
  offer(announcement: Announcement, enqueuedAt?: number): void;
  /** Loads the newest stored snapshot (if the follower has nothing newer). */
  bootstrap(): Promise<void>;
  /** When the newest snapshot went out, epoch ms (0: never); for readiness and staleness. */
  readonly lastPublishedAt: number;
  close(): Promise<void>;
}

export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const clock = options.clock ?? Date.now;
  const { metrics, logger } = options;
  const m = {
    announcements: metrics.counter({
      name: 'broadcaster_announcements_total',
      help: 'Snapshot announcements received.',
    }),
    skipped: metrics.counter({
      name: 'broadcaster_snapshots_skipped_total',
      help: 'Announced snapshots not broadcast because a newer one overtook them.',
    }),
    failed: metrics.counter({
      name: 'broadcaster_snapshot_downloads_failed_total',
      help: 'Snapshot downloads that failed, by reason.',
      labelNames: ['reason'],
    }),
    published: metrics.counter({
      name: 'broadcaster_snapshots_published_total',
      help: 'Snapshots fanned out.',
    }),
    sequence: metrics.gauge({
      name: 'broadcaster_sequence',
      help: 'Sequence of the newest snapshot fanned out.',
    }),
    lag: metrics.histogram({
      name: 'broadcaster_publish_lag_seconds',
      help: "From the snapshot's generation to the end of its fan-out.",
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5],
    }),
    download: metrics.histogram({
      name: 'broadcaster_snapshot_download_seconds',
      help: 'Download and decode of an announced snapshot (successful ones).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    }),
    announcementDelay: metrics.histogram({
      name: 'broadcaster_announcement_delay_seconds',
      help: "From the broker's enqueue of an announcement to its receipt here (includes clock skew).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 5],
    }),
    fanOut: metrics.histogram({
      name: 'broadcaster_fan_out_seconds',
      help: 'Time to compute every view of a snapshot and write its updates to every subscriber.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1],
    }),
    outletSkips: metrics.counter({
      name: 'broadcaster_outlet_skipped_total',
      help: 'Snapshots not handed to an outlet (Azure SignalR Service) because it was still busy with the last.',
    }),
    views: metrics.gauge({ name: 'broadcaster_views', help: 'Distinct live views (profiles) served.' }),
    subscribers: metrics.gauge({
      name: 'broadcaster_subscribers',
      help: 'Live subscribers (gRPC streams and SignalR connections).',
    }),
    delivered: metrics.counter({
      name: 'broadcaster_updates_delivered_total',
      help: 'Updates written to subscribers, by kind.',
      labelNames: ['kind'],
      collect: () => addCounts(),
    }),
    dropped: metrics.counter({
      name: 'broadcaster_updates_dropped_total',
      help: 'Updates not sent to a subscriber that was still busy with earlier ones (backpressure).',
      collect: () => addCounts(),
    }),
    disconnected: metrics.counter({
      name: 'broadcaster_slow_subscribers_disconnected_total',
      help: 'Subscribers disconnected for falling too far behind.',
    }),
  };
  // Counted once per subscriber per tick (thousands a second) in plain numbers, and added to the counters on
  // every scrape: prom-client hashes the labels and allocates on each increment, even through a child bound
  // with labels(). The first scrape shows every series, at 0 if need be.
  const counts = { keyframe: 0, delta: 0, dropped: 0 };
  function addCounts(): void {
    m.delivered.inc({ kind: 'keyframe' }, counts.keyframe);
    m.delivered.inc({ kind: 'delta' }, counts.delta);
    m.dropped.inc(counts.dropped);
    counts.keyframe = counts.delta = counts.dropped = 0;
  }
  const views = createLiveViews({ maxViews: options.maxViews, keyframeEvery: options.keyframeEvery });
  const fanOut = createFanOut({
    views,
    maxLagTicks: options.maxLagTicks,
    metrics: {
      delivered: (kind) => counts[kind]++,
      dropped: () => counts.dropped++,
      disconnected: () => m.disconnected.inc(),
    },
  });
  let lastPublishedAt = 0;
  let outletsRunning = false;

  const fanOutTurnMs = options.fanOutTurnMs ?? 25;

  // One fan-out at a time (it pauses between views, so it spans several turns of the event loop).
  const publisher = createSerialPublisher<{ snapshot: TransportSnapshot; descriptor?: SnapshotDescriptor }>({
    run: ({ snapshot, descriptor }) => publishNow(snapshot, descriptor),
    sequenceOf: ({ snapshot }) => snapshot.sequence,
    skipped: () => m.skipped.inc(),
    failed: (error) => logger.warn({ err: error }, 'a fan-out failed'),
  });
  const publish = (snapshot: TransportSnapshot, descriptor?: SnapshotDescriptor): void =>
    publisher.offer(descriptor ? { snapshot, descriptor } : { snapshot });

  async function publishNow(snapshot: TransportSnapshot, descriptor?: SnapshotDescriptor): Promise<void> {
    if (snapshot.sequence <= (views.snapshot?.sequence ?? -1)) return;
    const started = performance.now();
    await fanOut.publishPaced(snapshot, turnsEvery(fanOutTurnMs));
    m.fanOut.observe((performance.now() - started) / 1_000);
    // One outlet run at a time, so a slow outlet (a REST service) never delivers tick N+1 before tick N; while
    // one runs, newer snapshots skip it (its clients see the gap in previousSequence).
    if (outletsRunning) {
      m.outletSkips.inc();
    } else if ((options.outlets ?? []).length > 0) {
      outletsRunning = true;
      Promise.allSettled((options.outlets ?? []).map(async (outlet) => outlet(snapshot)))
        .then((results) => {
          for (const r of results) {
            if (r.status === 'rejected')
              logger.warn({ err: r.reason }, 'an outlet failed to take a snapshot');
          }
        })
        .finally(() => {
          outletsRunning = false;
        });
    }
    lastPublishedAt = clock();
    m.published.inc();
    m.sequence.set(snapshot.sequence);
    m.lag.observe(Math.max(0, lastPublishedAt - snapshot.generatedAt) / 1_000);
    m.views.set(views.size);
    m.subscribers.set(fanOut.subscribers);
    if (descriptor === undefined)
      logger.info({ sequence: snapshot.sequence }, 'serving the newest stored snapshot');
  }

  const follower = createSnapshotFollower({
    download: async (descriptor, abortSignal) => {
      const started = performance.now();
      const snapshot = await options.store.read(descriptor, { abortSignal });
      m.download.observe((performance.now() - started) / 1_000);
      return snapshot;
    },
    publish,
    ...(options.downloadTimeoutMs ? { downloadTimeoutMs: options.downloadTimeoutMs } : {}),
    metrics: { skipped: (n) => m.skipped.inc(n), failed: (reason) => m.failed.inc({ reason }) },
    logger,
  });

  return {
    views,
    fanOut,
    follower,
    get lastPublishedAt() {
      return lastPublishedAt;
    },
    offer(announcement, enqueuedAt) {
      m.announcements.inc();
      if (enqueuedAt !== undefined) m.announcementDelay.observe(Math.max(0, clock() - enqueuedAt) / 1_000);
      follower.offer(announcement);
    },
    async bootstrap() {
      const descriptor = await options.store.latest();
      if (!descriptor || descriptor.sequence <= follower.publishedSequence) return;
      const snapshot = await options.store.read(descriptor);
      // The follower may have published something newer meanwhile; views ignore older sequences.
      if (snapshot.sequence > (views.snapshot?.sequence ?? -1)) publish(snapshot);
    },
    async close() {
      await follower.close();
      await publisher.idle();
    },
  };
}

/**
 * The fan-out's pause between views: lets the event loop turn (so HTTP/2 sends the gRPC updates written so far)
 * once `everyMs` have passed since the last turn; 0: never. Not after every view: each turn also wakes the gRPC
 * clients with data, and on a loaded host a turn per view made the whole tick slower (decision 0015).
 */
function turnsEvery(everyMs: number): () => Promise<void> {
  let last = performance.now();
  return () => {
    if (everyMs === 0 || performance.now() - last < everyMs) return Promise.resolve();
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        last = performance.now();
        resolve();
      }),
    );
  };
}

export interface SerialPublisher<T> {
  /** Runs `item` now if nothing runs, else keeps it waiting (if it is the newest waiting; older ones are skipped). */
  offer(item: T): void;
  /** Resolves when nothing runs or waits. */
  idle(): Promise<void>;
}

/**
 * One run at a time, newest first: while a run goes on, only the newest later item waits for it, as old
 * real-time data is worthless. Whatever is replaced or older than what waits is counted as skipped.
 */
export function createSerialPublisher<T>(deps: {
  run: (item: T) => Promise<void>;
  sequenceOf: (item: T) => number;
  skipped: () => void;
  failed: (error: unknown) => void;
}): SerialPublisher<T> {
  let running: Promise<void> | undefined;
  let waiting: T | undefined;

  async function drain(first: T): Promise<void> {
    let next: T | undefined = first;
    while (next !== undefined) {
      try {
        await deps.run(next);
      } catch (error) {
        deps.failed(error);
      }
      next = waiting;
      waiting = undefined;
      // In the same step that finds nothing waiting: an offer from now on starts a run of its own.
      if (next === undefined) running = undefined;
    }
  }

  return {
    offer(item) {
      if (!running) {
        // Started from a settled promise, so `running` is set before the run can end.
        running = Promise.resolve(item).then(drain);
        return;
      }
      if (waiting !== undefined && deps.sequenceOf(waiting) >= deps.sequenceOf(item)) {
        deps.skipped();
        return;
      }
      if (waiting !== undefined) deps.skipped();
      waiting = item;
    },
    async idle() {
      while (running) await running;
    },
  };
}
