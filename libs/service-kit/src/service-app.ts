// The HTTP face every service shares: `/healthz` (liveness: restart me when it fails), `/readyz` (readiness:
// send me traffic only when it passes) and `/metrics` (Prometheus), on a Fastify instance that logs through the
// service's logger. Services add their own routes to the returned instance; the factory only builds it (no
// listen), so tests drive it with `inject()` and `main.ts` decides the port.

import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { Liveness } from './liveness.js';
import type { Logger } from './logger.js';

export interface ReadinessReport {
  readonly ok: boolean;
  /** One line per dependency, e.g. `{ broker: 'ok: last send 0.4 s ago' }`. */
  readonly checks: Record<string, string>;
}

export interface ServiceAppOptions {
  readonly service: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly liveness: Liveness;
  readonly readiness: () => Promise<ReadinessReport>;
  /** Largest request body Fastify reads, in bytes (Fastify's default: 1 MiB). */
  readonly bodyLimit?: number;
  /** Longest time a client may take to send a whole request (default 30 s). */
  readonly requestTimeoutMs?: number;
}

export type ServiceApp = FastifyInstance;

/** The routes every service has; their requests are not logged (probes every few seconds would drown the log). */
export const PROBE_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

/** Status codes with a body `{ error, message }`, so every service answers errors the same way. */
export interface ErrorBody {
  readonly error: string;
  readonly message: string;
}

export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new ServiceLogController(),
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    // Answer 503 (Connection: close) to requests arriving while the server closes.
    return503OnClosing: true,
    // A client gets 30 s to send its whole request (Fastify's default is no limit: a slow-loris invitation).
    requestTimeout: options.requestTimeoutMs ?? 30_000,
  }) as unknown as ServiceApp;

  // Keep-alive connections would hold a closing server open until their idle timeout: responses sent while
  // closing (the in-flight requests a shutdown waits for) tell the client to close, so close() ends promptly.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ error: 'not_found', message: 'Not found' } satisfies ErrorBody);
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) {
      // Details go to the log, not to the client.
      request.log.error({ err: error }, 'request failed');
      reply
        .code(status)
        .send({ error: 'internal_error', message: 'Internal Server Error' } satisfies ErrorBody);
      return;
    }
    reply.code(status).send({ error: errorName(error), message: error.message } satisfies ErrorBody);
  });

  app.get('/healthz', async (_request, reply) => {
    const report = options.liveness.check();
    if (!report.ok) reply.code(503);
    return report.ok
      ? { service: options.service, status: 'ok' }
      : { service: options.service, status: 'unhealthy', stale: report.stale };
  });

  app.get('/readyz', async (request, reply) => {
    let report: ReadinessReport;
    try {
      report = await options.readiness();
    } catch (error) {
      request.log.warn({ err: error }, 'readiness check failed');
      report = { ok: false, checks: { readiness: 'check failed' } };
    }
    if (!report.ok) reply.code(503);
    return { service: options.service, status: report.ok ? 'ready' : 'not_ready', checks: report.checks };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await options.registry.metrics();
    reply.header('content-type', options.registry.contentType);
    return text;
  });

  return app;
}

/** Fastify's per-request lines, reduced to one line per request and none for probes. */
class ServiceLogController extends LogController {
  override isLogDisabled(request: { url?: string }): boolean {
    const path = request.url?.split('?', 1)[0] ?? '';
    return PROBE_PATHS.includes(path);
  }

  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override routeNotFound(request: FastifyRequest): void {
    // requestCompleted logs the 404 already.
    request.log.debug({ url: request.url }, 'route not found');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) (reply.log as FastifyBaseLogger).error({ ...line, err: error }, 'request errored');
    else (reply.log as FastifyBaseLogger).info(line, 'request completed');
  }
}

/** `FST_ERR_CTP_BODY_TOO_LARGE` → `body_too_large`; other errors by status. */
function errorName(error: FastifyError): string {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'body_too_large';
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'unsupported_media_type';
  if (error.statusCode === 404) return 'not_found';
  return 'bad_request';
}
