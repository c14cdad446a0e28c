// The live map: the broadcaster's SignalR hub (MessagePack) feeds a VehicleStore; MapLibre draws it, arrows
// rotated by heading and coloured by type, moving smoothly between updates, clustered when zoomed out. The
// time machine loads stored snapshots through the query API and replays a range, then returns to live.
// The API token comes from the page's #token= fragment (never sent to servers or logs) or a form.

import { HubConnectionBuilder, HubConnectionState, type HubConnection } from '@microsoft/signalr';
import { MessagePackHubProtocol } from '@microsoft/signalr-protocol-msgpack';
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import {
  age,
  qualityLabels,
  TYPE_COLOURS,
  VehicleStore,
  type Filters,
  type MapVehicle,
  type VehicleUpdate,
} from './vehicle-store.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.hash.slice(1));
let token = params.get('token') ?? sessionStorage.getItem('tf-token') ?? '';
const apiBase = params.get('api') ?? '';
const styleUrl = params.get('style') ?? import.meta.env['VITE_MAP_STYLE_URL'];

const store = new VehicleStore();
const filters: Filters & { types: Set<string> } = { types: new Set(), onDutyOnly: false, search: '' };
let live = true;
let replayAbort: AbortController | undefined;

// Without a tile or style URL the basemap is offline: a plain background with the routes and stops the system
// knows (the operator's static GTFS, from /api/network) drawn on it.
const map = new maplibregl.Map({
  container: 'map',
  style: styleUrl ?? {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }],
  },
  center: [24.75, 59.43],
  zoom: 11,
  attributionControl: false,
});

// For automation (the end-to-end test) and debugging from the console.
Object.assign(window, { transitFusionMap: map, transitFusionStore: store });

function arrowImage(colour: string): ImageData {
  const size = 32;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const g = canvas.getContext('2d')!;
  g.fillStyle = colour;
  g.strokeStyle = '#ffffff';
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(16, 2);
  g.lineTo(28, 28);
  g.lineTo(16, 22);
  g.lineTo(4, 28);
  g.closePath();
  g.fill();
  g.stroke();
  return g.getImageData(0, 0, size, size);
}

map.on('load', () => {
  for (const [type, colour] of Object.entries(TYPE_COLOURS))
    map.addImage(`arrow-${type}`, arrowImage(colour));
  map.addSource('vehicles', {
    type: 'geojson',
    data: { type: 'FeatureCollection', features: [] },
    cluster: true,
    clusterMaxZoom: 12,
    clusterRadius: 30,
  });
  map.addLayer({
    id: 'clusters',
    type: 'circle',
    source: 'vehicles',
    filter: ['has', 'point_count'],
    paint: {
      'circle-color': '#4a5a6a',
      'circle-opacity': 0.6,
      'circle-radius': ['step', ['get', 'point_count'], 10, 20, 15, 100, 22],
    },
  });
  map.addLayer({
    id: 'vehicles',
    type: 'symbol',
    source: 'vehicles',
    filter: ['!', ['has', 'point_count']],
    layout: {
      'icon-image': ['concat', 'arrow-', ['get', 'transportType']],
      'icon-size': 0.6,
      'icon-rotate': ['coalesce', ['get', 'bearing'], 0],
      'icon-rotation-alignment': 'map',
      'icon-allow-overlap': true,
    },
    paint: { 'icon-opacity': ['case', ['get', 'stale'], 0.4, 1] },
  });
  map.on('click', 'vehicles', (event) => {
    const id = event.features?.[0]?.properties?.['id'] as string | undefined;
    const vehicle = id ? store.vehicles.get(id) : undefined;
    if (vehicle?.position) {
      new maplibregl.Popup({ className: 'vehicle-popup' })
        .setLngLat([vehicle.position.lon, vehicle.position.lat])
        .setHTML(popupHtml(vehicle))
        .addTo(map);
    }
  });
  map.on('click', 'clusters', (event) => map.easeTo({ center: event.lngLat, zoom: map.getZoom() + 2 }));
  render();
});

