// Leader election on a real blob lease (Azurite): one leader at a time, fenced claims, hand-over on release, and
// take-over from a leader that went silent (crashed) without waiting out the 15 s lease.

import { describe, expect, it } from 'vitest';
import { freshStorage } from '../test/azurite.js';
import { createLeaderLease } from './leader-lease.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pair() {
  const { clients, container } = await freshStorage('lease');
  const make = (instanceId: string) =>
    createLeaderLease({ clients, container, blob: 'composer-leader', instanceId, takeoverAfterMs: 300 });
  return { a: make('a'), b: make('b'), make };
}

describe('leader lease', () => {
  it('elects one leader; the other stays a follower while the leader keeps claiming', async () => {
    const { a, b } = await pair();
    expect(await a.check()).toMatchObject({ role: 'leader', lastSequence: 0, tookOver: false });
    expect(await b.check()).toEqual({ role: 'follower' });
    for (let sequence = 1; sequence <= 4; sequence++) {
      expect(await a.claim(sequence, Date.now())).toBe(true);
      await sleep(120);
      expect(await a.check()).toMatchObject({ role: 'leader' });
      expect(await b.check()).toEqual({ role: 'follower' });
    }
    expect(b.isLeader).toBe(false);
    expect(await b.claim(99, Date.now())).toBe(false);
  });

  it('hands over on release: the follower leads on its next check and continues the sequence', async () => {
    const { a, b } = await pair();
    await a.check();
    expect(await a.claim(7, Date.now())).toBe(true);
    await b.check();
    await a.release();
    expect(await b.check()).toMatchObject({ role: 'leader', lastSequence: 7, tookOver: false });
    expect(await b.claim(8, Date.now())).toBe(true);
  });

  it('takes over from a silent leader by breaking its lease, and fences the old leader out', async () => {
    const { a, b } = await pair();
    await a.check();
    expect(await a.claim(41, Date.now())).toBe(true);
    // a "crashes": no more claims. b notices the claims stopped, then takes over long before 15 s.
    expect(await b.check()).toEqual({ role: 'follower' });
    await sleep(350);
    const started = Date.now();
    expect(await b.check()).toMatchObject({ role: 'leader', lastSequence: 41, tookOver: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await b.claim(42, Date.now())).toBe(true);
    // a wakes up and tries to store its next tick: the claim is refused, so it stores nothing.
    expect(await a.claim(42, Date.now())).toBe(false);
    expect(a.isLeader).toBe(false);
    expect(await a.check()).toEqual({ role: 'follower' });
  });
});
