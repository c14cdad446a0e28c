// Prometheus metrics for every service: one registry per service (never prom-client's global one, so tests and
// several apps in one process do not collide), Node's default metrics (event-loop lag, heap, GC, handles), and
// a `service` label on every series so dashboards can tell services apart behind one scrape config.

import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

export interface MetricsOptions {
  /** The `service` default label. */
  readonly service: string;
  /** Collect Node's default metrics (default true). */
  readonly defaultMetrics?: boolean;
}

type Config<C> = Omit<C, 'registers'>;

export interface Metrics {
  readonly registry: Registry;
  counter<T extends string = string>(config: Config<CounterConfiguration<T>>): Counter<T>;
  gauge<T extends string = string>(config: Config<GaugeConfiguration<T>>): Gauge<T>;
  histogram<T extends string = string>(config: Config<HistogramConfiguration<T>>): Histogram<T>;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    counter: (config) => new Counter({ ...config, registers: [registry] }),
    gauge: (config) => new Gauge({ ...config, registers: [registry] }),
    histogram: (config) => new Histogram({ ...config, registers: [registry] }),
  };
}