// The offline basemap: routes coloured by type (or the operator's route colour), stops when zoomed in. The first
// load also frames the map on the network, wherever the operator is.
let networkLoaded = false;
async function loadNetwork(): Promise<void> {
  if (styleUrl || networkLoaded) return;
  if (!map.loaded()) await new Promise((resolve) => map.once('load', resolve));
  const response = await fetch(`${apiBase}/api/network`, { headers: { authorization: `Bearer ${token}` } });
  // Not loaded yet (503): try again shortly. None configured (404): a plain background.
  if (response.status === 503) setTimeout(() => void loadNetwork().catch(() => undefined), 5_000);
  if (!response.ok) return;
  const network = (await response.json()) as maplibregl.GeoJSONSourceSpecification['data'] & {
    bbox?: number[];
  };
  if (networkLoaded) return;
  networkLoaded = true;
  map.addSource('network', { type: 'geojson', data: network });
  const typeColour = [
    'match',
    ['get', 'transportType'],
    ...Object.entries(TYPE_COLOURS).flat(),
    '#8a94a0',
  ] as unknown as maplibregl.ExpressionSpecification;
  map.addLayer(
    {
      id: 'network-routes',
      type: 'line',
      source: 'network',
      filter: ['==', ['get', 'kind'], 'route'],
      layout: { 'line-join': 'round', 'line-cap': 'round' },
      paint: {
        'line-color': ['case', ['!=', ['get', 'colour'], ''], ['get', 'colour'], typeColour],
        'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1, 15, 4],
        'line-opacity': 0.45,
      },
    },
    'clusters',
  );
  map.addLayer(
    {
      id: 'network-stops',
      type: 'circle',
      source: 'network',
      minzoom: 13,
      filter: ['==', ['get', 'kind'], 'stop'],
      paint: {
        'circle-radius': 3,
        'circle-color': '#ffffff',
        'circle-stroke-color': '#4a5a6a',
        'circle-stroke-width': 1,
      },
    },
    'clusters',
  );
  const [west, south, east, north] = network.bbox ?? [];
  if (west !== undefined && south !== undefined && east !== undefined && north !== undefined) {
    map.fitBounds(
      [
        [west, south],
        [east, north],
      ],
      { padding: 40, animate: false },
    );
  }
}

// Smooth movement: each vehicle glides from where it was drawn to its new position over one second.
const drawn = new Map<string, { lat: number; lon: number }>();
let animation: { from: Map<string, { lat: number; lon: number }>; start: number } | undefined;

function render(): void {
  animation = { from: new Map(drawn), start: performance.now() };
  byId('count').textContent = String(store.visible(filters).length);
  byId('last-update').textContent = store.generatedAt
    ? new Date(store.generatedAt).toLocaleTimeString()
    : '—';
  byId('last-update').setAttribute(
    'datetime',
    store.generatedAt ? new Date(store.generatedAt).toISOString() : '',
  );
  requestAnimationFrame(frame);
}

function frame(now: number): void {
  const source = map.getSource('vehicles') as maplibregl.GeoJSONSource | undefined;
  if (!source || !animation) return;
  const t = Math.min(1, (now - animation.start) / 1000);
  const features = [];
  drawn.clear();
  for (const v of store.visible(filters)) {
    const to = v.position!;
    const from = animation.from.get(v.id) ?? to;
    const at = { lat: from.lat + (to.lat - from.lat) * t, lon: from.lon + (to.lon - from.lon) * t };
    drawn.set(v.id, at);
    features.push({
      type: 'Feature' as const,
      geometry: { type: 'Point' as const, coordinates: [at.lon, at.lat] },
      properties: {
        id: v.id,
        transportType: TYPE_COLOURS[v.transportType] ? v.transportType : 'other',
        bearing: v.bearing ?? 0,
        stale: Object.values(v.sources).some((s) => s?.stale),
      },
    });
  }
  source.setData({ type: 'FeatureCollection', features });
  if (t < 1) requestAnimationFrame(frame);
}

function popupHtml(v: MapVehicle): string {
  const now = Date.now();
  const escape = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows: [string, string, unknown][] = [
    ['route', 'routeId', v.routeId],
    ['trip', 'tripId', v.tripId],
    ['delay', 'delay', v.delay === undefined ? undefined : `${Math.round(v.delay)} s`],
    ['speed', 'speed', v.speed === undefined ? undefined : `${(v.speed * 3.6).toFixed(0)} km/h`],
    ['fuel', 'fuel', v.fuel === undefined ? undefined : `${Math.round(v.fuel)} %`],
    ['status', 'status', v.status],
    [
      'position',
      'position',
      v.position ? `${v.position.lat.toFixed(5)}, ${v.position.lon.toFixed(5)}` : undefined,
    ],
  ];
  const flags = qualityLabels(v.quality ?? 0);
  if (flags.length > 0) rows.push(['quality', 'quality', flags.join(', ')]);
  const body = rows
    .filter(([, , value]) => value !== undefined)
    .map(([name, field, value]) => {
      const source = v.sources[field as keyof MapVehicle['sources']];
      const freshness = source ? `${escape(source.vendorId)}, ${age(source.observedAt, now)} ago` : '';
      return `<tr class="${source?.stale ? 'stale' : ''}"><th>${name}</th><td>${escape(value)}</td><td>${freshness}</td></tr>`;
    })
    .join('');
  return `<h2>${escape(v.label ?? v.id)} <small>${escape(v.transportType)}</small></h2><table>${body}</table>`;
}

// Filters, search and the count.
for (const type of Object.keys(TYPE_COLOURS)) {
  const label = document.createElement('label');
  label.innerHTML = `<input type="checkbox" value="${type}" /> <span class="swatch" style="background:${TYPE_COLOURS[type]}"></span> ${type}`;
  label.querySelector('input')!.addEventListener('change', (event) => {
    const input = event.target as HTMLInputElement;
    if (input.checked) filters.types.add(type);
    else filters.types.delete(type);
    render();
  });
  byId('types').append(label);
}
byId<HTMLInputElement>('on-duty').addEventListener('change', (event) => {
  filters.onDutyOnly = (event.target as HTMLInputElement).checked;
  render();
});
byId<HTMLInputElement>('search').addEventListener('input', (event) => {
  filters.search = (event.target as HTMLInputElement).value;
  render();
});

