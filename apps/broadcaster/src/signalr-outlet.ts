// SignalR for the live feed, in either of two modes (TF_BROADCASTER_SIGNALR_MODE):
// - self-hosted: this process is the hub. A client's profile comes in the negotiate query (the same parameters
//   as /api/vehicles); on connect it joins its profile's group and gets the current view, then one `vehicles`
//   message per tick through the fan-out (so backpressure applies per connection). `RequestKeyframe` asks for a
//   full view.
// - azure: Azure SignalR Service (serverless) holds the sockets, for scale-out. Our negotiate route adds the new
//   user to its profile's group and returns the service's URL and a client token; each tick goes to each group
//   through the service's REST API, split into parts under its 1 MB body limit, and users negotiated in the last
//   ticks get a keyframe of their own (the service tells a serverless app nothing about connections).
// Either way clients receive `vehicles` with {sequence, generatedAt, keyframe, vehicles, removed, skipped}
// (and part/parts when split): on a keyframe they replace what they hold, otherwise they upsert and remove.

import { createHash, randomUUID } from 'node:crypto';
import type { TransportSnapshot } from '@transit-fusion/model';
import type { ServiceApp } from '@transit-fusion/service-kit';
import {
  createSignalRHub,
  encodeInvocation,
  type AzureSignalRService,
  type HubConnection,
  type SignalRHub,
} from '@transit-fusion/signalr-hub';
import type { FastifyRequest } from 'fastify';
import type { BearerTokens } from './bearer-tokens.js';
import type { FanOut, Subscription } from './fan-out.js';
import type { LiveView, LiveViews, ViewUpdate } from './live-views.js';
import { profileFromQuery, profileKey, type Profile } from './profile.js';

/** The hub method clients receive updates on. */
export const UPDATE_TARGET = 'vehicles';

/** An update as SignalR clients receive it. */
export function updateMessage(update: ViewUpdate, skipped = 0): Record<string, unknown> {
  return {
    sequence: update.sequence,
    generatedAt: update.generatedAt,
    keyframe: update.keyframe,
    vehicles: update.vehicles,
    removed: update.removed,
    skipped,
  };
}

/** The bearer token from the Authorization header, or from `access_token` (browsers' WebSocket requests). */
function authorization(
  headers: { authorization?: string | undefined },
  query: Readonly<Record<string, string>>,
): string | undefined {
  if (headers.authorization) return headers.authorization;
  return query['access_token'] ? `Bearer ${query['access_token']}` : undefined;
}

export interface SelfHostedSignalRDeps {
  readonly hub: string;
  readonly fanOut: FanOut;
  readonly tokens: BearerTokens;
  readonly maxConnections: number;
  readonly maxBufferedBytes: number;
  readonly allowedOrigins: readonly string[] | '*';
  readonly logger: {
    debug(o: object, m: string): void;
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
  };
  readonly pingIntervalMs?: number;
}

export function createSelfHostedSignalR(deps: SelfHostedSignalRDeps): SignalRHub {
  const subscriptions = new Map<string, Subscription>();
  const hub: SignalRHub = createSignalRHub({
    path: `/hubs/${deps.hub}`,
    authenticate: ({ headers, query }) =>
      deps.tokens.accepts(authorization(headers, query)) ? 'api-token' : undefined,
    validateQuery: (query) => {
      const profile = profileFromQuery(query);
      return typeof profile === 'string' ? profile : undefined;
    },
    onConnected(connection) {
      const profile = profileFromQuery(connection.query) as Profile;
      const subscription = deps.fanOut.subscribe(profile, subscriberFor(connection, deps.maxBufferedBytes));
      if (!subscription) {
        connection.close('too many distinct profiles are being served; use a common profile', false);
        return;
      }
      subscriptions.set(connection.id, subscription);
      hub.addToGroup(connection, subscription.view.key);
    },
    onDisconnected(connection) {
      subscriptions.get(connection.id)?.unsubscribe();
      subscriptions.delete(connection.id);
    },
    methods: {
      RequestKeyframe: (connection) => {
        subscriptions.get(connection.id)?.requestKeyframe();
        return true;
      },
    },
    maxConnections: deps.maxConnections,
    allowedOrigins: deps.allowedOrigins,
    logger: deps.logger,
    ...(deps.pingIntervalMs ? { pingIntervalMs: deps.pingIntervalMs } : {}),
  });
  return hub;
}

function subscriberFor(connection: HubConnection, maxBufferedBytes: number) {
  return {
    ready: () => connection.open && connection.bufferedAmount < maxBufferedBytes,
    deliver(update: ViewUpdate, view: LiveView, skipped: number) {
      if (skipped === 0) {
        connection.send(
          view.encoded('signalr', update, (u) => encodeInvocation(UPDATE_TARGET, [updateMessage(u)])),
        );
      } else {
        connection.invoke(UPDATE_TARGET, [updateMessage(update, skipped)]);
      }
    },
    disconnect(reason: string) {
      connection.close(reason, true);
    },
  };
}

