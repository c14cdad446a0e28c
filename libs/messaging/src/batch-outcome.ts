// What a batch handler sees and answers, and the pure decision of how each message of a batch is settled:
// processed → complete, poison → dead-letter, everything else → abandon (redelivered; the broker dead-letters
// it past the subscription's max delivery count). Kept apart from the drainer so the rules are unit-tested
// without a broker.

/** One received message, as handed to a batch handler: bytes and metadata, no SDK types. */
export interface ReceivedBatchMessage {
  readonly messageId: string | undefined;
  /** The body's bytes (decode by contentType); the sender writes every body as bytes. */
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
  readonly subject: string | undefined;
  readonly applicationProperties: Readonly<Record<string, unknown>>;
  /** Earlier deliveries of this message: 0 on the first (the AMQP header's count, as the JS SDK reports it). */
  readonly deliveryCount: number;
  readonly enqueuedAt: Date | undefined;
  readonly sequenceNumber: bigint | undefined;
}

export interface PoisonMessage {
  readonly message: ReceivedBatchMessage;
  /** Short and stable (e.g. `invalid-payload`): the DLQ's DeadLetterReason, for grouping. */
  readonly reason: string;
  /** Human detail: the DLQ's DeadLetterErrorDescription (cut to 1,024 characters). */
  readonly description: string;
}

export interface BatchOutcome {
  /** Messages durably processed (written where they belong): completed. */
  readonly processed: readonly ReceivedBatchMessage[];
  /** Messages that can never be processed: dead-lettered with their reason. */
  readonly poison?: readonly PoisonMessage[];
}

/**
 * Receives a batch (1 to batchSize messages) and says which were processed and which are poison; the rest
 * are abandoned. Throwing abandons the whole batch. Must be idempotent: a message whose settlement failed
 * (its lock expired) is delivered again after it was processed.
 */
export type BatchHandler = (batch: readonly ReceivedBatchMessage[]) => Promise<BatchOutcome>;

export interface SettlementPlan {
  readonly complete: readonly ReceivedBatchMessage[];
  readonly deadLetter: readonly PoisonMessage[];
  readonly abandon: readonly ReceivedBatchMessage[];
  /** Messages the outcome named that are not in the batch (ignored). */
  readonly foreign: number;
  /** Messages named both processed and poison: completed (their processing is durable already). */
  readonly conflicting: number;
}

const MAX_DESCRIPTION = 1_024;
const MAX_REASON = 256;

export function planSettlement(
  batch: readonly ReceivedBatchMessage[],
  outcome: BatchOutcome,
): SettlementPlan {
  const inBatch = new Set(batch);
  let foreign = 0;
  let conflicting = 0;
  const processed = new Set<ReceivedBatchMessage>();
  for (const message of outcome.processed) {
    if (inBatch.has(message)) processed.add(message);
    else foreign++;
  }
  const poison = new Map<ReceivedBatchMessage, PoisonMessage>();
  for (const entry of outcome.poison ?? []) {
    if (!inBatch.has(entry.message)) foreign++;
    else if (processed.has(entry.message)) conflicting++;
    else if (!poison.has(entry.message)) {
      poison.set(entry.message, {
        message: entry.message,
        reason: String(entry.reason).slice(0, MAX_REASON),
        description: String(entry.description).slice(0, MAX_DESCRIPTION),
      });
    }
  }
  return {
    complete: batch.filter((m) => processed.has(m)),
    deadLetter: batch.flatMap((m) => poison.get(m) ?? []),
    abandon: batch.filter((m) => !processed.has(m) && !poison.has(m)),
    foreign,
    conflicting,
  };
}

/** A handler's answer has the right shape (a handler written in JS, or cast, may return anything). */
export function isBatchOutcome(value: unknown): value is BatchOutcome {
  const o = value as { processed?: unknown; poison?: unknown } | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    Array.isArray(o.processed) &&
    (o.poison === undefined || Array.isArray(o.poison))
  );
}
