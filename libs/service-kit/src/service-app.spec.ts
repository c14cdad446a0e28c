import { afterEach, describe, expect, it } from 'vitest';
import { createLiveness } from './liveness.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createServiceApp, type ReadinessReport, type ServiceApp } from './service-app.js';

let app: ServiceApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function build(options: { readiness?: () => Promise<ReadinessReport>; now?: () => number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const metrics = createMetrics({ service: 'test' });
  const liveness = createLiveness({ eventLoop: false, clock: { now: options.now ?? Date.now } });
  app = createServiceApp({
    service: 'test',
    logger,
    registry: metrics.registry,
    liveness,
    readiness: options.readiness ?? (async () => ({ ok: true, checks: { broker: 'ok' } })),
  });
  return { app, lines, metrics, liveness };
}

describe('createServiceApp', () => {
  it('answers /healthz 200 while heartbeats are fresh and 503 naming the stale ones', async () => {
    let now = 0;
    const { app, liveness } = build({ now: () => now });
    liveness.register('drain', 1_000);
    expect((await app.inject('/healthz')).json()).toEqual({ service: 'test', status: 'ok' });
    now = 1_500;
    const stale = await app.inject('/healthz');
    expect(stale.statusCode).toBe(503);
    expect(stale.json()).toEqual({
      service: 'test',
      status: 'unhealthy',
      stale: [{ name: 'drain', ageMs: 1_500, maxAgeMs: 1_000 }],
    });
  });

  it('answers /readyz from the readiness function, 503 when not ready or when it throws', async () => {
    let report: ReadinessReport | Error = { ok: true, checks: { broker: 'ok' } };
    const { app } = build({
      readiness: async () => {
        if (report instanceof Error) throw report;
        return report;
      },
    });
    expect((await app.inject('/readyz')).json()).toEqual({
      service: 'test',
      status: 'ready',
      checks: { broker: 'ok' },
    });
    report = { ok: false, checks: { broker: 'unreachable' } };
    const notReady = await app.inject('/readyz');
    expect([notReady.statusCode, notReady.json()]).toEqual([
      503,
      { service: 'test', status: 'not_ready', checks: { broker: 'unreachable' } },
    ]);
    report = new Error('boom');
    expect((await app.inject('/readyz')).statusCode).toBe(503);
  });

  it('serves the registry as Prometheus text', async () => {
    const { app, metrics } = build();
    metrics.counter({ name: 'things_total', help: 'things' }).inc();
    const response = await app.inject('/metrics');
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toContain('things_total{service="test"} 1');
    expect(response.body).toContain('nodejs_heap_size_used_bytes');
  });

  it('has no other routes, answers 404 as JSON, and lets services add routes', async () => {
    const { app } = build();
    app.get('/hello', async () => ({ hi: true }));
    expect((await app.inject('/hello')).json()).toEqual({ hi: true });
    const missing = await app.inject('/nope');
    expect([missing.statusCode, missing.json()]).toEqual([404, { error: 'not_found', message: 'Not found' }]);
  });

  it('hides 5xx details from clients but logs them', async () => {
    const { app, lines } = build();
    app.get('/fail', async () => {
      throw new Error('database password rejected');
    });
    const response = await app.inject('/fail');
    expect([response.statusCode, response.json()]).toEqual([
      500,
      { error: 'internal_error', message: 'Internal Server Error' },
    ]);
    expect(lines.find((l) => l.msg === 'request failed')).toMatchObject({
      level: 'error',
      err: { message: 'database password rejected' },
    });
  });

  it('logs one line per request, none for probes', async () => {
    const { app, lines } = build();
    app.get('/hello', async () => 'hi');
    await app.inject('/healthz');
    await app.inject('/metrics');
    await app.inject('/hello?x=1');
    expect(lines.filter((l) => l.level === 'info')).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        service: 'test',
        method: 'GET',
        url: '/hello?x=1',
        statusCode: 200,
        responseTime: expect.any(Number),
        reqId: expect.any(String),
      }),
    ]);
  });

  it('finishes in-flight requests when closing and does not wait for keep-alive connections', async () => {
    const { app: closingApp } = build();
    let release!: () => void;
    closingApp.get('/slow', () => new Promise<string>((resolve) => (release = () => resolve('done'))));
    await closingApp.listen({ host: '127.0.0.1', port: 0 });
    const { port } = closingApp.server.address() as { port: number };
    const slow = fetch(`http://127.0.0.1:${port}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    const closing = closingApp.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const response = await slow;
    expect([await response.text(), response.headers.get('connection')]).toEqual(['done', 'close']);
    await closing;
    // Not held open by the client's keep-alive connection (Node's idle timeout is 5 s).
    expect(Date.now() - started).toBeLessThan(1_000);
    app = undefined;
  });
});
