// How a vendor's records find their vehicle: by the vendor's own key through the fleet registry, or through a
// shared attribute of a vehicle already matched by key (GTFS-RT TripUpdates often name only the trip, so their
// delay joins whichever vehicle currently serves that trip).

export type MatchRule = { readonly by: 'key' } | { readonly by: 'attribute'; readonly attribute: 'tripId' };

export interface VendorRule {
  readonly vendorId: string;
  readonly match: MatchRule;
}
