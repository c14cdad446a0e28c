// The receiver's HTTP contract through inject(), with an in-memory sink: every status code, what reaches the
// sink, and the metrics.

import { MessagingError } from '@transit-fusion/messaging';
import { afterEach, describe, expect, it } from 'vitest';
import {
  API_KEY,
  NEXT_API_KEY,
  T0,
  buildReceiver,
  fakeSink,
  hmacHeaders,
  metricValue,
  sampleRecord,
  testConfig,
  type FakeSink,
} from '../test/helpers.js';
import { signBody } from './vendor-auth.js';

type Receiver = ReturnType<typeof buildReceiver>;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.app.close();
  receiver = undefined;
});

function build(...args: Parameters<typeof buildReceiver>) {
  receiver = buildReceiver(...args);
  return receiver;
}

const acme = (payload: unknown, headers: Record<string, string> = {}) => ({
  method: 'POST' as const,
  url: '/v1/vendors/acme/records',
  headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
  payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
});

describe('POST /v1/vendors/:vendor/records', () => {
  describe('202 once the sink accepted the push', () => {
    it.each([
      ['one record object', sampleRecord(1), 1],
      ['an array', [sampleRecord(1), sampleRecord(2)], 2],
      ['{ records: [...] }', { records: [sampleRecord(1), sampleRecord(2), sampleRecord(3)] }, 3],
    ])('takes %s', async (_name, payload, count) => {
      const { app, sink, metrics } = build();
      const response = await app.inject(acme(payload));
      expect(response.statusCode).toBe(202);
      const body = response.json();
      expect(body).toEqual({ accepted: count, pushId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      const [push] = (sink as FakeSink).pushes;
      expect(push).toEqual({
        pushId: body.pushId,
        vendorId: 'acme',
        receivedAt: T0,
        records: expect.any(Array),
      });
      expect(push!.records).toHaveLength(count);
      expect(push!.records[0]).toEqual({ ...sampleRecord(1), vendorId: 'acme' });
      expect(await metricValue(metrics, 'receiver_pushes_accepted_total', { vendor: 'acme' })).toBe(1);
      expect(await metricValue(metrics, 'receiver_records_accepted_total', { vendor: 'acme' })).toBe(count);
    });

    it('takes NDJSON, skipping blank lines and CRLF endings', async () => {
      const { app, sink } = build();
      const payload = `${JSON.stringify(sampleRecord(1))}\r\n\n${JSON.stringify(sampleRecord(2))}\n`;
      const response = await app.inject(acme(payload, { 'content-type': 'application/x-ndjson' }));
      expect([response.statusCode, response.json().accepted]).toEqual([202, 2]);
      expect((sink as FakeSink).pushes[0]!.records.map((r) => r.vehicleKey)).toEqual(['bus-1', 'bus-2']);
    });

    it('accepts a vendorId equal to the path, normalises ISO times, drops unknown fields', async () => {
      const { app, sink } = build();
      const response = await app.inject(
        acme({ ...sampleRecord(1), vendorId: 'acme', observedAt: '2026-11-21T08:46:59Z', colour: 'red' }),
      );
      expect(response.statusCode).toBe(202);
      expect((sink as FakeSink).pushes[0]!.records[0]).toEqual({ ...sampleRecord(1), vendorId: 'acme' });
    });

    it('accepts any of the vendor keys (rotation) and charset=utf-8', async () => {
      const { app } = build();
      const response = await app.inject(
        acme(sampleRecord(1), {
          'x-api-key': NEXT_API_KEY,
          'content-type': 'application/json; charset=UTF-8',
        }),
      );
      expect(response.statusCode).toBe(202);
    });
  });

  describe('404 unknown vendor', () => {
    it('answers exactly like an unknown path, before looking at credentials', async () => {
      const { app, metrics } = build();
      const vendor = await app.inject({
        ...acme(sampleRecord(1), { 'x-api-key': '' }),
        url: '/v1/vendors/initech/records',
      });
      const path = await app.inject({ method: 'POST', url: '/v1/nothing-here' });
      expect(vendor.statusCode).toBe(404);
      expect(vendor.json()).toEqual(path.json());
      expect(
        await metricValue(metrics, 'receiver_pushes_rejected_total', {
          vendor: 'unknown',
          reason: 'unknown_vendor',
        }),
      ).toBe(1);
    });
  });

  describe('415 content type', () => {
    it.each(['text/plain', 'application/xml', 'application/json; charset=latin1'])(
      'refuses %s',
      async (type) => {
        const { app, sink } = build();
        const response = await app.inject(acme(sampleRecord(1), { 'content-type': type }));
        expect([response.statusCode, response.json().error]).toEqual([415, 'unsupported_media_type']);
        expect((sink as FakeSink).calls).toBe(0);
      },
    );

    it('refuses a push without a content type', async () => {
      const { app } = build();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/vendors/acme/records',
        headers: { 'x-api-key': API_KEY },
        payload: Buffer.from('{}'),
      });
      expect(response.statusCode).toBe(415);
    });
  });

  describe('API key vendors', () => {
    it('401 without x-api-key, 403 with a wrong one', async () => {
      const { app, metrics, lines } = build();
      const missing = await app.inject(acme(sampleRecord(1), { 'x-api-key': '' }));
      expect([missing.statusCode, missing.json().error]).toEqual([401, 'missing_credentials']);
      const wrong = await app.inject(acme(sampleRecord(1), { 'x-api-key': 'acme-key-0000000000000009' }));
      expect([wrong.statusCode, wrong.json().error]).toEqual([403, 'bad_credentials']);
      expect(
        await metricValue(metrics, 'receiver_pushes_rejected_total', {
          vendor: 'acme',
          reason: 'bad_credentials',
        }),
      ).toBe(1);
      expect(JSON.stringify(lines)).not.toContain('acme-key-');
    });
  });

  describe('HMAC vendors', () => {
    const globex = (body: string, headers: Record<string, string>) => ({
      method: 'POST' as const,
      url: '/v1/vendors/globex/records',
      headers,
      payload: body,
    });

    it('202 with a good signature over "<timestamp>.<body>"', async () => {
      const { app, sink } = build();
      const body = JSON.stringify([sampleRecord(1)]);
      const response = await app.inject(globex(body, hmacHeaders(body)));
      expect(response.statusCode).toBe(202);
      expect((sink as FakeSink).pushes[0]!.vendorId).toBe('globex');
    });

    it('403 when the signature is wrong or the body was changed', async () => {
      const { app, lines } = build();
      const body = JSON.stringify([sampleRecord(1)]);
      const wrongSecret = await app.inject(
        globex(body, hmacHeaders(body, undefined, 'not-the-secret-000000000')),
      );
      expect([wrongSecret.statusCode, wrongSecret.json().error]).toEqual([403, 'bad_credentials']);
      const tampered = await app.inject(globex(body.replace('bus-1', 'bus-9'), hmacHeaders(body)));
      expect(tampered.statusCode).toBe(403);
      expect(JSON.stringify(lines)).not.toMatch(/sha256=/);
    });

    it('401 when the timestamp is more than 5 minutes off, even if signed correctly', async () => {
      const { app } = build();
      const body = JSON.stringify([sampleRecord(1)]);
      const t = Math.floor(T0 / 1000);
      for (const timestamp of [t - 301, t + 301]) {
        const response = await app.inject(globex(body, hmacHeaders(body, timestamp)));
        expect([response.statusCode, response.json().error]).toEqual([401, 'stale_timestamp']);
      }
      expect((await app.inject(globex(body, hmacHeaders(body, t - 299)))).statusCode).toBe(202);
    });

    it('401 when headers are missing or malformed', async () => {
      const { app } = build();
      const body = JSON.stringify([sampleRecord(1)]);
      const good = hmacHeaders(body);
      for (const headers of [
        { 'content-type': 'application/json' },
        { ...good, 'x-timestamp': '' },
        { ...good, 'x-timestamp': 'yesterday' },
        { ...good, 'x-signature': good['x-signature'].replace('sha256=', '') },
        { ...good, 'x-signature': 'sha256=abc' },
      ]) {
        const response = await app.inject(globex(body, headers));
        expect([response.statusCode, response.json().error]).toEqual([401, 'missing_credentials']);
      }
    });

    it('signs bytes, not characters', () => {
      expect(signBody('key', '1', Buffer.from('ü'))).toBe(signBody('key', '1', 'ü'));
      // Known answer, as `printf '1.body' | openssl dgst -sha256 -hmac key` computes it.
      expect(signBody('key', '1', 'body')).toBe(
        'sha256=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5',
      );
    });
  });

  describe('400 invalid records', () => {
    it('names the invalid field with its record index', async () => {
      const { app, sink } = build();
      const records = [
        sampleRecord(0),
        sampleRecord(1),
        sampleRecord(2),
        { ...sampleRecord(3), position: { lat: 'x', lon: 1 } },
      ];
      const response = await app.inject(acme({ records }));
      expect(response.statusCode).toBe(400);
      const body = response.json();
      expect(body.error).toBe('invalid');
      expect(body.message).toMatch(/^records\[3\]\.position\.lat: .*expected number/);
      expect(body.issues).toEqual([
        { path: 'records[3].position.lat', message: expect.stringContaining('expected number') },
      ]);
      expect(body.invalidRecords).toBe(1);
      expect((sink as FakeSink).calls).toBe(0);
    });

    it('names the line of a bad NDJSON record, and of a line that is not JSON', async () => {
      const { app } = build();
      const ndjson = (lines: string[]) => acme(lines.join('\n'), { 'content-type': 'application/x-ndjson' });
      const bad = await app.inject(
        ndjson([
          JSON.stringify(sampleRecord(1)),
          JSON.stringify(sampleRecord(2)),
          JSON.stringify({ ...sampleRecord(3), observedAt: 1_700_000_000 }),
        ]),
      );
      expect([bad.statusCode, bad.json().issues[0].path]).toEqual([400, 'line 3: observedAt']);
      expect(bad.json().message).toMatch(/^line 3: observedAt: .*seconds/);
      const notJson = await app.inject(ndjson([JSON.stringify(sampleRecord(1)), '{"vehicleKey": ']));
      expect(notJson.json().issues).toEqual([{ path: 'line 2', message: 'is not valid JSON' }]);
    });

    it.each([
      ['a body that is not JSON', '{"records": [', /^body is not valid JSON$/],
      ['an empty push', { records: [] }, /no records/],
      ['records that is not an array', { records: {} }, /^records: must be an array$/],
      [
        'a record of another vendor',
        { ...sampleRecord(1), vendorId: 'globex' },
        /^vendorId: must be the vendor in the path/,
      ],
      ['a record without a key', { observedAt: T0 }, /^vehicleKey: /],
      ['a scalar', '42', /must be a record object/],
    ])('rejects %s', async (_name, payload, message) => {
      const { app } = build();
      const response = await app.inject(acme(payload));
      expect([response.statusCode, response.json().message]).toEqual([400, expect.stringMatching(message)]);
    });

    it('reports at most 20 issues and counts the invalid records', async () => {
      const { app } = build();
      const records = Array.from({ length: 30 }, (_, i) => ({ ...sampleRecord(i), speed: 'fast' }));
      const body = (await app.inject(acme(records))).json();
      expect([body.issues.length, body.invalidRecords]).toEqual([20, 30]);
    });
  });

  describe('413 too large', () => {
    it('refuses a body above the vendor limit (default 1 MiB)', async () => {
      const { app, metrics } = build();
      const big = JSON.stringify({ records: [sampleRecord(1)], padding: 'x'.repeat(1024 * 1024) });
      const response = await app.inject(acme(big));
      expect([response.statusCode, response.json().error]).toEqual([413, 'too_large']);
      expect(
        await metricValue(metrics, 'receiver_pushes_rejected_total', { vendor: 'acme', reason: 'too_large' }),
      ).toBe(1);
    });

    it('applies a per-vendor limit', async () => {
      const { app } = build();
      const body = JSON.stringify(Array.from({ length: 40 }, (_, i) => sampleRecord(i))); // > 4 KiB
      const response = await app.inject({
        method: 'POST',
        url: '/v1/vendors/globex/records',
        headers: hmacHeaders(body),
        payload: body,
      });
      expect(response.statusCode).toBe(413);
    });

    it('refuses more records than the vendor may push at once', async () => {
      const { app } = build({ config: testConfig({ TF_RECEIVER_MAX_RECORDS: '5' }) });
      const response = await app.inject(acme(Array.from({ length: 6 }, (_, i) => sampleRecord(i))));
      expect([response.statusCode, response.json().error]).toEqual([413, 'too_many_records']);
    });
  });

  describe('429 rate limit (token bucket per vendor)', () => {
    it('lets a burst through, then answers 429 with Retry-After until tokens refill', async () => {
      const config = testConfig(
        {},
        {
          acme: { auth: { type: 'api-key', keys: [API_KEY] }, rateLimit: { perSecond: 0.5, burst: 3 } },
          globex: { auth: { type: 'api-key', keys: [API_KEY] } },
        },
      );
      const { app, clock, metrics } = build({ config });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await app.inject(acme(sampleRecord(i)))).statusCode);
      expect(statuses).toEqual([202, 202, 202, 429]);
      const limited = await app.inject(acme(sampleRecord(9)));
      expect(limited.headers['retry-after']).toBe('2');
      expect(limited.json().error).toBe('rate_limited');
      // Another vendor has its own bucket.
      const other = await app.inject({ ...acme(sampleRecord(1)), url: '/v1/vendors/globex/records' });
      expect(other.statusCode).toBe(202);
      clock.advance(2_000);
      expect((await app.inject(acme(sampleRecord(5)))).statusCode).toBe(202);
      expect((await app.inject(acme(sampleRecord(6)))).statusCode).toBe(429);
      expect(
        await metricValue(metrics, 'receiver_pushes_rejected_total', {
          vendor: 'acme',
          reason: 'rate_limited',
        }),
      ).toBe(3);
    });

    it('spends no tokens on requests that fail authentication', async () => {
      const config = testConfig(
        {},
        {
          acme: { auth: { type: 'api-key', keys: [API_KEY] }, rateLimit: { perSecond: 0.001, burst: 1 } },
        },
      );
      const { app } = build({ config });
      for (let i = 0; i < 5; i++)
        await app.inject(acme(sampleRecord(i), { 'x-api-key': 'wrong-key-00000000000000' }));
      expect((await app.inject(acme(sampleRecord(1)))).statusCode).toBe(202);
    });
  });

  describe('503 when the broker does not accept the push', () => {
    it('answers 503 with Retry-After, never counts the push as accepted, and recovers', async () => {
      const sink = fakeSink();
      const { app, metrics } = build({ sink });
      sink.failWith(new MessagingError('UNAVAILABLE', 'send to vendor-pushes failed'));
      const failed = await app.inject(acme(sampleRecord(1)));
      expect([failed.statusCode, failed.headers['retry-after'], failed.json().error]).toEqual([
        503,
        '7',
        'broker_unavailable',
      ]);
      expect(sink.pushes).toEqual([]);
      expect(await metricValue(metrics, 'receiver_pushes_accepted_total', { vendor: 'acme' })).toBe(0);
      expect(
        await metricValue(metrics, 'receiver_pushes_rejected_total', {
          vendor: 'acme',
          reason: 'broker_unavailable',
        }),
      ).toBe(1);
      expect(await metricValue(metrics, 'receiver_broker_send_seconds_count', { outcome: 'failed' })).toBe(1);

      const notReady = await app.inject('/readyz');
      expect([notReady.statusCode, notReady.json().checks.broker]).toEqual([
        503,
        expect.stringMatching(/^unreachable since .*: UNAVAILABLE$/),
      ]);

      sink.failWith(undefined);
      expect((await app.inject(acme(sampleRecord(2)))).statusCode).toBe(202);
      expect((await app.inject('/readyz')).statusCode).toBe(200);
      expect(await metricValue(metrics, 'receiver_pushes_accepted_total', { vendor: 'acme' })).toBe(1);
    });

    it('while the broker is down, lets one trial send through and fails the others fast', async () => {
      const sink = fakeSink();
      const { app } = build({ sink });
      sink.failWith(new MessagingError('UNAVAILABLE', 'down'));
      await app.inject(acme(sampleRecord(1)));
      const release = sink.hold();
      const trial = app.inject(acme(sampleRecord(2)));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const fast = await app.inject(acme(sampleRecord(3)));
      expect([fast.statusCode, fast.headers['retry-after']]).toEqual([503, '7']);
      expect(sink.calls).toBe(2); // the failed one and the trial; the fast 503 never reached the sink
      sink.failWith(undefined);
      release();
      expect((await trial).statusCode).toBe(202);
      expect((await app.inject(acme(sampleRecord(4)))).statusCode).toBe(202);
    });

    it('answers 503 when the send outlives the send timeout, and aborts it', async () => {
      const sink = fakeSink();
      const { app } = build({ sink, config: testConfig({ TF_RECEIVER_SEND_TIMEOUT_MS: '50' }) });
      sink.hold();
      const response = await app.inject(acme(sampleRecord(1)));
      expect(response.statusCode).toBe(503);
      expect(sink.pushes).toEqual([]);
    });

    it('answers 413 when the broker says the push is too large', async () => {
      const sink = fakeSink();
      const { app } = build({ sink });
      sink.failWith(new MessagingError('MESSAGE_TOO_LARGE', 'message 0 does not fit'));
      expect((await app.inject(acme(sampleRecord(1)))).statusCode).toBe(413);
      // Not an outage: still ready.
      expect((await app.inject('/readyz')).statusCode).toBe(200);
    });
  });
});

