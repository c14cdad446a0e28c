// The OpenAPI 3.1 description of the HTTP API, served at /api/openapi.json.

const snapshotRef = { $ref: '#/components/schemas/Snapshot' };
const snapshotContent = {
  'application/json': { schema: snapshotRef },
  'application/msgpack': { schema: snapshotRef },
  'application/geo+json': {
    schema: { type: 'object', description: 'A FeatureCollection of the positioned vehicles' },
  },
};
const errors = {
  '400': { description: 'A parameter is missing or invalid (the message names it)' },
  '401': { description: 'Missing or unknown bearer token' },
  '404': { description: 'No such snapshot' },
  '503': { description: 'Storage unavailable; retry later' },
};

const profileParameters = [
  {
    name: 'types',
    in: 'query',
    schema: { type: 'string' },
    description:
      'Comma-separated transport types (bus, trolleybus, tram, rail, ferry, other); all when absent',
  },
  {
    name: 'bbox',
    in: 'query',
    schema: { type: 'string' },
    description: 'minLon,minLat,maxLon,maxLat in degrees; everywhere when absent',
  },
  { name: 'onDuty', in: 'query', schema: { type: 'boolean' }, description: 'Only vehicles on duty' },
  {
    name: 'fields',
    in: 'query',
    schema: { type: 'string' },
    description:
      'Comma-separated fused fields (position, bearing, speed, delay, fuel, routeId, tripId, status); all when absent',
  },
];

export const OPENAPI_DOCUMENT = Object.freeze({
  openapi: '3.1.0',
  info: {
    title: 'transit-fusion API',
    version: '1',
    description:
      'The fused state of the network: now (vehicles, GTFS-RT, the live SignalR hub) and second by second by time. Times are ISO-8601 or epoch ms.',
  },
  security: [{ bearer: [] }],
  paths: {
    '/api/snapshots/at': {
      get: {
        summary: 'The snapshot closest to a time, or the newest at or before it',
        parameters: [
          { name: 't', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'before', in: 'query', schema: { type: 'boolean' } },
        ],
        responses: { '200': { description: 'The snapshot', content: snapshotContent }, ...errors },
      },
    },
    '/api/snapshots': {
      get: {
        summary: 'Descriptors of the snapshots in a range, in time order, a page at a time',
        parameters: [
          { name: 'from', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'to', in: 'query', required: true, schema: { type: 'string' } },
          { name: 'pageSize', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          { name: 'continuationToken', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': {
            description: 'A page',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/SnapshotPage' } } },
          },
          ...errors,
        },
      },
    },
    '/api/snapshots/{id}': {
      get: {
        summary: 'One snapshot by id (its generated-at time, e.g. 2026-11-21T08:47:00.000Z)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'The snapshot', content: snapshotContent }, ...errors },
      },
    },
    '/api/vehicles': {
      get: {
        summary: 'The current vehicles of a profile (the live view; equal profiles share one view)',
        parameters: profileParameters,
        responses: {
          '200': {
            description: 'The view',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/VehiclesView' } } },
          },
          '400': errors['400'],
          '401': errors['401'],
          '503': { description: 'No snapshot composed yet; retry later' },
        },
      },
    },
    '/api/network': {
      get: {
        summary: "The routes and stops of the operator's static GTFS, as GeoJSON (the map's offline basemap)",
        responses: {
          '200': {
            description: 'A FeatureCollection with a bbox: LineStrings per shape, Points per stop',
            content: { 'application/geo+json': { schema: { type: 'object' } } },
          },
          '304': { description: 'Unchanged (If-None-Match)' },
          '401': errors['401'],
          '404': { description: 'No network configured (TF_BROADCASTER_NETWORK_GTFS)' },
          '503': { description: 'Not loaded yet; retry later' },
        },
      },
    },
    '/gtfs-rt/vehicle-positions': {
      get: {
        summary: 'A GTFS-Realtime VehiclePositions feed of the fused vehicles (for trip planners)',
        parameters: [
          ...profileParameters,
          {
            name: 'format',
            in: 'query',
            schema: { type: 'string', enum: ['json'] },
            description: 'JSON for people',
          },
        ],
        responses: {
          '200': {
            description: 'FeedMessage',
            content: { 'application/x-protobuf': {}, 'application/json': { schema: { type: 'object' } } },
          },
          '400': errors['400'],
          '401': errors['401'],
          '503': { description: 'No snapshot composed yet; retry later' },
        },
      },
    },
    '/hubs/vehicles/negotiate': {
      post: {
        summary:
          'SignalR negotiate for the live hub (use @microsoft/signalr with the hub URL /hubs/vehicles and the profile in its query)',
        parameters: profileParameters,
        responses: {
          '200': {
            description:
              'Self-hosted: connectionToken and the WebSockets transport; Azure SignalR Service: url and accessToken of the service',
          },
          '400': errors['400'],
          '401': errors['401'],
          '503': { description: 'Too many connections or distinct profiles' },
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Descriptor: {
        type: 'object',
        required: ['id', 'sequence', 'generatedAt', 'vehicleCount', 'bytes'],
        properties: {
          id: { type: 'string' },
          blobName: { type: 'string' },
          sequence: { type: 'integer' },
          generatedAt: { type: 'integer', description: 'epoch ms' },
          vehicleCount: { type: 'integer' },
          bytes: { type: 'integer' },
        },
      },
      VehiclesView: {
        type: 'object',
        required: ['snapshotId', 'sequence', 'generatedAt', 'count', 'vehicles'],
        properties: {
          snapshotId: { type: 'string' },
          sequence: { type: 'integer' },
          generatedAt: { type: 'integer', description: 'epoch ms' },
          count: { type: 'integer' },
          vehicles: { type: 'array', items: { type: 'object', description: 'A fused vehicle' } },
        },
      },
      SnapshotPage: {
        type: 'object',
        properties: {
          descriptors: { type: 'array', items: { $ref: '#/components/schemas/Descriptor' } },
          continuationToken: { type: 'string' },
        },
      },
      Snapshot: {
        type: 'object',
        required: ['id', 'sequence', 'generatedAt', 'sources', 'vehicles'],
        properties: {
          id: { type: 'string' },
          sequence: { type: 'integer' },
          generatedAt: { type: 'integer', description: 'epoch ms' },
          sources: { type: 'array', items: { type: 'object' } },
          vehicles: {
            type: 'array',
            items: { type: 'object', description: 'A fused vehicle (see the .proto)' },
          },
        },
      },
    },
  },
});
