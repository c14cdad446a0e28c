// The hand-written protobuf writer's varints and sizing, checked against protobufjs through the real bindings.

import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { describe, expect, it } from 'vitest';
import { ProtobufWriter, varintFieldSize, varintSize } from './protobuf-writer.js';

const { transit_realtime } = GtfsRealtimeBindings;

describe('ProtobufWriter', () => {
  it.each([0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 32 + 5, 4_102_444_800])(
    'writes varint %d as protobufjs does',
    (n) => {
      const w = new ProtobufWriter(varintFieldSize(3, n));
      const bytes = w.uint(3, n).finish(); // FeedHeader.timestamp is field 3, uint64
      const reference = transit_realtime.FeedHeader.encode({
        gtfsRealtimeVersion: '',
        timestamp: n,
      }).finish();
      // protobufjs writes the required version first: compare from the timestamp on.
      expect(Buffer.from(bytes)).toEqual(Buffer.from(reference).subarray(2));
      expect(varintSize(n)).toBe(bytes.length - 1);
    },
  );

  it('refuses to finish a mis-sized buffer', () => {
    expect(() => new ProtobufWriter(5).uint(1, 1).finish()).toThrow(/sizing/);
  });
});