// Live: the hub, with automatic reconnect and a keyframe on any gap.
let hub: HubConnection | undefined;
function setConnection(state: 'live' | 'reconnecting' | 'offline' | 'history'): void {
  byId('connection').dataset['state'] = state;
  byId('connection-text').textContent = state;
}

async function connect(): Promise<void> {
  loadNetwork().catch((error: unknown) => console.warn('network not drawn', error));
  hub = new HubConnectionBuilder()
    .withUrl(`${apiBase}/hubs/vehicles`, { accessTokenFactory: () => token })
    .withHubProtocol(new MessagePackHubProtocol())
    .withAutomaticReconnect()
    .build();
  hub.on('vehicles', (update: VehicleUpdate) => {
    if (!live) return;
    const result = store.apply({
      ...update,
      sequence: Number(update.sequence),
      generatedAt: Number(update.generatedAt),
    });
    if (result === 'gap') void hub?.invoke('RequestKeyframe');
    if (result === 'applied') render();
  });
  hub.onreconnecting(() => setConnection('reconnecting'));
  hub.onreconnected(() => setConnection(live ? 'live' : 'history'));
  hub.onclose(() => setConnection('offline'));
  try {
    await hub.start();
    setConnection('live');
  } catch (error) {
    setConnection('offline');
    if (String(error).includes('401')) askForToken();
  }
}

function askForToken(): void {
  const form = byId<HTMLFormElement>('token-form');
  form.hidden = false;
  form.onsubmit = (event) => {
    event.preventDefault();
    token = byId<HTMLInputElement>('token-input').value.trim();
    sessionStorage.setItem('tf-token', token);
    form.hidden = true;
    void connect();
  };
}

// The time machine: a moment, or a range replayed at 1×–60×, then back to live.
async function api<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(`${apiBase}${path}`, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}
type StoredSnapshot = { id: string; sequence: number; generatedAt: number; vehicles: MapVehicle[] };
const status = (text: string) => (byId('tm-status').textContent = text);
const timeOf = (id: string) => new Date(byId<HTMLInputElement>(id).value).getTime();

byId('tm-load').addEventListener('click', async () => {
  replayAbort?.abort();
  live = false;
  setConnection('history');
  try {
    const snapshot = await api<StoredSnapshot>(
      `/api/snapshots/at?t=${new Date(timeOf('tm-from')).toISOString()}`,
    );
    store.load(snapshot);
    status(`showing ${new Date(snapshot.generatedAt).toLocaleString()}`);
    render();
  } catch (error) {
    status(`no snapshot: ${(error as Error).message}`);
  }
});

byId('tm-replay').addEventListener('click', async () => {
  replayAbort?.abort();
  const abort = (replayAbort = new AbortController());
  live = false;
  setConnection('history');
  const speed = Number(byId<HTMLSelectElement>('tm-speed').value);
  const from = new Date(timeOf('tm-from')).toISOString();
  const to = new Date(timeOf('tm-to')).toISOString();
  try {
    let continuation: string | undefined;
    let previous: number | undefined;
    do {
      const page: { descriptors: { id: string; generatedAt: number }[]; continuationToken?: string } =
        await api(
          `/api/snapshots?from=${from}&to=${to}${continuation ? `&continuationToken=${encodeURIComponent(continuation)}` : ''}`,
          abort.signal,
        );
      for (const descriptor of page.descriptors) {
        if (previous !== undefined) {
          await new Promise((r) => setTimeout(r, (descriptor.generatedAt - previous!) / speed));
        }
        if (abort.signal.aborted) return;
        store.load(await api<StoredSnapshot>(`/api/snapshots/${descriptor.id}`, abort.signal));
        previous = descriptor.generatedAt;
        status(`replaying ${new Date(descriptor.generatedAt).toLocaleTimeString()} at ${speed}×`);
        render();
      }
      continuation = page.continuationToken;
    } while (continuation);
    status('replay finished');
  } catch (error) {
    if (!abort.signal.aborted) status(`replay stopped: ${(error as Error).message}`);
  }
});

byId('tm-live').addEventListener('click', () => {
  replayAbort?.abort();
  live = true;
  store.reset();
  status('');
  setConnection(hub?.state === HubConnectionState.Connected ? 'live' : 'offline');
  void hub?.invoke('RequestKeyframe');
});

const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60_000);
byId<HTMLInputElement>('tm-from').value = new Date(now.getTime() - 60_000).toISOString().slice(0, 19);
byId<HTMLInputElement>('tm-to').value = now.toISOString().slice(0, 19);

if (token) void connect();
else askForToken();
