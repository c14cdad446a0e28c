import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('createMetrics', () => {
  it('has Node default metrics and a service label on every series', async () => {
    const metrics = createMetrics({ service: 'receiver' });
    const pushes = metrics.counter({ name: 'x_pushes_total', help: 'pushes', labelNames: ['vendor'] });
    pushes.inc({ vendor: 'acme' }, 2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('x_pushes_total{vendor="acme",service="receiver"} 2');
    expect(text).toMatch(/nodejs_eventloop_lag_seconds\{service="receiver"\}/);
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="receiver"\}/);
  });

  it('keeps registries apart (two services in one process do not collide)', async () => {
    const a = createMetrics({ service: 'a', defaultMetrics: false });
    const b = createMetrics({ service: 'b', defaultMetrics: false });
    a.histogram({ name: 'send_seconds', help: 'h', buckets: [0.1, 1] }).observe(0.05);
    b.histogram({ name: 'send_seconds', help: 'h', buckets: [0.1, 1] });
    b.gauge({ name: 'depth', help: 'g' }).set(3);
    expect(await a.registry.metrics()).toContain('send_seconds_bucket{le="0.1",service="a"} 1');
    expect(await b.registry.metrics()).toContain('depth{service="b"} 3');
  });
});
