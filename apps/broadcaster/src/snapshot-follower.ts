// Follows the composer: takes the announcements from the snapshots topic, downloads each announced snapshot
// and hands it on — newest first, never in a queue. Old real-time data is worthless, so when announcements
// arrive faster than downloads finish the follower keeps only the newest waiting one; a slow or failed download
// never holds back a later snapshot (downloads overlap, the newest to finish wins, older ones are abandoned);
// everything skipped is counted.

import type { TransportSnapshot } from '@transit-fusion/model';
import type { SnapshotDescriptor } from '@transit-fusion/storage';
import { z } from 'zod';

/** The part of the composer's announcement the broadcaster needs: enough to download the snapshot. */
export type Announcement = SnapshotDescriptor;

const announcementSchema = z.object({
  snapshotId: z.string().min(1).max(64),
  blobName: z.string().min(1).max(1024),
  sequence: z.number().int().nonnegative(),
  generatedAt: z.number().int().nonnegative(),
  vehicleCount: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});

/** An announcement from a message body, or a message naming what is wrong with it. */
export function parseAnnouncement(body: unknown): Announcement | string {
  const result = announcementSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return `announcement ${issue.path.join('.') || 'body'}: ${issue.message}`;
  }
  const { snapshotId, ...rest } = result.data;
  return { id: snapshotId, ...rest };
}

export interface FollowerMetrics {
  /** Announced snapshots never handed on because a newer one overtook them. */
  skipped(count: number): void;
  failed(reason: string): void;
}

export interface SnapshotFollowerDeps {
  download(descriptor: SnapshotDescriptor, abortSignal: AbortSignal): Promise<TransportSnapshot>;
  publish(snapshot: TransportSnapshot, descriptor: SnapshotDescriptor): void;
  /** Downloads running at once (default 2: one may hang while the next goes by). */
  readonly maxInFlight?: number;
  /** A download still running after this is abandoned (default 5 s). */
  readonly downloadTimeoutMs?: number;
  readonly metrics?: FollowerMetrics;
  readonly logger?: { warn(o: object, m: string): void };
}

export interface SnapshotFollower {
  offer(announcement: Announcement): void;
  /** The sequence of the newest snapshot handed on (-1: none yet). */
  readonly publishedSequence: number;
  /** Abandons downloads in flight and waits for them to settle. */
  close(): Promise<void>;
}

export function createSnapshotFollower(deps: SnapshotFollowerDeps): SnapshotFollower {
  const maxInFlight = deps.maxInFlight ?? 2;
  const timeoutMs = deps.downloadTimeoutMs ?? 5_000;
  const inFlight = new Map<Announcement, { controller: AbortController; done: Promise<void> }>();
  let pending: Announcement | undefined;
  let newestOffered = -1;
  let published = -1;
  let closed = false;

  function start(announcement: Announcement): void {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`download took longer than ${timeoutMs} ms`)),
      timeoutMs,
    );
    const done = deps
      .download(announcement, controller.signal)
      .then((snapshot) => {
        if (announcement.sequence <= published) {
          deps.metrics?.skipped(1);
          return;
        }
        published = announcement.sequence;
        // Older downloads still running can only be skipped now.
        for (const [other, flight] of inFlight) {
          if (other.sequence < announcement.sequence) flight.controller.abort(new Error('overtaken'));
        }
        deps.publish(snapshot, announcement);
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted && controller.signal.reason instanceof Error) {
          if (controller.signal.reason.message === 'overtaken' || closed) {
            deps.metrics?.skipped(1);
            return;
          }
        }
        const reason = controller.signal.aborted ? 'timeout' : codeOf(error);
        deps.metrics?.failed(reason);
        deps.logger?.warn(
          { sequence: announcement.sequence, blobName: announcement.blobName, reason, err: error },
          'snapshot download failed; waiting for the next announcement',
        );
      })
      .finally(() => {
        clearTimeout(timer);
        inFlight.delete(announcement);
        if (!closed && pending && inFlight.size < maxInFlight) {
          const next = pending;
          pending = undefined;
          if (next.sequence > published) start(next);
          else deps.metrics?.skipped(1);
        }
      });
    inFlight.set(announcement, { controller, done });
  }

  return {
    get publishedSequence() {
      return published;
    },
    offer(announcement) {
      if (closed) return;
      // A duplicate (redelivery) or an announcement older than what is already shown.
      if (announcement.sequence <= Math.max(newestOffered, published)) {
        deps.metrics?.skipped(1);
        return;
      }
      newestOffered = announcement.sequence;
      if (inFlight.size < maxInFlight) {
        start(announcement);
        return;
      }
      if (pending) deps.metrics?.skipped(1);
      pending = announcement;
    },
    async close() {
      closed = true;
      if (pending) deps.metrics?.skipped(1);
      pending = undefined;
      for (const flight of inFlight.values()) flight.controller.abort(new Error('closing'));
      await Promise.all([...inFlight.values()].map((f) => f.done));
    },
  };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
