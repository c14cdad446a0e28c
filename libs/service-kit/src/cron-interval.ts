// The interval of a seconds-resolution cron schedule, as services check it at start-up (a tick budget must be
// shorter) and size their liveness from it: the gap between the pattern's next two runs.

import { Cron } from 'croner';

/** Milliseconds between the pattern's next two runs, or a message saying why the pattern is unusable. */
export function cronIntervalMs(pattern: string): number | string {
  let job: Cron | undefined;
  try {
    job = new Cron(pattern, { paused: true, mode: '6-part' });
    const [a, b] = job.nextRuns(2);
    if (!a || !b) return `schedule ${JSON.stringify(pattern)} never runs again`;
    return b.getTime() - a.getTime();
  } catch (error) {
    return `schedule ${JSON.stringify(pattern)} is not a six-field (seconds) cron pattern: ${(error as Error).message}`;
  } finally {
    job?.stop();
  }
}
