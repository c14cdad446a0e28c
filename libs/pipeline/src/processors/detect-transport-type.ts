// Pre-processor: a vehicle whose type neither the registry nor any vendor gave is typed by its route — from a
// route → type table (e.g. GTFS routes.txt route_type) or by route-id patterns — else it stays "other".

import type { TransportType } from '@transit-fusion/model';
import type { Processor } from '../processor.js';

export interface TransportTypeRules {
  /** routeId → type. */
  readonly routeTypes?: ReadonlyMap<string, TransportType>;
  /** Tried in order after the table, e.g. `{ pattern: '^T\\d+$', transportType: 'tram' }`. */
  readonly routePatterns?: readonly { readonly pattern: string; readonly transportType: TransportType }[];
}

export function detectTransportType(rules: TransportTypeRules = {}): Processor {
  const table = rules.routeTypes ?? new Map<string, TransportType>();
  const patterns = (rules.routePatterns ?? []).map((p) => ({
    re: new RegExp(p.pattern),
    type: p.transportType,
  }));
  return {
    name: 'detect-transport-type',
    process(vehicles, context) {
      for (const vehicle of vehicles) {
        if (vehicle.transportType !== 'other' || vehicle.routeId === undefined) continue;
        const route = vehicle.routeId;
        const type = table.get(route) ?? patterns.find((p) => p.re.test(route))?.type;
        if (type !== undefined) {
          vehicle.transportType = type;
          context.count('detect-transport-type.by-route');
        }
      }
    },
  };
}
