// The collector side of pushed vendor data: drains a topic subscription in peek-lock batches (16 by default, the
// size the original system found best) and settles each message by what the handler says: complete what was
// durably processed, dead-letter poison, abandon the rest. Peek-lock with completion after a durable write is
// what makes "nothing lost" hold where the original's receive-and-delete did not.
//
// Two ways to run it: drain() for a cron tick ("until the subscription is empty or the budget is spent") and
// start()/stop() for a continuous subscriber loop. Neither cancels a receive midway: the SDK drops messages
// that arrive after an aborted receiveMessages() (they stay locked until their lock expires), so stop and abort
// take effect between batches, at most one receive wait (maxWaitTimeMs) later.

import type { ServiceBusClient, ServiceBusReceivedMessage, ServiceBusReceiver } from '@azure/service-bus';
import {
  isBatchOutcome,
  planSettlement,
  type BatchHandler,
  type ReceivedBatchMessage,
  type SettlementPlan,
} from './batch-outcome.js';
import { MessagingError, toMessagingError } from './messaging-error.js';
import { noMetrics, silentLogger, type MessagingLogger, type MessagingMetrics } from './messaging-logger.js';

export interface BatchedDrainerOptions {
  readonly client: ServiceBusClient;
  readonly topic: string;
  readonly subscription: string;
  readonly handler: BatchHandler;
  /** Messages per batch (default 16). */
  readonly batchSize?: number;
  /**
   * Longest wait for a batch to fill (default 500 ms). The SDK returns as soon as batchSize messages arrived,
   * otherwise after this wait (at most 1 s after the first message). Bounds how late stop() and aborts act.
   */
  readonly maxWaitTimeMs?: number;
  /**
   * How long the SDK keeps renewing the locks of a batch in hand (default 300,000 ms, the SDK's); 0 turns
   * renewal off, so a handler slower than the lock loses its messages to redelivery.
   */
  readonly maxAutoLockRenewalDurationInMs?: number;
  /** Subscriber loop: first pause after a handler throw or a receive failure (default 1,000 ms), doubling… */
  readonly retryBackoffMs?: number;
  /** …up to this (default 30,000 ms); reset by the next good batch. */
  readonly maxRetryBackoffMs?: number;
  readonly logger?: MessagingLogger;
  /** Counters, labelled { topic, subscription }; names listed in the README. */
  readonly metrics?: MessagingMetrics;
}

export interface DrainOptions {
  /** Stop receiving new batches after this long; the batch in hand is always handled and settled. */
  readonly budgetMs: number;
  /** Checked between batches (see the module comment). */
  readonly abortSignal?: AbortSignal;
}

export interface DrainResult {
  readonly batches: number;
  readonly received: number;
  readonly completed: number;
  readonly abandoned: number;
  readonly deadLettered: number;
  /** Settlements the broker refused (typically an expired lock): those messages are delivered again. */
  readonly settleFailed: number;
  /**
   * `empty`: the subscription had nothing more; `budget`: time ran out; `aborted`: the signal fired or close()
   * was called; `handler-failed`: the handler threw, its batch was abandoned and the drain stopped there, so a
   * failing dependency costs each message one delivery per tick instead of its whole max delivery count at once.
   */
  readonly stoppedBecause: 'empty' | 'budget' | 'aborted' | 'handler-failed';
}

export interface BatchedDrainer {
  /** One cron tick's drain. Throws MessagingError UNAVAILABLE when receiving fails, BUSY when already running. */
  drain(options: DrainOptions): Promise<DrainResult>;
  /** Starts the subscriber loop (receive → handle → settle → repeat); it logs and backs off on failures, never dies. */
  start(): void;
  /** Stops the loop (or a drain in progress) after the batch in hand is handled and settled. */
  stop(): Promise<void>;
  /** Stops the loop or drain and closes the receive link (the client stays open; it is the caller's). */
  close(): Promise<void>;
}

interface Tally {
  received: number;
  completed: number;
  abandoned: number;
  deadLettered: number;
  settleFailed: number;
  handlerFailed: boolean;
  /** Every message was completed or dead-lettered: none will come back. */
  allSettledFinally: boolean;
}

