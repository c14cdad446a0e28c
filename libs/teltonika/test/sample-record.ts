// One AVL record of a bus in Helsinki at 08:47 UTC, for the specs: each overrides what it is about.

import type { AvlRecordInit } from '../src/index.js';

export function sampleRecord(overrides: Partial<AvlRecordInit> = {}): AvlRecordInit {
  return {
    timestamp: Date.UTC(2026, 10, 21, 8, 47),
    priority: 0,
    longitude: 24.9384,
    latitude: 60.1699,
    altitude: 12,
    angle: 90,
    satellites: 9,
    speed: 36,
    eventIoId: 0,
    ...overrides,
  };
}
