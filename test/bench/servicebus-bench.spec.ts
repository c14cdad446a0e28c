import { describe, expect, it } from 'vitest';
import { run } from './servicebus.bench.js';

// Smoke test of the "servicebus" benchmark, tiny, so it cannot rot: the receiver process, the emulator, the HTTP
// load and the drain all run end to end. Timings are not asserted (shared, noisy machines).
describe('servicebus benchmark', () => {
  it('pushes through the receiver, drains the topic and reports its figures', async () => {
    const lines: string[] = [];
    const figures = await run({ pushes: 200, warmup: 20, concurrency: 8, write: (l) => lines.push(l) });
    expect(figures.map((f) => f.metric)).toEqual([
      'receiver_pushes_per_s',
      'receiver_p50_ms',
      'receiver_p99_ms',
      'drain_messages_per_s',
    ]);
    for (const f of figures) expect(Number.isFinite(f.value) && f.value > 0).toBe(true);
    expect(figures.find((f) => f.metric === 'drain_messages_per_s')!.n).toBe(220);
    expect(lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))).toEqual(figures);
  }, 120_000);
});
