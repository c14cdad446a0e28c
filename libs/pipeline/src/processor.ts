// Pipes & filters: a processor is a named step over a batch of fused vehicles. The engine runs them in the
// explicit order of a PipelineSteps list; adding one is one file under processors/ and one line in steps.ts.

import type { TransportType, Vehicle } from '@transit-fusion/model';

export interface ProcessContext {
  /** The snapshot being composed. */
  readonly sequence: number;
  /** Composition time (epoch ms) from the engine's clock: every step judges age against the same instant. */
  readonly now: number;
  /** Adds to a named counter in the compose report (e.g. `filter-invalid-positions.removed`). */
  count(counter: string, n?: number): void;
}

export type ProcessResult = Vehicle[] | void;

export interface Processor {
  readonly name: string;
  /**
   * Per-transport-type stage only: the types this processor applies to (all when absent).
   * Ignored in the common pre- and post-processing stages.
   */
  readonly transportTypes?: readonly TransportType[];
  /**
   * Works on the batch in place, or returns a new array to replace it (to drop vehicles).
   * May be async (calibration lookups); per-type chains for different types run concurrently.
   * Judge time by `context.now`, never the wall clock: the composer composes a tick a few hundred milliseconds
   * ahead of its scheduled second when it can (decision 0017), and the result must be what the tick would give.
   */
  process(vehicles: Vehicle[], context: ProcessContext): ProcessResult | Promise<ProcessResult>;
}

/** The composer's step lists, each run in order. */
export interface PipelineSteps {
  readonly pre: readonly Processor[];
  readonly perType: readonly Processor[];
  readonly post: readonly Processor[];
}
