// SignalR for the live feed, in either of two modes (TF_BROADCASTER_SIGNALR_MODE):
// - self-hosted: this process is the hub. A client's profile comes in the negotiate query (the same parameters
//   as /api/vehicles); on connect it joins its profile's group and gets the current view, then one `vehicles`
//   message per tick through the fan-out (so backpressure applies per connection). `RequestKeyframe` asks for a
//   full view.
// - azure: Azure SignalR Service (serverless) holds the sockets, for scale-out. Our negotiate route adds the new
//   user to its profile's group and returns the service's URL and a client token; each tick goes to each group
//   through the service's REST API, split into parts under its 1 MB body limit, and users negotiated in the last
//   ticks get a keyframe of their own (the service tells a serverless app nothing about connections).
// Either way clients receive `vehicles` with {sequence, generatedAt, previousSequence, keyframe, vehicles,
// removed, skipped} (and part/parts when split): on a keyframe they replace what they hold, otherwise they
// upsert and remove; a delta whose previousSequence is not the last sequence they saw means they missed one.

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
    previousSequence: update.previousSequence,
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
        // A catch-up keyframe: shared by the connections that missed as many ticks.
        connection.send(
          view.encoded(`signalr+${skipped}`, update, (u) =>
            encodeInvocation(UPDATE_TARGET, [updateMessage(u, skipped)]),
          ),
        );
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
  readonly allowedOrigins: readonly string[] | '*';
  readonly logger: { warn(o: object, m: string): void };
  /**
   * A group's view is kept this long after its last negotiate (default 2 min); after that, for as long as the
   * service says the group still has connections (asked every `groupCheckMs`, default 1 min). Azure keeps
   * sockets open past their token's expiry, so negotiates alone cannot tell when a group is empty.
   */
  readonly groupTtlMs?: number;
  readonly groupCheckMs?: number;
  /** Ticks a newly negotiated user gets a keyframe of its own (default 2). */
  readonly welcomeTicks?: number;
  /** Newly negotiated users waiting for their keyframe, at most (default 1,000; the oldest go first). */
  readonly maxWelcomes?: number;
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

interface AzureGroup {
  readonly view: LiveView;
  until: number;
  checking: boolean;
}

export function createAzureSignalR(deps: AzureSignalRDeps): AzureSignalR {
  const clock = deps.clock ?? Date.now;
  const ttl = deps.groupTtlMs ?? 120_000;
  const checkEvery = deps.groupCheckMs ?? 60_000;
  const welcomeTicks = deps.welcomeTicks ?? 2;
  const maxWelcomes = deps.maxWelcomes ?? 1_000;
  const maxPartBytes = deps.maxPartBytes ?? 900_000;
  const groups = new Map<string, AzureGroup>();
  let welcomes: { user: string; view: LiveView; ticksLeft: number }[] = [];

  async function send(
    view: LiveView,
    update: ViewUpdate,
    to: (args: unknown[]) => Promise<void>,
  ): Promise<void> {
    // Split (and so encoded) once per view and tick, however many users are welcomed.
    const parts = view.encoded('azure', update, (u) => splitUpdate(u, maxPartBytes));
    for (const part of parts) await to([part]);
  }

  function drop(key: string, group: AzureGroup): void {
    if (groups.get(key) !== group) return;
    groups.delete(key);
    deps.views.release(group.view);
  }

  /** An expired group lives on while the service still has connections in it. */
  function check(key: string, group: AzureGroup): void {
    group.checking = true;
    deps.service
      .groupHasConnections(groupName(key))
      .then((occupied) => {
        if (occupied) group.until = clock() + checkEvery;
        else drop(key, group);
      })
      .catch((error: unknown) => {
        // Unknown: keep it for another check rather than cut off clients that may be there.
        group.until = clock() + checkEvery;
        deps.logger.warn(
          { err: error },
          'could not ask Azure SignalR Service whether a group has connections',
        );
      })
      .finally(() => {
        group.checking = false;
      });
  }

  return {
    get groups() {
      return groups.size;
    },
    register(app) {
      const route = `/hubs/${deps.hub}/negotiate`;
      const cors = (origin: string | undefined): Record<string, string> => {
        if (!origin) return {};
        const allowed = deps.allowedOrigins === '*' || deps.allowedOrigins.includes(origin);
        return allowed
          ? {
              'access-control-allow-origin': origin,
              'access-control-allow-credentials': 'true',
              'access-control-allow-headers': 'authorization, x-requested-with, x-signalr-user-agent',
              'access-control-allow-methods': 'POST, OPTIONS',
              vary: 'Origin',
            }
          : {};
      };
      if (deps.allowedOrigins === '*' || deps.allowedOrigins.length > 0) {
        app.options(route, async (request, reply) =>
          reply.code(204).headers(cors(request.headers.origin)).send(),
        );
      }
      app.post(route, async (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply) => {
        reply.headers(cors(request.headers.origin));
        if (!deps.tokens.accepts(authorization(request.headers, request.query)))
          return reply.code(401).send({ error: 'missing or unknown bearer token' });
        const profile = profileFromQuery(request.query);
        if (typeof profile === 'string') return reply.code(400).send({ error: profile });
        const key = profileKey(profile);
        let group = groups.get(key);
        const created = !group;
        if (!group) {
          const view = deps.views.acquire(profile);
          if (!view) return reply.code(503).send({ error: 'too many distinct profiles are being served' });
          group = { view, until: 0, checking: false };
          groups.set(key, group);
        }
        const user = randomUUID();
        try {
          await deps.service.addUserToGroup(groupName(key), user);
          const answer = await deps.service.negotiate(user);
          group.until = Math.max(group.until, clock() + ttl);
          welcomes.push({ user, view: group.view, ticksLeft: welcomeTicks });
          if (welcomes.length > maxWelcomes) welcomes.splice(0, welcomes.length - maxWelcomes);
          return answer;
        } catch (error) {
          if (created) drop(key, group);
          deps.logger.warn({ err: error }, 'Azure SignalR Service refused a negotiate');
          return reply
            .code(503)
            .header('retry-after', '2')
            .send({ error: 'the SignalR service is unavailable; retry shortly' });
        }
      });
    },
    async publish() {
      const now = clock();
      const sends: Promise<void>[] = [];
      for (const [key, group] of groups) {
        if (group.until < now && !group.checking) check(key, group);
        const update = group.view.latest();
        if (update) {
          const name = groupName(key);
          sends.push(send(group.view, update, (args) => deps.service.sendToGroup(name, UPDATE_TARGET, args)));
        }
      }
      for (const welcome of welcomes) {
        const current = welcome.view.current();
        if (current)
          sends.push(
            send(welcome.view, current, (args) => deps.service.sendToUser(welcome.user, UPDATE_TARGET, args)),
          );
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
  const removedSize = Math.ceil(update.removed.length / parts);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < parts; i++) {
    out.push({
      sequence: update.sequence,
      generatedAt: update.generatedAt,
      previousSequence: update.previousSequence,
      keyframe: i === 0 && update.keyframe,
      vehicles: update.vehicles.slice(i * size, (i + 1) * size),
      removed: update.removed.slice(i * removedSize, (i + 1) * removedSize),
      skipped: 0,
      part: i + 1,
      parts,
    });
  }
  return out;
}
