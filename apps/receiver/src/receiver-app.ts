// The receiver's HTTP app: `POST /v1/vendors/:vendor/records` takes a vendor's push, checks it, and answers 202
// only once Service Bus has accepted it; plus the shared `/healthz`, `/readyz` and `/metrics`.
//
// A push is checked in this order, cheapest and least revealing first:
//   404 unknown vendor (the same answer as any unknown path: nothing says which vendors exist)
//   415 content type other than JSON or NDJSON
//   401 missing credentials (or an HMAC timestamp out of tolerance), 403 wrong API key
//   413 declared body larger than the vendor's limit
//   429 rate limit, for API key vendors here (before the body is read)
//   … body read (413 when larger than the limit without a declared length) …
//   403 wrong HMAC signature, then 429 rate limit for HMAC vendors (after authentication, so a forger cannot
//       spend a vendor's budget)
//   400 invalid records (naming the field), 413 too many records
//   503 broker unreachable or send failed/timed out (with Retry-After), else 202 { accepted, pushId }.

import { randomUUID } from 'node:crypto';
import { isMessagingError } from '@transit-fusion/messaging';
import {
  createLiveness,
  createServiceApp,
  type ErrorBody,
  type Liveness,
  type Logger,
  type Metrics,
  type ServiceApp,
} from '@transit-fusion/service-kit';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { createBrokerHealth, describe } from './broker-health.js';
import type { ReceiverConfig, VendorSettings } from './config.js';
import { parsePushBody, pushMediaType, type PushMediaType } from './push-body.js';
import type { PushSink, VendorPush } from './push-sink.js';
import { createReceiverMetrics, type RejectReason } from './receiver-metrics.js';
import { createTokenBucket, type TokenBucket } from './token-bucket.js';
import { createVendorAuthenticator, type VendorAuthenticator } from './vendor-auth.js';

export const PUSH_ROUTE = '/v1/vendors/:vendor/records';

/** The settings the app uses (the rest of ReceiverConfig is for main.ts). */
export type ReceiverAppConfig = Pick<
  ReceiverConfig,
  'vendors' | 'sendTimeoutMs' | 'retryAfterSeconds' | 'brokerProbeIntervalMs'
>;

export interface ReceiverAppDeps {
  readonly config: ReceiverAppConfig;
  readonly sink: PushSink;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock?: { now(): number };
  /** Default: a new one with the event-loop heartbeat, stopped when the app closes. */
  readonly liveness?: Liveness;
}

/** 202 body. */
export interface PushAccepted {
  readonly accepted: number;
  readonly pushId: string;
}

interface Vendor {
  readonly settings: VendorSettings;
  readonly auth: VendorAuthenticator;
  readonly bucket: TokenBucket;
}

interface Pending {
  readonly vendor: Vendor;
  readonly mediaType: PushMediaType;
}

