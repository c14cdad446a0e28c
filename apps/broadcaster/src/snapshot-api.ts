// The snapshot query API over HTTP, for people and tools that do not speak gRPC:
//   GET /api/snapshots/at?t=<ISO-8601 or epoch ms>[&before=true]  the closest snapshot (or the newest at or before)
//   GET /api/snapshots?from=&to=[&pageSize=&continuationToken=]    descriptors in time order, a page at a time
//   GET /api/snapshots/{id}                                         one snapshot
// A snapshot comes as JSON (default), MessagePack (`Accept: application/msgpack`) or a GeoJSON FeatureCollection
// of the positioned vehicles (`Accept: application/geo+json`). Every route needs `Authorization: Bearer <token>`.
// The OpenAPI description is at GET /api/openapi.json (no token: it describes, it holds no data).

import { isModelError, parseInstant, toGeoJsonFeature, type TransportSnapshot } from '@transit-fusion/model';
import type { ServiceApp } from '@transit-fusion/service-kit';
import { isStorageError, type SnapshotDescriptor, type SnapshotStore } from '@transit-fusion/storage';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { pack } from 'msgpackr';
import type { BearerTokens } from './bearer-tokens.js';
import { OPENAPI_DOCUMENT } from './openapi.js';

export interface SnapshotApiDeps {
  readonly store: SnapshotStore;
  readonly tokens: BearerTokens;
  /** Longest range a list may span. */
  readonly maxRangeMs: number;
}

const MEDIA = {
  json: 'application/json',
  msgpack: 'application/msgpack',
  geojson: 'application/geo+json',
} as const;

export function registerSnapshotApi(app: ServiceApp, deps: SnapshotApiDeps): void {
  app.get('/api/openapi.json', async () => OPENAPI_DOCUMENT);

  app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      if (!deps.tokens.accepts(request.headers.authorization)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({
          error: 'unauthorized',
          message: 'missing or unknown bearer token (Authorization: Bearer <token>)',
        });
      }
      return undefined;
    });

    api.get(
      '/api/snapshots/at',
      async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
        const t = instant(request.query['t'], 't', reply);
        if (t === undefined) return reply;
        const before = request.query['before'] === 'true';
        const descriptor = await storage(reply, () =>
          before ? deps.store.latestAtOrBefore(t) : deps.store.closestAt(t),
        );
        if (descriptor === null) return reply;
        if (!descriptor) {
          return reply.code(404).send({
            error: 'not_found',
            message: `no snapshot ${before ? 'at or before' : 'near'} ${new Date(t).toISOString()}`,
          });
        }
        reply.header('content-location', `/api/snapshots/${encodeURIComponent(descriptor.id)}`);
        return sendSnapshot(request, reply, descriptor);
      },
    );

    api.get(
      '/api/snapshots',
      async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
        const from = instant(request.query['from'], 'from', reply);
        if (from === undefined) return reply;
        const to = instant(request.query['to'], 'to', reply);
        if (to === undefined) return reply;
        if (to < from || to - from > deps.maxRangeMs) {
          return reply.code(400).send({
            error: 'invalid_argument',
            message: `to must be at or after from, at most ${deps.maxRangeMs} ms later`,
          });
        }
        const pageSize = request.query['pageSize'] === undefined ? 100 : Number(request.query['pageSize']);
        if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
          return reply.code(400).send({ error: 'invalid_argument', message: 'pageSize must be 1–1000' });
        }
        const token = request.query['continuationToken'];
        const page = await storage(reply, () =>
          deps.store.listPage(from, to, { pageSize, ...(token ? { continuationToken: token } : {}) }),
        );
        if (page === null) return reply;
        return page;
      },
    );

    api.get('/api/snapshots/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
      const descriptor = await storage(reply, () => deps.store.describe(request.params.id));
      if (descriptor === null) return reply;
      return sendSnapshot(request, reply, descriptor);
    });
  });

  async function sendSnapshot(request: FastifyRequest, reply: FastifyReply, descriptor: SnapshotDescriptor) {
    const snapshot = await storage(reply, () => deps.store.read(descriptor));
    if (snapshot === null) return reply;
    const media = negotiate(request.headers.accept);
    if (!media) {
      return reply.code(406).send({
        error: 'not_acceptable',
        message: `a snapshot comes as ${Object.values(MEDIA).join(', ')}`,
      });
    }
    reply.header('vary', 'Accept').header('etag', `"${descriptor.id}"`);
    if (media === MEDIA.msgpack) return reply.type(media).send(Buffer.from(pack(body(descriptor, snapshot))));
    if (media === MEDIA.geojson) {
      const features = [];
      for (const v of snapshot.vehicles) {
        const feature = toGeoJsonFeature(v, { snapshotId: descriptor.id });
        if (feature) features.push(feature);
      }
      return reply.type(media).send({ type: 'FeatureCollection', features });
    }
    return reply.type(media).send(body(descriptor, snapshot));
  }
}

function body(descriptor: SnapshotDescriptor, snapshot: TransportSnapshot) {
  return { id: descriptor.id, ...snapshot };
}

/** The first acceptable media type in Accept order (q-values are not weighed: clients here send one type). */
function negotiate(accept: string | undefined): string | undefined {
  if (!accept) return MEDIA.json;
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === '*/*' || type === 'application/*' || type === MEDIA.json) return MEDIA.json;
    if (type === MEDIA.msgpack || type === 'application/x-msgpack') return MEDIA.msgpack;
    if (type === MEDIA.geojson) return MEDIA.geojson;
  }
  return undefined;
}

function instant(value: string | undefined, name: string, reply: FastifyReply): number | undefined {
  if (value === undefined || value === '') {
    void reply
      .code(400)
      .send({ error: 'invalid_argument', message: `${name} is required (ISO-8601 or epoch ms)` });
    return undefined;
  }
  try {
    return parseInstant(/^\d+$/.test(value) ? Number(value) : value, name);
  } catch (error) {
    if (!isModelError(error)) throw error;
    void reply.code(400).send({
      error: 'invalid_argument',
      message: `${name} must be an ISO-8601 date-time with a zone (2026-11-21T08:47:00Z) or epoch milliseconds, got ${JSON.stringify(value)}`,
    });
    return undefined;
  }
}

/** Runs a store call; maps its errors to 404/400/503 answers (and returns null once answered). */
async function storage<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T | null> {
  try {
    return await call();
  } catch (error) {
    if (!isStorageError(error)) throw error;
    if (error.code === 'NOT_FOUND') void reply.code(404).send({ error: 'not_found', message: error.message });
    else if (error.code === 'INVALID_ARGUMENT')
      void reply.code(400).send({ error: 'invalid_argument', message: error.message });
    // Stored but unreadable: a fault on our side, named so an operator can find the blob.
    else if (error.code === 'CORRUPT_BLOB' || error.code === 'MISSING_BLOB')
      void reply.code(500).send({ error: 'snapshot_unreadable', message: error.message });
    else
      void reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'unavailable', message: 'storage unavailable' });
    return null;
  }
}
