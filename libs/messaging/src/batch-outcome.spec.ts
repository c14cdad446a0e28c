import { describe, expect, it } from 'vitest';
import { isBatchOutcome, planSettlement, type ReceivedBatchMessage } from './batch-outcome.js';

function message(id: string): ReceivedBatchMessage {
  return {
    messageId: id,
    body: Buffer.from(id),
    contentType: undefined,
    subject: undefined,
    applicationProperties: {},
    deliveryCount: 0,
    enqueuedAt: undefined,
    sequenceNumber: undefined,
  };
}

const batch = ['a', 'b', 'c', 'd', 'e'].map(message);
type M = ReceivedBatchMessage;
const [a, b, c, d, e] = batch as [M, M, M, M, M];

describe('planSettlement', () => {
  it('completes the processed, dead-letters the poison and abandons every other message, in batch order', () => {
    const plan = planSettlement(batch, {
      processed: [c, a],
      poison: [{ message: d, reason: 'invalid-payload', description: 'no vehicle id' }],
    });
    expect(plan.complete).toEqual([a, c]);
    expect(plan.deadLetter).toEqual([
      { message: d, reason: 'invalid-payload', description: 'no vehicle id' },
    ]);
    expect(plan.abandon).toEqual([b, e]);
    expect(plan).toMatchObject({ foreign: 0, conflicting: 0 });
  });

  it('abandons everything when nothing was processed', () => {
    expect(planSettlement(batch, { processed: [] }).abandon).toEqual(batch);
  });

  it('settles each message once: duplicates collapse, processed wins over poison, strangers are counted and ignored', () => {
    const stranger = message('x');
    const plan = planSettlement(batch, {
      processed: [a, a, stranger],
      poison: [
        { message: a, reason: 'r', description: 'd' },
        { message: b, reason: 'r1', description: 'd1' },
        { message: b, reason: 'r2', description: 'd2' },
        { message: stranger, reason: 'r', description: 'd' },
      ],
    });
    expect(plan.complete).toEqual([a]);
    expect(plan.deadLetter).toEqual([{ message: b, reason: 'r1', description: 'd1' }]);
    expect(plan.abandon).toEqual([c, d, e]);
    expect(plan).toMatchObject({ foreign: 2, conflicting: 1 });
  });

  it('matches messages by identity, not by id (a redelivered copy is another message)', () => {
    const copy = message('a');
    expect(planSettlement(batch, { processed: [copy] })).toMatchObject({ complete: [], foreign: 1 });
  });

  it('cuts a long dead-letter description and reason to what fits in the message header', () => {
    const plan = planSettlement([a], {
      processed: [],
      poison: [{ message: a, reason: 'r'.repeat(1_000), description: 'x'.repeat(10_000) }],
    });
    expect(plan.deadLetter[0]!.description).toHaveLength(1_024);
    expect(plan.deadLetter[0]!.reason).toHaveLength(256);
  });
});

describe('isBatchOutcome', () => {
  it.each([
    [{ processed: [] }, true],
    [{ processed: [], poison: [] }, true],
    [undefined, false],
    [[], false],
    [{ processed: 'all' }, false],
    [{ processed: [], poison: {} }, false],
  ])('%j → %s', (value, expected) => expect(isBatchOutcome(value)).toBe(expected));
});