export interface AzureSignalRDeps {
  readonly hub: string;
  readonly service: AzureSignalRService;
  readonly views: LiveViews;
  readonly tokens: BearerTokens;
  readonly logger: { warn(o: object, m: string): void };
  /** A group's view is kept this long after its last negotiate (default 1 h, the client token's lifetime). */
  readonly groupTtlMs?: number;
  /** Ticks a newly negotiated user gets a keyframe of its own (default 2). */
  readonly welcomeTicks?: number;
  /** Body bytes per REST call to aim under (default 900 KB; the service's limit is 1 MB). */
  readonly maxPartBytes?: number;
  readonly clock?: () => number;
}

export interface AzureSignalR {
  /** Adds `POST /hubs/{hub}/negotiate` to the app. */
  register(app: ServiceApp): void;
  /** Sends a snapshot's updates to every group (an outlet of the live feed). */
  publish(snapshot: TransportSnapshot): Promise<void>;
  readonly groups: number;
}

export function createAzureSignalR(deps: AzureSignalRDeps): AzureSignalR {
  const clock = deps.clock ?? Date.now;
  const ttl = deps.groupTtlMs ?? 3_600_000;
  const welcomeTicks = deps.welcomeTicks ?? 2;
  const maxPartBytes = deps.maxPartBytes ?? 900_000;
  const groups = new Map<string, { view: LiveView; until: number }>();
  let welcomes: { user: string; view: LiveView; ticksLeft: number }[] = [];

  async function send(update: ViewUpdate, to: (args: unknown[]) => Promise<void>): Promise<void> {
    for (const part of splitUpdate(update, maxPartBytes)) await to([part]);
  }

  return {
    get groups() {
      return groups.size;
    },
    register(app) {
      app.post(
        `/hubs/${deps.hub}/negotiate`,
        async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
          if (!deps.tokens.accepts(authorization(request.headers, request.query)))
            return reply.code(401).send({ error: 'missing or unknown bearer token' });
          const profile = profileFromQuery(request.query);
          if (typeof profile === 'string') return reply.code(400).send({ error: profile });
          let group = groups.get(profileKey(profile));
          if (!group) {
            const view = deps.views.acquire(profile);
            if (!view) return reply.code(503).send({ error: 'too many distinct profiles are being served' });
            group = { view, until: 0 };
            groups.set(view.key, group);
          }
          group.until = clock() + ttl;
          const user = randomUUID();
          await deps.service.addUserToGroup(groupName(group.view.key), user);
          welcomes.push({ user, view: group.view, ticksLeft: welcomeTicks });
          return deps.service.negotiate(user);
        },
      );
    },
    async publish() {
      const now = clock();
      const sends: Promise<void>[] = [];
      for (const [key, group] of groups) {
        if (group.until < now) {
          groups.delete(key);
          deps.views.release(group.view);
          continue;
        }
        const update = group.view.latest();
        if (update) {
          const name = groupName(key);
          sends.push(send(update, (args) => deps.service.sendToGroup(name, UPDATE_TARGET, args)));
        }
      }
      for (const welcome of welcomes) {
        const current = welcome.view.current();
        if (current)
          sends.push(send(current, (args) => deps.service.sendToUser(welcome.user, UPDATE_TARGET, args)));
        welcome.ticksLeft--;
      }
      welcomes = welcomes.filter((w) => w.ticksLeft > 0);
      const results = await Promise.allSettled(sends);
      for (const result of results) {
        if (result.status === 'rejected')
          deps.logger.warn({ err: result.reason }, 'Azure SignalR Service did not take an update');
      }
    },
  };
}

/** A service group name for a profile key: short and URL-safe, whatever the profile. */
export function groupName(profileKey: string): string {
  return `profile-${createHash('sha256').update(profileKey).digest('base64url').slice(0, 22)}`;
}

/**
 * An update as one or more messages under `maxBytes` of JSON each: the first part carries the keyframe flag and
 * the removals, later parts only more vehicles of the same sequence.
 */
export function splitUpdate(update: ViewUpdate, maxBytes: number): Record<string, unknown>[] {
  const whole = updateMessage(update);
  const bytes = Buffer.byteLength(JSON.stringify(whole));
  if (bytes <= maxBytes) return [whole];
  const parts = Math.ceil(bytes / maxBytes) + 1;
  const size = Math.ceil(update.vehicles.length / parts);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < parts; i++) {
    out.push({
      sequence: update.sequence,
      generatedAt: update.generatedAt,
      keyframe: i === 0 && update.keyframe,
      vehicles: update.vehicles.slice(i * size, (i + 1) * size),
      removed: i === 0 ? update.removed : [],
      skipped: 0,
      part: i + 1,
      parts,
    });
  }
  return out;
}
