// Push vendors: the receiver put their pushes on a Service Bus topic; each tick drains this collector's
// subscription in peek-lock batches, merges every push into its vendor's state, saves the touched vendors'
// snapshots, and only then lets the drainer complete the messages. A save that fails abandons the batch (it is
// delivered again; merging is idempotent), so a push the receiver acknowledged is never lost on the way.
//
// Several push vendors may share a subscription (locally they all do); a message says which vendor it is for.
// One for a vendor not collected here, or one that is not a push at all, is dead-lettered with the reason:
// retrying cannot fix it, and the dead-letter queue keeps it for a person to look at.
//
// Before its first drain the collector loads each vendor's stored snapshot, so a restart continues with the
// vehicles pushed before it instead of saving a snapshot that forgot them. Until that load succeeds it does
// not drain at all (messages wait in the subscription).

import {
  createBatchedDrainer,
  isMessagingError,
  type BatchedDrainer,
  type BatchHandler,
  type MessagingLogger,
  type PoisonMessage,
  type ReceivedBatchMessage,
} from '@transit-fusion/messaging';
import { isModelError, parseVendorRecord, type VendorRecord } from '@transit-fusion/model';
import type { VendorSnapshotRepository } from '@transit-fusion/storage';
import type { ServiceBusClient } from '@azure/service-bus';
import { z } from 'zod';
import { CollectorError } from './collector-error.js';
import type { Collector, TickReport, VendorTickReport } from './collector.js';
import type { PushVendorSettings } from './config.js';
import { reasonOf } from './feed-fetcher.js';
import { createPushVendorState, type PushVendorState } from './push-state.js';

export interface PushCollectorDeps {
  /** The push vendors of one subscription (same topic, subscription, schedule, budget and batch size). */
  readonly vendors: readonly PushVendorSettings[];
  readonly client: ServiceBusClient;
  readonly repository: VendorSnapshotRepository;
  readonly clock?: { now(): number };
  readonly logger?: MessagingLogger;
}

/** A push as the receiver writes it (see the receiver's push-messages.ts). */
const pushBody = z.object({
  pushId: z.string().min(1),
  vendorId: z.string().min(1),
  receivedAt: z.number(),
  records: z.array(z.unknown()),
});

interface VendorTally {
  saved: boolean;
  bytesIn: number;
  bytesSaved: number;
  rejected: Record<string, number>;
}

