// What the scheduler runs: a collector is one unit of scheduled work (a pull vendor's feed, or one Service Bus
// subscription's push vendors) that does one tick at a time under an AbortSignal and reports what it did.

/** What one vendor got out of a tick. */
export interface VendorTickReport {
  readonly vendorId: string;
  /** `saved`: a new vendor snapshot was stored; `not-modified`: the feed had not changed (HTTP 304), nothing
   * was stored; `idle`: nothing to do (no push arrived). */
  readonly outcome: 'saved' | 'not-modified' | 'idle';
  /** Records in the saved snapshot. */
  readonly records: number;
  /** Entities of the feed (or pushed records) that did not become records, by reason (a vendors-lib
   * RejectionCode, or a push collector's own: OVER_CAPACITY). */
  readonly rejected: Readonly<Record<string, number>>;
  /** Bytes received from the vendor (on the wire) and bytes of the stored snapshot. */
  readonly bytesIn: number;
  readonly bytesSaved: number;
  readonly sequence?: number;
}

export interface TickReport {
  readonly vendors: readonly VendorTickReport[];
}

export interface Collector {
  /** The metric label and heartbeat name: the vendor id, or the push vendors' ids joined with `+`. */
  readonly name: string;
  readonly vendorIds: readonly string[];
  /** One tick; throws CollectorError. Must give up soon after `signal` aborts. */
  tick(signal: AbortSignal): Promise<TickReport>;
  /** Releases what the collector holds (receive links); the scheduler has stopped calling tick. */
  close(): Promise<void>;
}
