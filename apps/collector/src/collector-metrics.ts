// The collector's Prometheus series, labelled by collector (a vendor id, or push vendors joined with `+`) and,
// for what a tick got out of each vendor, by vendor. Labels only ever hold configured ids and fixed codes.

import type { Metrics } from '@transit-fusion/service-kit';
import type { VendorTickReport } from './collector.js';

export interface CollectorMetrics {
  tick(collector: string, outcome: 'success' | 'failure', seconds: number): void;
  skip(collector: string): void;
  failure(collector: string, code: string): void;
  tickStartDrift(collector: string, seconds: number): void;
  lastSuccess(collector: string, epochSeconds: number): void;
  vendorReport(report: VendorTickReport): void;
}

export function createCollectorMetrics(metrics: Metrics): CollectorMetrics {
  const ticks = metrics.counter({
    name: 'collector_ticks_total',
    help: 'Ticks run, by outcome (success, failure).',
    labelNames: ['collector', 'outcome'],
  });
  const skips = metrics.counter({
    name: 'collector_ticks_skipped_total',
    help: 'Scheduled ticks skipped because the previous tick of the same collector was still running.',
    labelNames: ['collector'],
  });
  const failures = metrics.counter({
    name: 'collector_failures_total',
    help: 'Failed ticks by error code (FETCH_FAILED, HTTP_STATUS, MALFORMED_FEED, BUDGET_EXCEEDED, STORAGE_FAILED…).',
    labelNames: ['collector', 'code'],
  });
  const duration = metrics.histogram({
    name: 'collector_tick_duration_seconds',
    help: 'Tick duration, from start to saved (or failed).',
    labelNames: ['collector', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 0.8, 1, 2.5, 5],
  });
  const drift = metrics.histogram({
    name: 'collector_tick_start_drift_seconds',
    help: 'How late each scheduled tick started after its scheduled time.',
    labelNames: ['collector'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  });
  const lastSuccess = metrics.gauge({
    name: 'collector_last_success_timestamp_seconds',
    help: 'When the collector last ended a tick successfully (staleness = time() - this).',
    labelNames: ['collector'],
  });
  const snapshots = metrics.counter({
    name: 'collector_snapshots_saved_total',
    help: 'Vendor snapshots saved.',
    labelNames: ['vendor'],
  });
  const notModified = metrics.counter({
    name: 'collector_not_modified_total',
    help: 'Polls answered 304 Not Modified (nothing downloaded or saved).',
    labelNames: ['vendor'],
  });
  const records = metrics.counter({
    name: 'collector_records_total',
    help: 'Records in the vendor snapshots saved.',
    labelNames: ['vendor'],
  });
  const rejected = metrics.counter({
    name: 'collector_records_rejected_total',
    help: 'Feed entities or pushed records that did not become records, by reason.',
    labelNames: ['vendor', 'reason'],
  });
  const bytes = metrics.counter({
    name: 'collector_bytes_total',
    help: 'Bytes received from vendors (direction=in, on the wire) and stored as vendor snapshots (direction=saved).',
    labelNames: ['vendor', 'direction'],
  });

  return {
    tick(collector, outcome, seconds) {
      ticks.inc({ collector, outcome });
      duration.observe({ collector, outcome }, seconds);
    },
    skip: (collector) => skips.inc({ collector }),
    failure: (collector, code) => failures.inc({ collector, code }),
    tickStartDrift: (collector, seconds) => drift.observe({ collector }, seconds),
    lastSuccess: (collector, epochSeconds) => lastSuccess.set({ collector }, epochSeconds),
    vendorReport(report) {
      const vendor = report.vendorId;
      if (report.outcome === 'saved') {
        snapshots.inc({ vendor });
        records.inc({ vendor }, report.records);
      } else if (report.outcome === 'not-modified') {
        notModified.inc({ vendor });
      }
      for (const [reason, n] of Object.entries(report.rejected)) rejected.inc({ vendor, reason }, n);
      if (report.bytesIn > 0) bytes.inc({ vendor, direction: 'in' }, report.bytesIn);
      if (report.bytesSaved > 0) bytes.inc({ vendor, direction: 'saved' }, report.bytesSaved);
    },
  };
}