export function createPushCollector(deps: PushCollectorDeps): Collector {
  const [first] = deps.vendors;
  if (!first) throw new CollectorError('NOT_READY', 'a push collector needs at least one vendor');
  const clock = deps.clock ?? Date;
  const states = new Map<string, PushVendorState>(
    deps.vendors.map((v) => [v.id, createPushVendorState(v.id, v.maxRecordAgeMs)]),
  );
  let loaded = false;
  /** Per tick: what each vendor received and saved; reset at the start of each tick. */
  let tallies = new Map<string, VendorTally>();
  let handlerError: unknown;

  const handler: BatchHandler = async (batch) => {
    const processed: ReceivedBatchMessage[] = [];
    const poison: PoisonMessage[] = [];
    const touched = new Set<string>();
    for (const message of batch) {
      const push = parseMessage(message);
      if ('reason' in push) {
        poison.push({ message, ...push });
        continue;
      }
      const state = states.get(push.vendorId)!;
      const tally = tallyOf(push.vendorId);
      tally.bytesIn += message.body.byteLength;
      const { records, invalid } = validRecords(push.vendorId, push.records);
      if (invalid > 0) add(tally.rejected, 'INVALID_FIELD', invalid);
      const counts = state.merge(records);
      if (counts.overCapacity > 0) add(tally.rejected, 'OVER_CAPACITY', counts.overCapacity);
      touched.add(push.vendorId);
      processed.push(message);
    }
    // Durable first: every touched vendor's snapshot is stored before any of the batch is completed.
    for (const vendorId of touched) {
      const snapshot = states.get(vendorId)!.snapshot(clock.now());
      try {
        const { bytes } = await deps.repository.save(snapshot);
        const tally = tallyOf(vendorId);
        tally.saved = true;
        tally.bytesSaved += bytes;
      } catch (error) {
        handlerError = error;
        throw error;
      }
    }
    return { processed, poison };
  };

  const drainer: BatchedDrainer = createBatchedDrainer({
    client: deps.client,
    topic: first.topic,
    subscription: first.subscription,
    batchSize: first.batchSize,
    // Short receive waits keep a tick within its budget when the subscription is nearly empty.
    maxWaitTimeMs: Math.min(200, Math.max(20, Math.floor(first.budgetMs / 4))),
    handler,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });

  function tallyOf(vendorId: string): VendorTally {
    let tally = tallies.get(vendorId);
    if (!tally) {
      tally = { saved: false, bytesIn: 0, bytesSaved: 0, rejected: {} };
      tallies.set(vendorId, tally);
    }
    return tally;
  }

  function parseMessage(
    message: ReceivedBatchMessage,
  ): { vendorId: string; records: unknown[] } | { reason: string; description: string } {
    let json: unknown;
    try {
      json = JSON.parse(
        Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('utf8'),
      );
    } catch (error) {
      return { reason: 'invalid-payload', description: `body is not JSON: ${(error as Error).message}` };
    }
    const parsed = pushBody.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
      return { reason: 'invalid-payload', description: `not a vendor push: ${issues.join('; ')}` };
    }
    if (!states.has(parsed.data.vendorId)) {
      return {
        reason: 'unknown-vendor',
        description: `vendor ${parsed.data.vendorId} is not collected from ${first!.topic}/${first!.subscription} (collected: ${[...states.keys()].join(', ')})`,
      };
    }
    return parsed.data;
  }

  async function load(signal: AbortSignal): Promise<void> {
    for (const [vendorId, state] of states) {
      if (signal.aborted)
        throw new CollectorError('BUDGET_EXCEEDED', `loading ${vendorId}: ${reasonOf(signal)}`);
      try {
        const read = await deps.repository.readLatest(vendorId);
        if (read.status === 'changed') state.load(read.snapshot);
      } catch (error) {
        throw new CollectorError(
          'NOT_READY',
          `cannot load the stored snapshot of ${vendorId} to continue from (${(error as Error).message}); not draining until it loads`,
          { cause: error },
        );
      }
    }
    loaded = true;
  }

  async function tick(signal: AbortSignal): Promise<TickReport> {
    const started = clock.now();
    if (!loaded) await load(signal);
    tallies = new Map();
    handlerError = undefined;
    const budgetMs = Math.max(1, first!.budgetMs - (clock.now() - started));
    let result;
    try {
      result = await drainer.drain({ budgetMs, abortSignal: signal });
    } catch (error) {
      if (isMessagingError(error) && error.code === 'BUSY') {
        throw new CollectorError('BROKER_FAILED', 'the previous drain is still running', { cause: error });
      }
      throw new CollectorError(
        'BROKER_FAILED',
        `draining ${first!.topic}/${first!.subscription}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (result.stoppedBecause === 'handler-failed') {
      throw new CollectorError(
        'STORAGE_FAILED',
        `saving pushed records failed; the batch goes back to the subscription: ${(handlerError as Error | undefined)?.message ?? 'unknown error'}`,
        { cause: handlerError },
      );
    }
    const vendors: VendorTickReport[] = [];
    for (const [vendorId, state] of states) {
      const tally = tallies.get(vendorId);
      vendors.push({
        vendorId,
        outcome: tally?.saved ? 'saved' : 'idle',
        records: state.size,
        rejected: tally?.rejected ?? {},
        bytesIn: tally?.bytesIn ?? 0,
        bytesSaved: tally?.bytesSaved ?? 0,
        ...(tally?.saved ? { sequence: state.lastSequence } : {}),
      });
    }
    return { vendors };
  }

  return {
    name: deps.vendors.map((v) => v.id).join('+'),
    vendorIds: deps.vendors.map((v) => v.id),
    tick,
    close: () => drainer.close(),
  };
}

/** The records that pass the model's validation and belong to the vendor; the rest are counted. */
function validRecords(
  vendorId: string,
  items: readonly unknown[],
): { records: VendorRecord[]; invalid: number } {
  const records: VendorRecord[] = [];
  let invalid = 0;
  for (const item of items) {
    try {
      const record = parseVendorRecord(
        item !== null && typeof item === 'object' && !('vendorId' in item) ? { ...item, vendorId } : item,
      );
      if (record.vendorId === vendorId) records.push(record);
      else invalid++;
    } catch (error) {
      if (!isModelError(error)) throw error;
      invalid++;
    }
  }
  return { records, invalid };
}

function add(counts: Record<string, number>, key: string, n: number): void {
  counts[key] = (counts[key] ?? 0) + n;
}
