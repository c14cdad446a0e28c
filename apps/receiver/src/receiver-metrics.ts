// The receiver's Prometheus series. Vendor labels only ever hold configured vendor ids (unknown vendors count as
// `unknown`), so an attacker cannot blow up the series count with made-up paths.

import type { Metrics } from '@transit-fusion/service-kit';

export type RejectReason =
  | 'unknown_vendor'
  | 'unsupported_media_type'
  | 'missing_credentials'
  | 'stale_timestamp'
  | 'bad_credentials'
  | 'rate_limited'
  | 'too_large'
  | 'too_many_records'
  | 'invalid'
  | 'broker_unavailable';

export interface ReceiverMetrics {
  accepted(vendor: string, records: number): void;
  rejected(vendor: string, reason: RejectReason): void;
  /** One send to the broker: its duration and whether it was accepted. */
  sent(seconds: number, outcome: 'accepted' | 'failed'): void;
  brokerUp(up: boolean): void;
}

export function createReceiverMetrics(metrics: Metrics): ReceiverMetrics {
  const pushes = metrics.counter({
    name: 'receiver_pushes_accepted_total',
    help: 'Pushes answered 202: Service Bus accepted every message of the push.',
    labelNames: ['vendor'],
  });
  const records = metrics.counter({
    name: 'receiver_records_accepted_total',
    help: 'Records in pushes answered 202.',
    labelNames: ['vendor'],
  });
  const rejected = metrics.counter({
    name: 'receiver_pushes_rejected_total',
    help: 'Pushes not accepted, by reason (the HTTP status follows from it).',
    labelNames: ['vendor', 'reason'],
  });
  const send = metrics.histogram({
    name: 'receiver_broker_send_seconds',
    help: 'Time until Service Bus accepted (or failed) the messages of one push.',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const up = metrics.gauge({
    name: 'receiver_broker_up',
    help: '1 while the last contact with Service Bus succeeded, else 0.',
  });
  return {
    accepted(vendor, count) {
      pushes.inc({ vendor });
      records.inc({ vendor }, count);
    },
    rejected: (vendor, reason) => rejected.inc({ vendor, reason }),
    sent: (seconds, outcome) => send.observe({ outcome }, seconds),
    brokerUp: (isUp) => up.set(isUp ? 1 : 0),
  };
}
