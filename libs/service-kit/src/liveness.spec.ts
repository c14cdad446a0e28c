import { afterEach, describe, expect, it } from 'vitest';
import { createLiveness, EVENT_LOOP_HEARTBEAT, type Liveness } from './liveness.js';

let liveness: Liveness | undefined;
afterEach(() => liveness?.stop());

describe('createLiveness', () => {
  it('is healthy while every heartbeat beats within its max age', () => {
    let now = 1_000;
    liveness = createLiveness({ clock: { now: () => now }, eventLoop: false });
    liveness.register('drain', 5_000);
    liveness.register('tick', 2_000);
    now = 2_900;
    liveness.beat('tick');
    now = 4_800;
    expect(liveness.check()).toEqual({ ok: true, stale: [] });
    liveness.beat('tick');
    now = 6_100;
    expect(liveness.check()).toEqual({
      ok: false,
      stale: [{ name: 'drain', ageMs: 5_100, maxAgeMs: 5_000 }],
    });
    liveness.beat('drain');
    expect(liveness.check().ok).toBe(true);
    // check(now) takes the time to judge by.
    expect(liveness.check(7_000).stale).toEqual([{ name: 'tick', ageMs: 2_200, maxAgeMs: 2_000 }]);
  });

  it('rejects beats of names never registered, and forgets unregistered ones', () => {
    liveness = createLiveness({ eventLoop: false });
    expect(() => liveness!.beat('nope')).toThrow(/never registered/);
    liveness.register('x', 1);
    liveness.unregister('x');
    expect(liveness.check(Date.now() + 10_000).ok).toBe(true);
  });

  it('has an event-loop heartbeat that goes stale while the loop is blocked', async () => {
    liveness = createLiveness({ eventLoop: { intervalMs: 20, maxAgeMs: 100 } });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(liveness.check().ok).toBe(true);
    // Block the loop: the 20 ms timer cannot beat.
    const until = Date.now() + 150;
    while (Date.now() < until);
    expect(liveness.check().stale.map((s) => s.name)).toEqual([EVENT_LOOP_HEARTBEAT]);
    // Once the loop runs again, the timer beats and the heartbeat is fresh.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(liveness.check().ok).toBe(true);
  });
});