describe('probes and metrics', () => {
  it('is ready with a sink that has no probe until a send fails', async () => {
    const { app } = build();
    const ready = await app.inject('/readyz');
    expect([ready.statusCode, ready.json().checks.broker]).toEqual([200, 'ok: no contact yet']);
    expect((await app.inject('/healthz')).json()).toEqual({ service: 'receiver', status: 'ok' });
  });

  it('follows the probe while idle', async () => {
    const sink = fakeSink();
    let reachable = false;
    const probed = Object.assign(sink, {
      probe: async () => {
        if (!reachable) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
    });
    const { app } = build({
      sink: probed,
      config: testConfig({ TF_RECEIVER_BROKER_PROBE_INTERVAL_MS: '100' }),
    });
    await app.ready();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const down = await app.inject('/readyz');
    expect([down.statusCode, down.json().checks.broker]).toEqual([
      503,
      expect.stringContaining('probe failed: ECONNREFUSED'),
    ]);
    reachable = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('exposes the receiver series on /metrics', async () => {
    const { app } = build();
    await app.inject(acme(sampleRecord(1)));
    await app.inject(acme(sampleRecord(1), { 'x-api-key': '' }));
    const text = (await app.inject('/metrics')).body;
    expect(text).toContain('receiver_pushes_accepted_total{vendor="acme",service="receiver"} 1');
    expect(text).toContain('receiver_records_accepted_total{vendor="acme",service="receiver"} 1');
    expect(text).toContain(
      'receiver_pushes_rejected_total{vendor="acme",reason="missing_credentials",service="receiver"} 1',
    );
    // One accepted send observed (its duration is the machine's: a bucket bound would make this flaky).
    expect(text).toContain('receiver_broker_send_seconds_count{service="receiver",outcome="accepted"} 1');
    expect(text).toContain(
      'receiver_broker_send_seconds_bucket{le="+Inf",service="receiver",outcome="accepted"} 1',
    );
    expect(text).toContain('receiver_broker_up{service="receiver"} 1');
  });

  it('logs accepted pushes with their id and never a credential', async () => {
    const { app, lines } = build();
    const { pushId } = (await app.inject(acme(sampleRecord(1)))).json();
    expect(lines.find((l) => l.msg === 'push accepted')).toMatchObject({
      vendor: 'acme',
      pushId,
      records: 1,
    });
    expect(JSON.stringify(lines)).not.toContain(API_KEY);
  });
});
