// The current vehicles over HTTP: `GET /api/vehicles` (the view of a profile given as query parameters) and the
// GTFS-Realtime VehiclePositions feed at `GET /gtfs-rt/vehicle-positions` (protobuf; `?format=json` for people),
// both from the live views: the same data the live feed streams, with no storage round trip per request (a feed
// polled by many trip planners and apps). A profile that is being streamed is answered from its shared view.
// Both need the bearer token (trip planners such as OpenTripPlanner send configured headers).

import type { ServiceApp } from '@transit-fusion/service-kit';
import type { FastifyRequest } from 'fastify';
import type { BearerTokens } from './bearer-tokens.js';
import { encodeFeed, feedAsJson, vehiclePositionsFeed } from './gtfs-rt-feed.js';
import type { LiveViews, ViewUpdate } from './live-views.js';
import { profileFromQuery, profileKey } from './profile.js';

export interface VehiclesApiDeps {
  readonly views: LiveViews;
  readonly tokens: BearerTokens;
}

export function registerVehiclesApi(app: ServiceApp, deps: VehiclesApiDeps): void {
  app.register(async (api) => {
    api.addHook('onRequest', async (request, reply) => {
      if (deps.tokens.accepts(request.headers.authorization)) return undefined;
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'unauthorized',
        message: 'missing or unknown bearer token (Authorization: Bearer <token>)',
      });
    });

    // Answers per profile and snapshot, kept until the next snapshot (at most 64 profiles): pollers asking the
    // same thing every second cost one filter and one feed encoding per tick, not one per request.
    const cache = new Map<string, { view: ViewUpdate; feed?: Buffer }>();
    const current = (query: Record<string, string | undefined>) => {
      const profile = profileFromQuery(query);
      if (typeof profile === 'string') return { error: profile } as const;
      const key = profileKey(profile);
      const sequence = deps.views.snapshot?.sequence;
      const hit = cache.get(key);
      if (hit && hit.view.sequence === sequence) return hit;
      const view = deps.views.peek(profile);
      if (!view) return { none: true } as const;
      if (cache.size >= 64) cache.delete(cache.keys().next().value!);
      const entry: { view: ViewUpdate; feed?: Buffer } = { view };
      cache.set(key, entry);
      return entry;
    };

    api.get(
      '/api/vehicles',
      async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
        const view = await current(request.query);
        if ('error' in view) return reply.code(400).send({ error: 'invalid_argument', message: view.error });
        if ('none' in view)
          return reply
            .code(503)
            .header('retry-after', '1')
            .send({ error: 'no_snapshot_yet', message: 'no snapshot has been composed yet' });
        return {
          snapshotId: new Date(view.view.generatedAt).toISOString(),
          sequence: view.view.sequence,
          generatedAt: view.view.generatedAt,
          count: view.view.vehicles.length,
          vehicles: view.view.vehicles,
        };
      },
    );

    api.get(
      '/gtfs-rt/vehicle-positions',
      async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
        const { format, ...query } = request.query;
        const view = await current(query);
        if ('error' in view) return reply.code(400).send({ error: 'invalid_argument', message: view.error });
        if ('none' in view)
          return reply
            .code(503)
            .header('retry-after', '1')
            .send({ error: 'no_snapshot_yet', message: 'no snapshot has been composed yet' });
        if (format === 'json') {
          return reply
            .type('application/json')
            .send(feedAsJson(vehiclePositionsFeed(view.view, view.view.vehicles)));
        }
        view.feed ??= Buffer.from(encodeFeed(vehiclePositionsFeed(view.view, view.view.vehicles)));
        return reply.type('application/x-protobuf').send(view.feed);
      },
    );
  });
}