export function createReceiverApp(deps: ReceiverAppDeps): ServiceApp {
  const { config, sink, logger } = deps;
  const clock = deps.clock ?? Date;
  const metrics = createReceiverMetrics(deps.metrics);
  const liveness = deps.liveness ?? createLiveness();
  const vendors = new Map<string, Vendor>(
    Object.values(config.vendors).map((settings) => [
      settings.id,
      {
        settings,
        auth: createVendorAuthenticator(settings.auth),
        bucket: createTokenBucket(settings.rateLimit, clock.now()),
      },
    ]),
  );
  const bodyLimit = Math.max(1024, ...Object.values(config.vendors).map((v) => v.maxBodyBytes));
  const health = createBrokerHealth({
    ...(sink.probe ? { probe: (options) => sink.probe!(options) } : {}),
    probeIntervalMs: config.brokerProbeIntervalMs,
    clock,
    onChange: (up, reason) => {
      metrics.brokerUp(up);
      if (up) logger.info({}, 'Service Bus reachable');
      else logger.warn({ reason }, 'Service Bus unreachable: answering 503 until it is back');
    },
  });
  metrics.brokerUp(health.up);

  const app = createServiceApp({
    service: 'receiver',
    logger,
    registry: deps.metrics.registry,
    liveness,
    readiness: async () => health.report(),
    bodyLimit,
  });
  app.addHook('onReady', async () => health.start());
  app.addHook('onClose', async () => {
    health.stop();
    if (!deps.liveness) liveness.stop();
  });

  const pending = new WeakMap<FastifyRequest, Pending>();

  const reject = (
    reply: FastifyReply,
    vendorId: string,
    status: number,
    reason: RejectReason,
    message: string,
    extra: { retryAfterSeconds?: number; body?: Record<string, unknown> } = {},
  ) => {
    metrics.rejected(vendorId, reason);
    if (extra.retryAfterSeconds !== undefined) reply.header('retry-after', String(extra.retryAfterSeconds));
    return reply.code(status).send({ error: reason, message, ...extra.body } satisfies ErrorBody);
  };

  const unavailable = (reply: FastifyReply, vendorId: string, message: string) =>
    reject(reply, vendorId, 503, 'broker_unavailable', message, {
      retryAfterSeconds: config.retryAfterSeconds,
    });

  const rateLimited = (reply: FastifyReply, vendor: Vendor): FastifyReply | undefined => {
    const waitMs = vendor.bucket.take(clock.now());
    if (waitMs === 0) return undefined;
    return reject(reply, vendor.settings.id, 429, 'rate_limited', 'rate limit exceeded', {
      retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
    });
  };

  app.register(async (scope) => {
    // Bodies are read as bytes and parsed in the handler: an HMAC is computed over the exact bytes, and nothing
    // is parsed before the sender is authenticated.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const vendorId = pending.get(request)?.vendor.settings.id ?? 'unknown';
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reject(reply, vendorId, 413, 'too_large', 'the body is larger than this vendor may push');
      }
      if (error.statusCode !== undefined && error.statusCode < 500) {
        return reject(reply, vendorId, error.statusCode, 'invalid', error.message);
      }
      request.log.error({ err: error, vendor: vendorId }, 'push failed');
      return reply
        .code(500)
        .send({ error: 'internal_error', message: 'Internal Server Error' } satisfies ErrorBody);
    });

    scope.post<{ Params: { vendor: string } }>(PUSH_ROUTE, {
      bodyLimit,
      onRequest: async (request, reply) => {
        const vendor = vendors.get(request.params.vendor);
        if (!vendor) {
          metrics.rejected('unknown', 'unknown_vendor');
          reply.callNotFound();
          return reply;
        }
        const id = vendor.settings.id;
        const mediaType = pushMediaType(request.headers['content-type']);
        if (!mediaType) {
          return reject(
            reply,
            id,
            415,
            'unsupported_media_type',
            'send application/json or application/x-ndjson (UTF-8)',
          );
        }
        const failure = vendor.auth.checkHeaders(request.headers, clock.now());
        if (failure === 'bad_credentials') {
          request.log.info({ vendor: id }, 'push with wrong credentials');
          return reject(reply, id, 403, failure, 'credentials not accepted');
        }
        if (failure) {
          const message =
            failure === 'stale_timestamp'
              ? 'x-timestamp is more than 5 minutes from the receiver clock'
              : vendor.settings.auth.type === 'api-key'
                ? 'x-api-key header required'
                : 'x-signature (sha256=<hex>) and x-timestamp (unix seconds) headers required';
          return reject(reply, id, 401, failure, message);
        }
        const declared = Number(request.headers['content-length']);
        if (declared > vendor.settings.maxBodyBytes) {
          return reject(
            reply,
            id,
            413,
            'too_large',
            `the body may be at most ${vendor.settings.maxBodyBytes} bytes`,
          );
        }
        if (vendor.settings.auth.type === 'api-key' && rateLimited(reply, vendor)) return reply;
        pending.set(request, { vendor, mediaType });
        return undefined;
      },
      handler: async (request, reply) => {
        const { vendor, mediaType } = pending.get(request)!;
        const { settings } = vendor;
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (body.length > settings.maxBodyBytes) {
          return reject(
            reply,
            settings.id,
            413,
            'too_large',
            `the body may be at most ${settings.maxBodyBytes} bytes`,
          );
        }
        if (!vendor.auth.verifyBody(request.headers, body)) {
          request.log.info({ vendor: settings.id }, 'push with a wrong signature');
          return reject(reply, settings.id, 403, 'bad_credentials', 'signature not accepted');
        }
        if (settings.auth.type === 'hmac' && rateLimited(reply, vendor)) return reply;

        const parsed = parsePushBody(body, mediaType, settings.id, settings.maxRecords);
        if (!parsed.ok && parsed.reason === 'too_many_records') {
          return reject(
            reply,
            settings.id,
            413,
            'too_many_records',
            `a push may hold at most ${settings.maxRecords} records (got ${parsed.count})`,
          );
        }
        if (!parsed.ok) {
          const first = parsed.issues[0]!;
          return reject(
            reply,
            settings.id,
            400,
            'invalid',
            first.path ? `${first.path}: ${first.message}` : first.message,
            {
              body: { issues: parsed.issues, invalidRecords: parsed.invalidRecords },
            },
          );
        }

        const admission = health.admit();
        if (admission === 'reject')
          return unavailable(reply, settings.id, 'Service Bus is unreachable; retry later');
        const trial = admission === 'trial';
        const push: VendorPush = {
          pushId: randomUUID(),
          vendorId: settings.id,
          receivedAt: clock.now(),
          records: parsed.records,
        };
        const started = performance.now();
        try {
          await sendWithin(sink, push, config.sendTimeoutMs);
        } catch (error) {
          metrics.sent((performance.now() - started) / 1000, 'failed');
          if (isMessagingError(error) && error.code === 'MESSAGE_TOO_LARGE') {
            health.released({ trial });
            request.log.error(
              { err: error, vendor: settings.id, pushId: push.pushId },
              'push too large for Service Bus',
            );
            return reject(
              reply,
              settings.id,
              413,
              'too_large',
              'the push is too large for the broker; send fewer records per push',
            );
          }
          health.failed(describe(error), { trial });
          request.log.warn(
            { err: error, vendor: settings.id, pushId: push.pushId },
            'push not accepted by Service Bus',
          );
          return unavailable(reply, settings.id, 'the push could not be handed to Service Bus; retry later');
        }
        metrics.sent((performance.now() - started) / 1000, 'accepted');
        health.succeeded({ trial });
        metrics.accepted(settings.id, push.records.length);
        request.log.info(
          { vendor: settings.id, pushId: push.pushId, records: push.records.length },
          'push accepted',
        );
        return reply
          .code(202)
          .send({ accepted: push.records.length, pushId: push.pushId } satisfies PushAccepted);
      },
    });
  });

  return app;
}

/** The sink's send, given up on (and aborted) after `timeoutMs`; its outcome is then unknown. */
async function sendWithin(sink: PushSink, push: VendorPush, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, rejectTimeout) => {
    timer = setTimeout(() => {
      const error = new Error(`send not accepted within ${timeoutMs} ms`);
      error.name = 'TimeoutError';
      controller.abort(error);
      rejectTimeout(error);
    }, timeoutMs);
  });
  try {
    await Promise.race([sink.send(push, { abortSignal: controller.signal }), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
