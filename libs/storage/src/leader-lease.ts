// Leader election among replicas on an Azure Blob lease. One blob (`leases/composer-leader` by default) is the
// lock: the replica holding its lease leads, renews it while leading, and releases it on shutdown so another takes
// over on its next tick.
//
// Two things an Azure lease alone does not give, and how they are added:
// - **Fencing.** A leader can lose its lease without knowing (a long GC pause, a partition) and still finish a
//   tick. So every tick the leader *claims* its sequence number by writing it into the lease blob with its lease
//   id as a condition: the write fails once anyone else holds the lease, and a deposed leader stops before it
//   stores anything. The blob's content is also where a new leader reads the last sequence from, so sequences
//   stay strictly increasing across fail-overs and restarts.
// - **Fast take-over after a crash.** Azure leases last 15–60 s; a leader killed without releasing would block
//   the others that long. Followers watch the blob's ETag, which the leader changes with every claim: when it has
//   not changed for `takeoverAfterMs` (about 1.5 ticks) by the follower's own clock, the follower breaks the
//   lease (break period 0) and acquires it. A leader that was only slow is deposed safely: its next claim fails.

import { randomUUID } from 'node:crypto';
import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';
import { readBody } from './blob-body.js';
import type { StorageClients } from './storage-clients.js';
import { StorageError, statusOf } from './storage-error.js';
import { silentLogger, type StorageLogger } from './storage-logger.js';

export interface LeaderLeaseOptions {
  readonly clients: StorageClients;
  readonly container: string;
  readonly blob: string;
  /** Names this replica in the lease blob and in logs. */
  readonly instanceId: string;
  /** Azure lease duration, 15–60 s (default 15); renewed every third of it while leading. */
  readonly leaseDurationSeconds?: number;
  /** A follower takes over when the leader's claims stop for this long (default 1,500 ms). */
  readonly takeoverAfterMs?: number;
  readonly clock?: { now(): number };
  readonly logger?: StorageLogger;
}

/** What the lease blob holds: the last claimed sequence, by whom, for which tick. */
export interface LeaseClaim {
  readonly sequence: number;
  readonly tickAt: number;
  readonly instanceId: string;
}

export type LeaseState =
  | {
      readonly role: 'leader';
      readonly lastSequence: number;
      readonly since: number;
      readonly tookOver: boolean;
    }
  | { readonly role: 'follower'; readonly leader?: string };

export interface LeaderLease {
  /** Keeps (renews) or tries to gain leadership; call once per tick before working. Throws UNAVAILABLE. */
  /**
   * `now` (default: the clock) is the time silence is measured in. A scheduler passes its tick's scheduled time,
   * so a follower whose own checks run late under load still takes over after the same number of ticks.
   */
  check(now?: number): Promise<LeaseState>;
  /**
   * Fenced claim of `sequence` for the tick at `tickAt`: true when written under this replica's lease, false when
   * the lease is gone (then this replica is a follower again and must not store the tick). Throws UNAVAILABLE.
   */
  claim(sequence: number, tickAt: number): Promise<boolean>;
  /** Gives the lease up (shutdown), so a follower takes over on its next tick. Never throws. */
  release(): Promise<void>;
  readonly isLeader: boolean;
}

const MIN_LEASE_S = 15;
const MAX_LEASE_S = 60;

