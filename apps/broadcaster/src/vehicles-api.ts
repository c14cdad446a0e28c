// The current vehicles over HTTP: `GET /api/vehicles` (the view of a profile given as query parameters) and the
// GTFS-Realtime VehiclePositions feed at `GET /gtfs-rt/vehicle-positions` (protobuf; `?format=json` for people),
// both from the live views: the same data the live feed streams, with no storage round trip per request (a feed
// polled by many trip planners and apps). A profile that is being streamed is answered from its shared view.
// Both need the bearer token (trip planners such as OpenTripPlanner send configured headers).

import type { ServiceApp } from '@transit-fusion/service-kit';
import type { FastifyRequest } from 'fastify';
import type { BearerTokens } from './bearer-tokens.js';
import { encodeFeed, feedAsJson, vehiclePositionsFeed } from './gtfs-rt-feed.js';
import type { LiveViews } from './live-views.js';
import { profileFromQuery } from './profile.js';

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

    const current = (query: Record<string, string | undefined>) => {
      const profile = profileFromQuery(query);
      if (typeof profile === 'string') return { error: profile } as const;
      const view = deps.views.peek(profile);
      return view ? ({ view } as const) : ({ none: true } as const);
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
        const feed = vehiclePositionsFeed(view.view, view.view.vehicles);
        if (format === 'json') return reply.type('application/json').send(feedAsJson(feed));
        return reply.type('application/x-protobuf').send(Buffer.from(encodeFeed(feed)));
      },
    );
  });
}
