import { MessagingError, type MessageSender, type OutgoingMessage } from './index.js';
import { describe, expect, it } from 'vitest';
import { createCoalescingSender } from './coalescing-sender.js';

/** An in-memory MessageSender: records each send, can hold sends until released and fail them. */
function fakeSender() {
  const calls: string[][] = [];
  const gates: (() => void)[] = [];
  let holding = false;
  let failure: ((messages: readonly OutgoingMessage[]) => Error) | undefined;
  const sender: MessageSender = {
    async send(input) {
      const messages = Array.isArray(input) ? input : [input as OutgoingMessage];
      calls.push(messages.map((m) => m.messageId!));
      if (holding) await new Promise<void>((resolve) => gates.push(resolve));
      if (failure) throw failure(messages);
    },
    close: async () => {},
  };
  return {
    sender,
    calls,
    hold: () => void (holding = true),
    releaseAll: () => {
      holding = false;
      gates.splice(0).forEach((release) => release());
    },
    failWith: (f: typeof failure) => void (failure = f),
  };
}

const msg = (id: string, bytes = 10): OutgoingMessage => ({ messageId: id, body: Buffer.alloc(bytes) });
const settle = (p: Promise<void>) =>
  p.then(
    () => 'ok',
    (e: MessagingError) => e.code,
  );
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('createCoalescingSender', () => {
  it('sends at once while below maxInFlight', async () => {
    const fake = fakeSender();
    const sender = createCoalescingSender(fake.sender, { maxInFlight: 2 });
    await sender.send([msg('a')]);
    await sender.send([msg('b'), msg('c')]);
    expect(fake.calls).toEqual([['a'], ['b', 'c']]);
  });

  it('groups sends that arrive while the slots are busy, and resolves each after its group', async () => {
    const fake = fakeSender();
    const sender = createCoalescingSender(fake.sender, { maxInFlight: 1 });
    fake.hold();
    const first = sender.send([msg('a')]);
    const waiting = [sender.send([msg('b')]), sender.send([msg('c1'), msg('c2')]), sender.send([msg('d')])];
    await tick();
    expect(fake.calls).toEqual([['a']]);
    fake.releaseAll();
    await first;
    await Promise.all(waiting);
    expect(fake.calls).toEqual([['a'], ['b', 'c1', 'c2', 'd']]);
  });

  it('keeps groups within maxGroupBytes (a larger send goes alone)', async () => {
    const fake = fakeSender();
    const sender = createCoalescingSender(fake.sender, { maxInFlight: 1, maxGroupBytes: 100 });
    fake.hold();
    const all = [
      sender.send([msg('busy')]),
      sender.send([msg('a', 60)]),
      sender.send([msg('b', 30)]),
      sender.send([msg('c', 30)]),
      sender.send([msg('huge', 500)]),
    ];
    await tick();
    fake.releaseAll();
    // Released groups are held again until released: keep releasing while they arrive.
    for (let i = 0; i < 5; i++) {
      await tick();
      fake.releaseAll();
    }
    await Promise.all(all);
    expect(fake.calls).toEqual([['busy'], ['a', 'b'], ['c'], ['huge']]);
  });

  it('after a partial failure, resolves exactly the callers whose messages were all accepted', async () => {
    const fake = fakeSender();
    const sender = createCoalescingSender(fake.sender, { maxInFlight: 1 });
    fake.hold();
    const busy = sender.send([msg('busy')]);
    const a = settle(sender.send([msg('a')]));
    const b = settle(sender.send([msg('b1'), msg('b2')]));
    const c = settle(sender.send([msg('c')]));
    await tick();
    // The group [a, b1, b2, c] fails after its first two messages were accepted.
    fake.failWith((messages) =>
      messages.length > 1
        ? new MessagingError('UNAVAILABLE', 'link lost', { acceptedCount: 2 })
        : new MessagingError('UNAVAILABLE', 'x'),
    );
    fake.releaseAll();
    await settle(busy);
    await tick();
    fake.releaseAll();
    expect(await Promise.all([a, b, c])).toEqual(['ok', 'UNAVAILABLE', 'UNAVAILABLE']);
  });

  it('drops a caller whose signal fires while it waits (nothing of it is sent)', async () => {
    const fake = fakeSender();
    const sender = createCoalescingSender(fake.sender, { maxInFlight: 1 });
    fake.hold();
    const busy = sender.send([msg('busy')]);
    const controller = new AbortController();
    const aborted = settle(sender.send([msg('late')], { abortSignal: controller.signal }));
    const other = sender.send([msg('other')]);
    controller.abort();
    expect(await aborted).toBe('ABORTED');
    fake.releaseAll();
    await busy;
    await tick();
    fake.releaseAll();
    await other;
    expect(fake.calls).toEqual([['busy'], ['other']]);
    expect(await settle(sender.send([msg('x')], { abortSignal: AbortSignal.abort() }))).toBe('ABORTED');
  });
});
