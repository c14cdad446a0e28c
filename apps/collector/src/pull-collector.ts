// A polled vendor: each tick fetches its feed (conditionally), decodes it with the vendors lib, and saves the
// result as the vendor's latest snapshot. Any failure leaves the stored snapshot as it was — the last good one
// stays what the composer reads — and the tick throws, so the scheduler counts it and health shows it.
//
// The feed's validators (ETag, Last-Modified) are remembered only once the snapshot is saved: were they kept
// after a failed save, the next tick would get a 304 and the new data would never be stored.

import type { VendorSnapshotRepository } from '@transit-fusion/storage';
import {
  createFeedDecoder,
  isVendorFeedError,
  toVendorSnapshot,
  type FeedDecoder,
  type FeedRejection,
  type RejectionCode,
} from '@transit-fusion/vendors';
import { CollectorError } from './collector-error.js';
import type { Collector, TickReport } from './collector.js';
import type { PullVendorSettings } from './config.js';
import { fetchFeed, reasonOf, type FeedValidators } from './feed-fetcher.js';

export interface PullCollectorDeps {
  readonly vendor: PullVendorSettings;
  readonly repository: VendorSnapshotRepository;
  readonly clock?: { now(): number };
  readonly fetch?: typeof fetch;
  /** Told the rejections of each decoded feed (a sample is kept for health). */
  readonly onRejections?: (vendorId: string, rejections: readonly FeedRejection[]) => void;
}

export function createPullCollector(deps: PullCollectorDeps): Collector {
  const { vendor, repository } = deps;
  const clock = deps.clock ?? Date;
  const decode: FeedDecoder = createFeedDecoder(vendor.format, vendor.mapping);
  let validators: FeedValidators = {};
  let lastSequence = 0;

  async function tick(signal: AbortSignal): Promise<TickReport> {
    const response = await fetchFeed({
      url: vendor.url,
      headers: vendor.headers,
      validators,
      maxBodyBytes: vendor.maxBodyBytes,
      signal,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    if (response.status === 'not-modified') {
      return {
        vendors: [
          {
            vendorId: vendor.id,
            outcome: 'not-modified',
            records: 0,
            rejected: {},
            bytesIn: 0,
            bytesSaved: 0,
          },
        ],
      };
    }
    checkBudget(signal, 'after the download');

    const collectedAt = clock.now();
    let snapshot;
    let rejected: Partial<Record<RejectionCode, number>>;
    try {
      const result = decode(response.body, { vendorId: vendor.id, now: collectedAt });
      rejected = countByCode(result.rejected);
      if (result.rejected.length > 0) deps.onRejections?.(vendor.id, result.rejected);
      // Epoch milliseconds keep sequences increasing across restarts without reading the last one back.
      const sequence = Math.max(lastSequence + 1, collectedAt);
      snapshot = toVendorSnapshot(result, { vendorId: vendor.id, sequence, collectedAt });
    } catch (error) {
      if (!isVendorFeedError(error)) throw error;
      const code = error.code === 'VENDOR_ERROR' ? 'VENDOR_ERROR' : 'MALFORMED_FEED';
      throw new CollectorError(code, `${vendor.id}: ${error.message.replace(/^[A-Z_]+: /, '')}`, {
        cause: error,
      });
    }
    checkBudget(signal, 'after decoding');

    let saved: { bytes: number };
    try {
      saved = await repository.save(snapshot, { abortSignal: signal });
    } catch (error) {
      if (signal.aborted) {
        throw new CollectorError('BUDGET_EXCEEDED', `${vendor.id}: saving: ${reasonOf(signal)}`, {
          cause: error,
        });
      }
      throw new CollectorError('STORAGE_FAILED', `${vendor.id}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    validators = response.validators;
    lastSequence = snapshot.sequence;
    return {
      vendors: [
        {
          vendorId: vendor.id,
          outcome: 'saved',
          records: snapshot.records.length,
          rejected,
          bytesIn: response.wireBytes,
          bytesSaved: saved.bytes,
          sequence: snapshot.sequence,
        },
      ],
    };
  }

  return {
    name: vendor.id,
    vendorIds: [vendor.id],
    tick,
    async close() {},
  };
}

function checkBudget(signal: AbortSignal, when: string): void {
  if (signal.aborted) throw new CollectorError('BUDGET_EXCEEDED', `${when}: ${reasonOf(signal)}`);
}

export function countByCode(rejections: readonly FeedRejection[]): Partial<Record<RejectionCode, number>> {
  const counts: Partial<Record<RejectionCode, number>> = {};
  for (const r of rejections) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}