export function createLeaderLease(options: LeaderLeaseOptions): LeaderLease {
  const duration = options.leaseDurationSeconds ?? MIN_LEASE_S;
  if (!(duration >= MIN_LEASE_S && duration <= MAX_LEASE_S)) {
    throw new StorageError('INVALID_ARGUMENT', `leaseDurationSeconds must be 15–60, got ${duration}`);
  }
  const takeoverAfterMs = options.takeoverAfterMs ?? 1_500;
  const clock = options.clock ?? Date;
  const logger = options.logger ?? silentLogger;
  const container = options.clients.container(options.container);
  const blob: BlockBlobClient = container.getBlockBlobClient(options.blob);
  const lease: BlobLeaseClient = blob.getBlobLeaseClient(randomUUID());
  let leader: { since: number; lastSequence: number; renewedAt: number } | undefined;
  /** The ETag a follower last saw and when (its own clock) it first saw it. */
  let watched: { etag: string; since: number } | undefined;
  let ensured = false;

  async function ensureBlob(): Promise<void> {
    if (ensured) return;
    await container.createIfNotExists();
    try {
      const body = JSON.stringify({ sequence: 0, tickAt: 0, instanceId: '' } satisfies LeaseClaim);
      await blob.upload(body, Buffer.byteLength(body), { conditions: { ifNoneMatch: '*' } });
    } catch (error) {
      // 409 (leased) / 412 (exists): someone created it first.
      if (statusOf(error) !== 409 && statusOf(error) !== 412) throw error;
    }
    ensured = true;
  }

  async function readClaim(): Promise<LeaseClaim> {
    const buffer = await readBody((await blob.download()).readableStreamBody);
    try {
      const claim = JSON.parse(buffer.toString('utf8')) as Partial<LeaseClaim>;
      return {
        sequence: Number.isSafeInteger(claim.sequence) ? claim.sequence! : 0,
        tickAt: Number(claim.tickAt) || 0,
        instanceId: String(claim.instanceId ?? ''),
      };
    } catch {
      throw new StorageError('CORRUPT_BLOB', `lease blob ${options.blob} does not hold a claim`, {
        blobName: options.blob,
      });
    }
  }

  async function acquire(tookOver: boolean, now: number): Promise<LeaseState | undefined> {
    try {
      await lease.acquireLease(duration);
    } catch (error) {
      if (statusOf(error) === 409) return undefined; // someone else holds it
      throw error;
    }
    const claim = await readClaim();
    leader = { since: now, lastSequence: claim.sequence, renewedAt: now };
    watched = undefined;
    logger.info?.(
      { instanceId: options.instanceId, lastSequence: claim.sequence, previous: claim.instanceId, tookOver },
      'leader lease acquired',
    );
    return { role: 'leader', lastSequence: claim.sequence, since: now, tookOver };
  }

  async function check(at?: number): Promise<LeaseState> {
    try {
      await ensureBlob();
      const now = at ?? clock.now();
      if (leader) {
        if (now - leader.renewedAt >= (duration * 1000) / 3) {
          try {
            await lease.renewLease();
            leader.renewedAt = now;
          } catch (error) {
            if (statusOf(error) !== 409) throw error;
            lost('renewal refused');
            return { role: 'follower' };
          }
        }
        return { role: 'leader', lastSequence: leader.lastSequence, since: leader.since, tookOver: false };
      }
      const properties = await blob.getProperties();
      if (properties.leaseState !== 'leased') {
        return (await acquire(false, now)) ?? { role: 'follower' };
      }
      const etag = properties.etag ?? '';
      if (!watched || watched.etag !== etag) {
        watched = { etag, since: now };
        return { role: 'follower' };
      }
      if (now - watched.since < takeoverAfterMs) return { role: 'follower' };
      // The leader has not claimed a tick for too long: take over.
      logger.warn(
        { instanceId: options.instanceId, silentMs: now - watched.since },
        'leader silent; breaking its lease',
      );
      await lease.breakLease(0);
      return (await acquire(true, now)) ?? { role: 'follower' };
    } catch (error) {
      throw new StorageError('UNAVAILABLE', `leader lease ${options.blob}: ${(error as Error).message}`, {
        cause: error,
        blobName: options.blob,
      });
    }
  }

  function lost(why: string): void {
    if (!leader) return;
    logger.warn({ instanceId: options.instanceId, why }, 'leader lease lost');
    leader = undefined;
    watched = undefined;
  }

  return {
    check,
    async claim(sequence, tickAt) {
      if (!leader) return false;
      const body = JSON.stringify({ sequence, tickAt, instanceId: options.instanceId } satisfies LeaseClaim);
      try {
        await blob.upload(body, Buffer.byteLength(body), { conditions: { leaseId: lease.leaseId } });
        leader.lastSequence = sequence;
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 409) {
          lost(`claim of sequence ${sequence} refused (${status})`);
          return false;
        }
        throw new StorageError('UNAVAILABLE', `claiming sequence ${sequence}: ${(error as Error).message}`, {
          cause: error,
          blobName: options.blob,
        });
      }
    },
    async release() {
      if (!leader) return;
      leader = undefined;
      try {
        await lease.releaseLease();
        logger.info?.({ instanceId: options.instanceId }, 'leader lease released');
      } catch (error) {
        logger.warn(
          { instanceId: options.instanceId, err: error },
          'leader lease release failed; it expires',
        );
      }
    },
    get isLeader() {
      return leader !== undefined;
    },
  };
}
