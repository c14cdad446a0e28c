// Where accepted pushes go, as the receiver sees it: one call that resolves only once the whole push is durably
// accepted. The receiver answers 202 after it resolves and 503 when it rejects, so an acknowledged push is never
// lost. The real sink is Service Bus (service-bus-push-sink.ts); tests use an in-memory one.

import type { VendorRecord } from '@transit-fusion/model';

/** One accepted push, as it travels to the collector. */
export interface VendorPush {
  /** Unique per push; the message id on Service Bus (with a part suffix when split). */
  readonly pushId: string;
  readonly vendorId: string;
  /** When the receiver got it, epoch milliseconds. */
  readonly receivedAt: number;
  readonly records: readonly VendorRecord[];
}

export interface PushSendOptions {
  /** Fires when the receiver stops waiting (send timeout); the push may or may not have been accepted. */
  readonly abortSignal?: AbortSignal;
}

export interface PushSink {
  /** Resolves once the broker accepted every message of the push; rejects otherwise (nothing is retried here). */
  send(push: VendorPush, options?: PushSendOptions): Promise<void>;
  /**
   * A cheap round trip to the broker for readiness while no pushes come in; resolves when it is reachable.
   * Optional: without it readiness follows the outcome of sends alone.
   */
  probe?(options?: PushSendOptions): Promise<void>;
}
