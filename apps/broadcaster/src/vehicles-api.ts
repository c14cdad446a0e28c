// The current vehicles over HTTP: `GET /api/vehicles` (the view of a profile given as query parameters) and the
// GTFS-Realtime VehiclePositions feed at `GET /gtfs-rt/vehicle-positions` (protobuf; `?format=json` for people),
// both from the newest stored snapshot (the live view from the snapshots topic replaces that source next).
// Both need the bearer token (trip planners such as OpenTripPlanner send configured headers).

import type { TransportSnapshot } from '@transit-fusion/model';
import type { ServiceApp } from '@transit-fusion/service-kit';
import type { SnapshotStore } from '@transit-fusion/storage';
import type { FastifyRequest } from 'fastify';
import type { BearerTokens } from './bearer-tokens.js';
import { encodeFeed, feedAsJson, vehiclePositionsFeed } from './gtfs-rt-feed.js';
import { applyProfile, profileFromQuery } from './profile.js';

export interface VehiclesApiDeps {
  readonly store: SnapshotStore;
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

    // The newest snapshot, downloaded once per snapshot rather than once per request (a feed polled by many
    // trip planners and apps would otherwise fetch the same blob over and over).
    let held: { id: string; snapshot: TransportSnapshot } | undefined;
    const current = async (query: Record<string, string | undefined>) => {
      const profile = profileFromQuery(query);
      if (typeof profile === 'string') return { error: profile } as const;
      const descriptor = await deps.store.latest();
      if (!descriptor) return { none: true } as const;
      if (held?.id !== descriptor.id)
        held = { id: descriptor.id, snapshot: await deps.store.read(descriptor) };
      const { snapshot } = held;
      return { descriptor, snapshot, vehicles: applyProfile(snapshot.vehicles, profile) } as const;
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
          snapshotId: view.descriptor.id,
          sequence: view.snapshot.sequence,
          generatedAt: view.snapshot.generatedAt,
          count: view.vehicles.length,
          vehicles: view.vehicles,
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
        const feed = vehiclePositionsFeed(view.snapshot, view.vehicles);
        if (format === 'json') return reply.type('application/json').send(feedAsJson(feed));
        return reply.type('application/x-protobuf').send(Buffer.from(encodeFeed(feed)));
      },
    );
  });
}