export function createBatchedDrainer(options: BatchedDrainerOptions): BatchedDrainer {
  const {
    client,
    topic,
    subscription,
    handler,
    batchSize = 16,
    maxWaitTimeMs = 500,
    maxAutoLockRenewalDurationInMs,
    retryBackoffMs = 1_000,
    maxRetryBackoffMs = 30_000,
    logger = silentLogger,
    metrics = noMetrics,
  } = options;
  const positive = (name: string, value: number, integer = false) => {
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
      throw new MessagingError(
        'INVALID_ARGUMENT',
        `${name} must be a positive ${integer ? 'integer' : 'number'}`,
      );
    }
  };
  positive('batchSize', batchSize, true);
  positive('maxWaitTimeMs', maxWaitTimeMs);
  positive('retryBackoffMs', retryBackoffMs);
  positive('maxRetryBackoffMs', maxRetryBackoffMs);

  const entity = `${topic}/${subscription}`;
  const labels = Object.freeze({ topic, subscription });
  const count = (name: string, n: number, extra?: Record<string, string>) => {
    if (n > 0) metrics.count(`messaging.drain.${name}`, n, extra ? { ...labels, ...extra } : labels);
  };

  let receiver: ServiceBusReceiver | undefined;
  let running: Promise<unknown> | undefined;
  let stopRequested = false;
  let wake: (() => void) | undefined;

  function currentReceiver(): ServiceBusReceiver {
    receiver ??= client.createReceiver(topic, subscription, {
      receiveMode: 'peekLock',
      // Bodies stay bytes: the SDK's JSON guess would turn some MessagePack payloads into numbers.
      skipParsingBodyAsJson: true,
      ...(maxAutoLockRenewalDurationInMs !== undefined ? { maxAutoLockRenewalDurationInMs } : {}),
    });
    return receiver;
  }

  async function receive(waitMs: number): Promise<ServiceBusReceivedMessage[]> {
    try {
      return await currentReceiver().receiveMessages(batchSize, {
        maxWaitTimeInMs: Math.max(1, Math.round(waitMs)),
      });
    } catch (error) {
      count('receive_failed', 1);
      throw toMessagingError(error, `receive from ${entity}`);
    }
  }

  async function handleBatch(messages: readonly ServiceBusReceivedMessage[]): Promise<Tally> {
    const batch = messages.map(toReceivedBatchMessage);
    const raw = new Map(batch.map((m, i) => [m, messages[i]!]));
    count('batches', 1);
    count('received', batch.length);
    let plan: SettlementPlan;
    let handlerFailed = false;
    try {
      const outcome: unknown = await handler(batch);
      if (!isBatchOutcome(outcome)) {
        throw new MessagingError('INVALID_ARGUMENT', 'the handler must return { processed, poison? }');
      }
      plan = planSettlement(batch, outcome);
      if (plan.foreign > 0 || plan.conflicting > 0) {
        logger.warn(
          { entity, foreign: plan.foreign, conflicting: plan.conflicting },
          'batch outcome names messages outside the batch (ignored) or both processed and poison (completed)',
        );
      }
    } catch (error) {
      handlerFailed = true;
      count('handler_failed', 1);
      logger.error(
        { entity, err: error, messages: batch.length },
        'batch handler threw: abandoning the whole batch',
      );
      plan = { complete: [], deadLetter: [], abandon: batch, foreign: 0, conflicting: 0 };
    }

    const r = currentReceiver();
    const settle = async (outcome: string, message: ReceivedBatchMessage, op: () => Promise<void>) => {
      try {
        await op();
        return true;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        count('settle_failed', 1, { outcome });
        logger.warn(
          { entity, outcome, messageId: message.messageId, code, err: error },
          code === 'MessageLockLost'
            ? 'lock lost before settlement: the message will be delivered again'
            : 'settlement failed: the message will be delivered again once its lock expires',
        );
        return false;
      }
    };
    // One outcome at a time. rhea 3.0.5 (under the SDK) merges the dispositions of consecutive deliveries written
    // in the same tick into one range without comparing the second one's outcome with the first's: an abandon or
    // a dead-letter settled together with a completion of the previous delivery became a completion (the message
    // was lost), and a second dead-letter took the first one's reason. Completions are all alike, and so are
    // abandons, so each of those groups still goes out concurrently, in one round trip; dead-letters carry their
    // own reasons and go one by one (poison is rare).
    const completed = await Promise.all(
      plan.complete.map((m) => settle('complete', m, () => r.completeMessage(raw.get(m)!))),
    );
    const deadLettered: boolean[] = [];
    for (const p of plan.deadLetter) {
      deadLettered.push(
        await settle('dead_letter', p.message, () =>
          r.deadLetterMessage(raw.get(p.message)!, {
            deadLetterReason: p.reason,
            deadLetterErrorDescription: p.description,
          }),
        ),
      );
    }
    const abandoned = await Promise.all(
      plan.abandon.map((m) => settle('abandon', m, () => r.abandonMessage(raw.get(m)!))),
    );
    const ok = (results: boolean[]) => results.filter(Boolean).length;
    const tally: Tally = {
      received: batch.length,
      completed: ok(completed),
      deadLettered: ok(deadLettered),
      abandoned: ok(abandoned),
      settleFailed: [completed, deadLettered, abandoned].flat().filter((x) => !x).length,
      handlerFailed,
      allSettledFinally: ok(completed) + ok(deadLettered) === batch.length,
    };
    count('completed', tally.completed);
    count('dead_lettered', tally.deadLettered);
    count('abandoned', tally.abandoned);
    return tally;
  }

  function claim() {
    if (running) throw new MessagingError('BUSY', `a drain or the subscriber loop already runs on ${entity}`);
    stopRequested = false;
  }

  async function drainLoop({ budgetMs, abortSignal }: DrainOptions): Promise<DrainResult> {
    const deadline = performance.now() + budgetMs;
    const totals = { batches: 0, received: 0, completed: 0, abandoned: 0, deadLettered: 0, settleFailed: 0 };
    const done = (stoppedBecause: DrainResult['stoppedBecause']): DrainResult => ({
      ...totals,
      stoppedBecause,
    });
    for (;;) {
      if (stopRequested || abortSignal?.aborted) return done('aborted');
      const remaining = deadline - performance.now();
      if (remaining <= 0) return done('budget');
      const wait = Math.min(maxWaitTimeMs, remaining);
      const messages = await receive(wait);
      if (messages.length === 0) {
        if (stopRequested || abortSignal?.aborted) return done('aborted');
        return done(wait < maxWaitTimeMs ? 'budget' : 'empty');
      }
      const tally = await handleBatch(messages);
      totals.batches++;
      totals.received += tally.received;
      totals.completed += tally.completed;
      totals.abandoned += tally.abandoned;
      totals.deadLettered += tally.deadLettered;
      totals.settleFailed += tally.settleFailed;
      if (tally.handlerFailed) return done('handler-failed');
      // A short batch means the SDK waited and nothing more came: the subscription is empty, unless some of
      // this batch were abandoned (they are available again at once).
      if (messages.length < batchSize && tally.allSettledFinally) return done('empty');
    }
  }

  async function subscriberLoop(): Promise<void> {
    let backoff = 0;
    while (!stopRequested) {
      try {
        const messages = await receive(maxWaitTimeMs);
        if (messages.length > 0) {
          const tally = await handleBatch(messages);
          backoff = tally.handlerFailed ? nextBackoff(backoff) : 0;
        }
      } catch (error) {
        // Nothing may end this loop but stop(): a silently dead subscriber is an outage nobody sees.
        logger.error({ entity, err: error }, 'receiving failed: retrying after a pause');
        backoff = nextBackoff(backoff);
      }
      if (backoff > 0 && !stopRequested) await pause(backoff);
    }
  }

  function nextBackoff(current: number): number {
    return current === 0 ? retryBackoffMs : Math.min(current * 2, maxRetryBackoffMs);
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = finish;
    });
  }

  async function stop(): Promise<void> {
    stopRequested = true;
    wake?.();
    await running?.catch(() => {});
  }

  return {
    async drain(drainOptions) {
      const { budgetMs } = drainOptions;
      positive('budgetMs', budgetMs);
      claim();
      const run = drainLoop(drainOptions);
      running = run;
      try {
        return await run;
      } finally {
        running = undefined;
      }
    },
    start() {
      claim();
      logger.info({ entity, batchSize }, 'subscriber loop starting');
      running = subscriberLoop().finally(() => {
        running = undefined;
        logger.info({ entity }, 'subscriber loop stopped');
      });
    },
    stop,
    async close() {
      await stop();
      const r = receiver;
      receiver = undefined;
      await r?.close();
    },
  };
}

function toReceivedBatchMessage(m: ServiceBusReceivedMessage): ReceivedBatchMessage {
  return {
    messageId: m.messageId === undefined ? undefined : messageIdText(m.messageId),
    body: toBytes(m.body),
    contentType: m.contentType,
    subject: m.subject,
    applicationProperties: m.applicationProperties ?? {},
    deliveryCount: m.deliveryCount ?? 0,
    enqueuedAt: m.enqueuedTimeUtc,
    sequenceNumber: m.sequenceNumber === undefined ? undefined : BigInt(m.sequenceNumber.toString()),
  };
}

function messageIdText(id: string | number | Buffer): string {
  return Buffer.isBuffer(id) ? id.toString('hex') : String(id);
}

/** Data-section bodies arrive as Buffers; a foreign producer's AMQP value body is turned into JSON bytes. */
function toBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body) ?? '', 'utf8');
}
