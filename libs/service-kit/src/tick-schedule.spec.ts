import { describe, expect, it } from 'vitest';
import { createTickSchedule } from './tick-schedule.js';

describe('tick schedule', () => {
  it('runs one tick at a time: a tick asked for while one runs is a skip, and waits for the running one', async () => {
    const seen: (number | undefined)[] = [];
    let skips = 0;
    let release!: () => void;
    const schedule = createTickSchedule({
      pattern: '* * * * * *',
      tick: async (scheduledAt) => {
        seen.push(scheduledAt);
        await new Promise<void>((resolve) => (release = resolve));
      },
      onSkip: () => skips++,
    });
    const first = schedule.runNow(1_000);
    const second = schedule.runNow(2_000);
    expect(second).toBe(first);
    expect(skips).toBe(1);
    expect(schedule.inFlight()).toBe(first);
    release();
    await first;
    expect(schedule.inFlight()).toBeUndefined();
    expect(seen).toEqual([1_000]);
  });

  it('fires on the schedule, telling each tick the second it was scheduled for', async () => {
    const seen: { scheduledAt: number | undefined; at: number }[] = [];
    const schedule = createTickSchedule({
      pattern: '* * * * * *',
      tick: async (scheduledAt) => void seen.push({ scheduledAt, at: Date.now() }),
      onSkip: () => {},
    });
    schedule.start();
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    schedule.stop();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const { scheduledAt, at } of seen) {
      expect(scheduledAt! % 1000).toBe(0);
      expect(at).toBeGreaterThanOrEqual(scheduledAt!);
    }
  });
});
