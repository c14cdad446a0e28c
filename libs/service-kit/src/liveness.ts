// Liveness as named heartbeats. Each long-running part of a service (a drain loop, a cron tick) registers a
// heartbeat with the longest silence that is still healthy and beats while it works; `/healthz` fails when any
// heartbeat is older than its max age, and the orchestrator restarts the process. That is how a stuck loop, a
// dead consumer or a wedged timer becomes a restart instead of a silent outage.
//
// A built-in `event-loop` heartbeat is beaten by a 1 s timer: when the loop is so busy that its timers run late
// by more than the max age (10 s by default), the heartbeat goes stale and `/healthz` says so. A loop blocked for
// good cannot answer the probe at all; then the probe's own timeout fails it, which ends the same way (restart).
// The timer is unref'd: it never keeps a process alive.

export interface StaleHeartbeat {
  readonly name: string;
  /** Milliseconds since the last beat. */
  readonly ageMs: number;
  readonly maxAgeMs: number;
}

export interface LivenessReport {
  readonly ok: boolean;
  readonly stale: readonly StaleHeartbeat[];
}

export interface Liveness {
  /** Adds a heartbeat, beaten now. Registering a name again changes its max age. */
  register(name: string, maxAgeMs: number): void;
  /** Records that `name` is alive now. Throws for a name never registered (a programming error). */
  beat(name: string): void;
  /** Removes a heartbeat (a part that stopped on purpose). */
  unregister(name: string): void;
  check(now?: number): LivenessReport;
  /** Stops the event-loop timer (at shutdown; heartbeats remain checkable). */
  stop(): void;
}

export interface LivenessOptions {
  readonly clock?: { now(): number };
  /** The built-in event-loop heartbeat; `false` to leave it out. */
  readonly eventLoop?: false | { readonly intervalMs?: number; readonly maxAgeMs?: number };
}

export const EVENT_LOOP_HEARTBEAT = 'event-loop';

export function createLiveness(options: LivenessOptions = {}): Liveness {
  const clock = options.clock ?? Date;
  const heartbeats = new Map<string, { last: number; maxAgeMs: number }>();
  let timer: NodeJS.Timeout | undefined;

  const liveness: Liveness = {
    register(name, maxAgeMs) {
      if (!(maxAgeMs > 0)) throw new RangeError(`heartbeat ${name}: maxAgeMs must be positive`);
      heartbeats.set(name, { last: clock.now(), maxAgeMs });
    },
    beat(name) {
      const heartbeat = heartbeats.get(name);
      if (!heartbeat) throw new Error(`heartbeat ${name} was never registered`);
      heartbeat.last = clock.now();
    },
    unregister(name) {
      heartbeats.delete(name);
    },
    check(now = clock.now()) {
      const stale: StaleHeartbeat[] = [];
      for (const [name, { last, maxAgeMs }] of heartbeats) {
        const ageMs = now - last;
        if (ageMs > maxAgeMs) stale.push({ name, ageMs, maxAgeMs });
      }
      return { ok: stale.length === 0, stale };
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };

  if (options.eventLoop !== false) {
    const intervalMs = options.eventLoop?.intervalMs ?? 1_000;
    liveness.register(EVENT_LOOP_HEARTBEAT, options.eventLoop?.maxAgeMs ?? 10 * intervalMs);
    timer = setInterval(() => liveness.beat(EVENT_LOOP_HEARTBEAT), intervalMs).unref();
  }
  return liveness;
}
