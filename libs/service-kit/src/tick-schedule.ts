// One-at-a-time ticks on a seconds cron schedule, as the collector and the composer run them. croner fires at each
// scheduled second; a tick still running makes the next one a skip (reported, never stacked), whether it was due by
// the schedule or asked for by hand. Each tick is told the time it was scheduled for (croner's own next-run time
// taken before it fired), so lateness is measured against the schedule, not against when the callback ran.

import { Cron } from 'croner';

export interface TickScheduleOptions {
  readonly pattern: string;
  /** One tick; `scheduledAt` is undefined for a tick run by hand. Must not throw (report failures itself). */
  readonly tick: (scheduledAt: number | undefined) => Promise<void>;
  /** Told about every tick not started because the previous one still ran. */
  readonly onSkip: () => void;
}

export interface TickSchedule {
  /** Starts firing on the schedule (again after stop()). */
  start(): void;
  /** Stops firing; a tick in progress goes on (see {@link inFlight}). */
  stop(): void;
  /** A tick now, outside the schedule (tests, benchmarks); a skip if one is running. */
  runNow(scheduledAt?: number): Promise<void>;
  /** The tick in progress, if any. */
  inFlight(): Promise<void> | undefined;
}

export function createTickSchedule(options: TickScheduleOptions): TickSchedule {
  let cron: Cron | undefined;
  let expectedAt: number | undefined;
  let running: Promise<void> | undefined;

  function trigger(scheduledAt: number | undefined): Promise<void> {
    if (running) {
      options.onSkip();
      return running;
    }
    running = options.tick(scheduledAt).finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    start() {
      if (cron) return;
      cron = new Cron(
        options.pattern,
        {
          mode: '6-part',
          // A tick in progress blocks the next: croner calls this instead of starting it.
          protect: () => {
            options.onSkip();
            expectedAt = cron?.nextRun()?.getTime();
          },
        },
        async () => {
          const scheduledAt = expectedAt;
          expectedAt = cron?.nextRun()?.getTime();
          await trigger(scheduledAt);
        },
      );
      expectedAt = cron.nextRun()?.getTime();
    },
    stop() {
      cron?.stop();
      cron = undefined;
    },
    runNow: (scheduledAt) => trigger(scheduledAt),
    inFlight: () => running,
  };
}
