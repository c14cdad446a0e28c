// The live path's logic with in-memory parts: shared views per profile (bounded), deltas and keyframes, the
// fan-out's backpressure, and the follower's newest-wins downloads.

import { createVehicle, FUSED_FIELDS, type TransportSnapshot, type Vehicle } from '@transit-fusion/model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFanOut, type FeedSubscriber } from './fan-out.js';
import { createSerialPublisher } from './live-feed.js';
import { changeMask, createLiveViews, type LiveView, type ViewUpdate } from './live-views.js';
import { applyProfile, profileFromQuery, type Profile } from './profile.js';
import { createSnapshotFollower, parseAnnouncement, type Announcement } from './snapshot-follower.js';

const T = Date.UTC(2026, 10, 21, 8, 47, 0);
const bus = (id: string, lat: number, extra: Partial<Vehicle> = {}): Vehicle => ({
  id,
  transportType: 'bus',
  status: 'on_duty',
  position: { lat, lon: 24.75 },
  sources: { position: { vendorId: 'positions', observedAt: T } },
  quality: 0,
  ...extra,
});
const snapshot = (sequence: number, vehicles: Vehicle[]): TransportSnapshot => ({
  sequence,
  generatedAt: T + sequence * 1_000,
  sources: [],
  vehicles,
});
const profile = (query: Record<string, string>) => profileFromQuery(query) as Profile;

describe('live views', () => {
  it('shares one view among equal profiles and bounds the number of views', () => {
    const views = createLiveViews({ maxViews: 20 });
    const types = ['bus', 'tram', 'rail', 'ferry', 'trolleybus'];
    const held = [];
    // 1,000 subscribers over 20 distinct wishes, each written several ways.
    for (let i = 0; i < 1_000; i++) {
      const t = types[i % 5]!;
      const fields = i % 4 < 2 ? 'speed,delay' : 'delay,speed,delay';
      const onDuty = Math.floor(i / 5) % 4 < 2 ? 'true' : 'false';
      const bbox = i % 2 === 0 ? '24.7,59.4,24.8,59.5' : '24.700001,59.4,24.8,59.5';
      const query: Record<string, string> = { types: ` ${t} `, fields, onDuty, bbox };
      if (Math.floor(i / 20) % 2 === 0) query['types'] = `${t},${t}`;
      const wider: Record<string, string> = Math.floor(i / 5) % 2 === 0 ? {} : { bbox: '24,59,25,60' };
      held.push(views.acquire(profile({ ...query, ...wider })));
    }
    expect(held.every(Boolean)).toBe(true);
    expect(views.size).toBe(20);
    // A 21st distinct wish is refused, not given a view of its own.
    expect(views.acquire(profile({ types: 'bus', fields: 'fuel' }))).toBeUndefined();
    for (const view of held) views.release(view!);
    expect(views.size).toBe(0);
    expect(views.acquire(profile({ types: 'bus', fields: 'fuel' }))).toBeDefined();
  });

  it('sends a keyframe, then what entered, changed or left', () => {
    const views = createLiveViews({ keyframeEvery: 1_000_000 });
    const all = views.acquire(profile({}))!;
    const positionsOnly = views.acquire(profile({ fields: 'position' }))!;
    views.publish(snapshot(1, [bus('a', 59.1), bus('b', 59.2), bus('c', 59.3, { fuel: 50 })]));
    expect(all.latest()).toMatchObject({ keyframe: true, sequence: 1, removed: [] });
    expect(all.latest()!.vehicles.map((v) => v.id)).toEqual(['a', 'b', 'c']);

    // a moves, b leaves, c changes only its fuel, d enters.
    views.publish(
      snapshot(2, [
        bus('a', 59.15, { sources: { position: { vendorId: 'positions', observedAt: T + 1_000 } } }),
        bus('c', 59.3, { fuel: 49 }),
        bus('d', 59.4),
      ]),
    );
    const delta = all.latest()!;
    expect(delta).toMatchObject({ keyframe: false, sequence: 2, previousSequence: 1, removed: ['b'] });
    expect(delta.vehicles.map((v) => v.id)).toEqual(['a', 'c', 'd']);
    // The positions-only view does not care about fuel.
    expect(positionsOnly.latest()!.vehicles.map((v) => v.id)).toEqual(['a', 'd']);
    expect(all.current()!.vehicles.map((v) => v.id)).toEqual(['a', 'c', 'd']);

    // Nothing changes: an empty delta still marks the tick.
    views.publish(snapshot(3, all.current()!.vehicles as Vehicle[]));
    expect(all.latest()).toMatchObject({ keyframe: false, sequence: 3, vehicles: [], removed: [] });
    // An older snapshot changes nothing.
    expect(views.publish(snapshot(2, []))).toEqual([]);
  });

  it('sends a full keyframe every K ticks per view, views at different phases', () => {
    const K = 5;
    const views = createLiveViews({ keyframeEvery: K });
    const held = ['bus', 'tram', 'rail', 'ferry', 'trolleybus', 'other'].map((t) =>
      views.acquire(profile({ types: t })),
    );
    const keyframeTicks = held.map(() => [] as number[]);
    for (let s = 1; s <= 4 * K; s++) {
      views.publish(snapshot(s, [bus('a', 59 + s / 100)]));
      held.forEach((view, i) => view!.latest()!.keyframe && keyframeTicks[i]!.push(s));
    }
    for (const ticks of keyframeTicks) {
      expect(ticks[0]).toBe(1); // the first update is always full
      const periodic = ticks.slice(1);
      expect(periodic.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < periodic.length; i++) expect(periodic[i]! - periodic[i - 1]!).toBe(K);
    }
    // Not all in step: the keyframe load is spread over ticks.
    expect(new Set(keyframeTicks.map((t) => t[1]! % K)).size).toBeGreaterThan(1);
    const keyframe = held[0]!.latest()!.keyframe ? held[0]!.latest()! : held[0]!.current()!;
    expect(keyframe.vehicles).toHaveLength(held[0]!.profile.transportTypes[0] === 'bus' ? 1 : 0);
  });

  it('deals periodic keyframes out evenly over the ticks, also as views come and go', () => {
    const K = 5;
    const views = createLiveViews({ keyframeEvery: K });
    const area = (i: number) => profile({ bbox: `24,${59 + i / 100},25,${59.5 + i / 100}` });
    const held = new Map<number, LiveView>();
    for (let i = 0; i < 12; i++) held.set(i, views.acquire(area(i))!);
    const perTick: number[] = [];
    let s = 0;
    const run = (ticks: number) => {
      for (let t = 0; t < ticks; t++) {
        const fresh = new Set([...held.values()].filter((v) => v.latest() === undefined));
        views.publish(snapshot(++s, [bus('a', 59.2)]));
        // A view's first update is full whenever it comes; only the periodic ones are dealt out.
        perTick.push([...held.values()].filter((v) => !fresh.has(v) && v.latest()!.keyframe).length);
      }
    };
    run(3 * K);
    // 12 views over 5 ticks: two or three a tick, never the four or more a hash of the profile gave.
    expect(Math.max(...perTick)).toBe(3);
    expect(Math.min(...perTick.slice(1))).toBe(2);
    // Four views leave and four others come mid-period: they take the places the leavers freed.
    for (const i of [0, 1, 2, 3]) {
      views.release(held.get(i)!);
      held.delete(i);
    }
    views.publish(snapshot(++s, [bus('a', 59.2)]));
    for (let i = 20; i < 24; i++) held.set(i, views.acquire(area(i))!);
    perTick.length = 0;
    run(3 * K);
    expect(Math.max(...perTick.slice(1))).toBe(3);
    expect(Math.min(...perTick.slice(1))).toBe(2);
  });

  it('a subscriber applying its updates always holds what its profile sees (property)', () => {
    // Vehicles come, go, move, change fields and sources; ids churn (so the views' slot tables are rebuilt);
    // views are acquired mid-run. Whatever happens, keyframe-replace plus delta-upsert/remove on the client
    // side equals the profile applied to the snapshot, field for field.
    const ids = Array.from({ length: 12 }, (_, i) => `v${i}`);
    const vehicle = fc.record({
      id: fc.oneof(fc.constantFrom(...ids), fc.uuid()),
      transportType: fc.constantFrom<Vehicle['transportType']>('bus', 'tram'),
      status: fc.constantFrom<Vehicle['status']>('on_duty', 'parked'),
      lat: fc.constantFrom(59.1, 59.2, 59.3),
      fuel: fc.option(fc.constantFrom(10, 20), { nil: undefined }),
      observedAt: fc.constantFrom(T, T + 1_000),
    });
    const profiles: Record<string, string>[] = [
      {},
      { types: 'tram' },
      { fields: 'fuel' },
      { bbox: '24,59.15,25,59.25', onDuty: 'true' },
    ];
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(vehicle, { selector: (v) => v.id, maxLength: 10 }), { maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 10 }),
        (ticks, keyframeEvery, lateAt) => {
          const views = createLiveViews({ keyframeEvery, spareIds: 4 });
          const clients: { view: LiveView; held: Map<string, Vehicle>; last: number }[] = [];
          const join = (query: Record<string, string>) => {
            const view = views.acquire(profile(query))!;
            const current = view.current();
            const held = new Map((current?.vehicles ?? []).map((v) => [v.id, v]));
            clients.push({ view, held, last: current?.sequence ?? -1 });
          };
          join(profiles[0]!);
          join(profiles[1]!);
          ticks.forEach((drawn, t) => {
            if (t === lateAt) for (const q of profiles.slice(2)) join(q);
            const next = snapshot(
              t + 1,
              drawn.map((d) =>
                bus(d.id, d.lat, {
                  transportType: d.transportType,
                  status: d.status,
                  ...(d.fuel === undefined ? {} : { fuel: d.fuel }),
                  sources: { position: { vendorId: 'positions', observedAt: d.observedAt } },
                }),
              ),
            );
            views.publish(next);
            for (const client of clients) {
              const update = client.view.latest()!;
              if (update.keyframe) client.held.clear();
              else expect(update.previousSequence).toBe(client.last);
              for (const v of update.vehicles) client.held.set(v.id, v);
              for (const id of update.removed) client.held.delete(id);
              client.last = update.sequence;
              const expected = applyProfile(next.vehicles, client.view.profile);
              expect(new Map(expected.map((v) => [v.id, v]))).toEqual(client.held);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('encodes each update once per view, however many ask', () => {
    const views = createLiveViews();
    const view = views.acquire(profile({}))!;
    views.publish(snapshot(1, [bus('a', 59.1)]));
    let encodings = 0;
    const encode = (u: ViewUpdate) => (encodings++, JSON.stringify(u));
    for (let i = 0; i < 100; i++) view.encoded('json', view.latest()!, encode);
    expect(encodings).toBe(1);
    views.publish(snapshot(2, [bus('a', 59.2)]));
    view.encoded('json', view.latest()!, encode);
    expect(encodings).toBe(2);
  });

  it('sees a change in every field a vehicle has, so no change is left out of a delta', () => {
    // Built like every producer builds vehicles (createVehicle: every key present), with every field set.
    const full = (): Vehicle => {
      const v = createVehicle('v1', 'bus', '1001');
      Object.assign(v, {
        position: { lat: 59.4, lon: 24.7 },
        bearing: 90,
        speed: 8,
        delay: 30,
        fuel: 55,
        routeId: 'R1',
        tripId: 'T1',
        status: 'on_duty',
        quality: 0,
      });
      for (const f of FUSED_FIELDS) v.sources[f] = { vendorId: 'positions', observedAt: T };
      return v;
    };
    const changed = (value: unknown): unknown => {
      if (typeof value === 'number') return value + 1;
      if (value === 'bus') return 'tram';
      if (value === 'on_duty') return 'parked';
      if (typeof value === 'string') return `${value}x`;
      return undefined;
    };
    expect(changeMask(full(), full())).toBe(0);
    const keys = Object.keys(full()).filter((k) => k !== 'id' && k !== 'sources' && k !== 'position');
    expect(keys.length).toBeGreaterThan(8);
    for (const key of keys) {
      const b = full() as unknown as Record<string, unknown>;
      b[key] = changed(b[key]);
      expect(changeMask(full(), b as unknown as Vehicle), key).not.toBe(0);
    }
    for (const coordinate of ['lat', 'lon'] as const) {
      const b = full();
      b.position = { ...b.position!, [coordinate]: b.position![coordinate] + 1e-6 };
      expect(changeMask(full(), b), coordinate).not.toBe(0);
    }
    for (const f of FUSED_FIELDS) {
      const source = full().sources[f]!;
      for (const variant of [
        { ...source, observedAt: source.observedAt + 1 },
        { ...source, vendorId: 'other' },
        { ...source, stale: true },
        undefined,
      ]) {
        const b = full();
        b.sources[f] = variant;
        expect(changeMask(full(), b), `sources.${f}`).not.toBe(0);
      }
    }
  });
});

interface Recorder extends FeedSubscriber {
  got: { sequence: number; keyframe: boolean; ids: string[]; skipped: number }[];
  busy: boolean;
  closed?: string;
}
const recorder = (): Recorder => {
  const r: Recorder = {
    got: [],
    busy: false,
    ready: () => !r.busy,
    deliver: (u, _view, skipped) =>
      r.got.push({ sequence: u.sequence, keyframe: u.keyframe, ids: u.vehicles.map((v) => v.id), skipped }),
    disconnect: (reason) => {
      r.closed = reason;
    },
  };
  return r;
};

describe('fan-out with backpressure', () => {
  it('sends the current view on subscribe, drops deltas for a busy subscriber, then catches it up with a keyframe', () => {
    const fanOut = createFanOut({ views: createLiveViews(), maxLagTicks: 5 });
    fanOut.publish(snapshot(1, [bus('a', 59.1)]));
    const fast = recorder();
    const slow = recorder();
    fanOut.subscribe(profile({}), fast);
    fanOut.subscribe(profile({}), slow);
    expect(fast.got).toEqual([{ sequence: 1, keyframe: true, ids: ['a'], skipped: 0 }]);

    slow.busy = true;
    for (let s = 2; s <= 4; s++) fanOut.publish(snapshot(s, [bus('a', 59 + s / 10)]));
    expect(fast.got.map((g) => [g.sequence, g.keyframe])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, false],
    ]);
    expect(slow.got).toHaveLength(1); // nothing queued while busy
    slow.busy = false;
    fanOut.publish(snapshot(5, [bus('a', 59.5), bus('b', 59.6)]));
    expect(slow.got[1]).toEqual({ sequence: 5, keyframe: true, ids: ['a', 'b'], skipped: 3 });
    expect(fast.got[4]).toMatchObject({ sequence: 5, keyframe: false, skipped: 0 });
  });

  it('disconnects a subscriber that stays behind past the bound, with a reason, and gives a keyframe on request', () => {
    const dropped: number[] = [];
    const fanOut = createFanOut({
      views: createLiveViews(),
      maxLagTicks: 3,
      metrics: { delivered: () => {}, dropped: () => dropped.push(1), disconnected: () => {} },
    });
    const stuck = recorder();
    const asking = recorder();
    fanOut.subscribe(profile({}), stuck);
    const subscription = fanOut.subscribe(profile({}), asking)!;
    stuck.busy = true;
    for (let s = 1; s <= 4; s++) fanOut.publish(snapshot(s, [bus('a', 59 + s / 10)]));
    expect(stuck.closed).toMatch(/too slow: 4 updates behind \(the limit is 3\)/);
    expect(dropped).toHaveLength(4);
    expect(fanOut.subscribers).toBe(1);
    subscription.requestKeyframe();
    fanOut.publish(snapshot(5, [bus('a', 59.5)]));
    expect(asking.got.map((g) => g.keyframe)).toEqual([true, false, false, false, true]);
    subscription.unsubscribe();
    expect(fanOut.subscribers).toBe(0);
  });
});

describe('fan-out resilience', () => {
  it('drops a subscriber whose transport throws, and still serves the others that tick', () => {
    const fanOut = createFanOut({ views: createLiveViews() });
    const good = recorder();
    const broken = recorder();
    broken.deliver = () => {
      throw new Error('socket gone');
    };
    fanOut.subscribe(profile({}), broken);
    fanOut.subscribe(profile({}), good);
    fanOut.publish(snapshot(1, [bus('a', 59.1)]));
    expect(broken.closed).toBe('could not send an update: socket gone');
    expect(good.got.map((g) => g.sequence)).toEqual([1]);
    expect(fanOut.subscribers).toBe(1);
  });
});

describe('fan-out order', () => {
  it("writes a view's subscribers before it computes the next view", () => {
    const fanOut = createFanOut({ views: createLiveViews() });
    const trams = profile({ types: 'tram' });
    const buses = profile({ types: 'bus' });
    const tramSubscriber = recorder();
    const busSubscriber = recorder();
    fanOut.subscribe(trams, tramSubscriber);
    const busView = fanOut.subscribe(buses, busSubscriber)!.view;
    // When the tram view's subscriber gets tick 2, the bus view still shows tick 1.
    const seenByTrams: (number | undefined)[] = [];
    const deliver = tramSubscriber.deliver.bind(tramSubscriber);
    tramSubscriber.deliver = (update, view, skipped) => {
      seenByTrams.push(busView.latest()?.sequence);
      deliver(update, view, skipped);
    };
    fanOut.publish(snapshot(1, [bus('a', 59.1), bus('t', 59.2, { transportType: 'tram' })]));
    fanOut.publish(snapshot(2, [bus('a', 59.3), bus('t', 59.4, { transportType: 'tram' })]));
    expect(seenByTrams).toEqual([undefined, 1]);
    expect(busSubscriber.got.map((g) => g.sequence)).toEqual([1, 2]);
  });
});

describe('paced fan-out', () => {
  it('pauses between views, so what one view queued goes out before the next is computed', async () => {
    const fanOut = createFanOut({ views: createLiveViews() });
    const events: string[] = [];
    for (const type of ['bus', 'tram', 'rail']) {
      const r = recorder();
      const deliver = r.deliver.bind(r);
      r.deliver = (update, view, skipped) => {
        events.push(`${type}:${update.sequence}`);
        deliver(update, view, skipped);
      };
      fanOut.subscribe(profile({ types: type }), r);
    }
    const pause = async () => {
      events.push('pause');
      await new Promise<void>((resolve) => setImmediate(resolve));
    };
    const written = await fanOut.publishPaced(snapshot(1, [bus('a', 59.1)]), pause);
    expect(written).toBe(3);
    expect(events).toEqual(['bus:1', 'pause', 'tram:1', 'pause', 'rail:1']);

    // A subscriber arriving during a pause, to a view not yet computed for this tick, gets that view's
    // previous state and then this tick's delta, in order.
    events.length = 0;
    const late = recorder();
    const publishing = fanOut.publishPaced(
      snapshot(2, [bus('a', 59.2), bus('t', 59.3, { transportType: 'tram' })]),
      async () => {
        if (late.got.length === 0) fanOut.subscribe(profile({ types: 'rail' }), late);
        await new Promise<void>((resolve) => setImmediate(resolve));
      },
    );
    await publishing;
    expect(late.got.map((g) => [g.sequence, g.keyframe])).toEqual([
      [1, true],
      [2, false],
    ]);
  });
});

describe('paced fan-out edges', () => {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('a profile released and taken again during a pause: its new subscriber gets one keyframe, not two', async () => {
    const fanOut = createFanOut({ views: createLiveViews() });
    const first = recorder();
    const other = recorder();
    fanOut.subscribe(profile({ types: 'tram' }), other);
    const subscription = fanOut.subscribe(profile({ types: 'bus' }), first)!;
    await fanOut.publishPaced(snapshot(1, [bus('a', 59.1)]), turn);
    const again = recorder();
    await fanOut.publishPaced(snapshot(2, [bus('a', 59.2)]), async () => {
      if (again.got.length === 0) {
        subscription.unsubscribe();
        fanOut.subscribe(profile({ types: 'bus' }), again);
      }
      await turn();
    });
    expect(again.got.map((g) => [g.sequence, g.keyframe])).toEqual([[2, true]]);
  });

  it('a view that missed a snapshot (a fan-out cut short) sends a keyframe next', () => {
    const views = createLiveViews({ keyframeEvery: 1_000 });
    const buses = views.acquire(profile({ types: 'bus' }))!;
    const trams = views.acquire(profile({ types: 'tram' }))!;
    const tram = (lat: number) => bus('t', lat, { transportType: 'tram' });
    views.publish(snapshot(1, [bus('a', 59.1), tram(59.1)]));
    views.publish(snapshot(2, [bus('a', 59.1), tram(59.1)]));
    expect(trams.latest()!.keyframe).toBe(false);
    // The first view's subscribers throw: the second view is not computed for tick 3, in which the tram moved.
    expect(() =>
      views.publishEach(snapshot(3, [bus('a', 59.1), tram(59.3)]), (view) => {
        if (view === buses) throw new Error('a transport failed');
      }),
    ).toThrow('a transport failed');
    views.publish(snapshot(4, [bus('a', 59.1), tram(59.3)]));
    expect(trams.latest()).toMatchObject({ keyframe: true, sequence: 4 });
    expect(trams.latest()!.vehicles.map((v) => v.position?.lat)).toEqual([59.3]);
  });

  it('while the id table starts again, every view still has its current state, then sends a keyframe', async () => {
    const views = createLiveViews({ keyframeEvery: 1_000, spareIds: 0 });
    const held = ['bus', 'tram', 'rail'].map((t) => views.acquire(profile({ types: t }))!);
    const eight = Array.from({ length: 8 }, (_, i) => bus(`v${i}`, 59.1));
    views.publish(snapshot(1, eight));
    views.publish(snapshot(2, eight));
    const seen: (number | undefined)[] = [];
    // Eight ids known, one vehicle now: more than 2 × 1 + 0, so the table starts again.
    await views.publishEach(
      snapshot(3, [bus('z', 59.1)]),
      () => {},
      async () => {
        for (const view of held) seen.push(view.current()?.sequence);
        await turn();
      },
    );
    expect(seen.every((s) => s !== undefined)).toBe(true);
    expect(held[0]!.latest()).toMatchObject({ keyframe: true, previousSequence: 2 });
    expect(held[0]!.latest()!.vehicles.map((v) => v.id)).toEqual(['z']);
  });

  it('refuses a second publish while a paced one runs', async () => {
    const views = createLiveViews();
    views.acquire(profile({ types: 'bus' }));
    views.acquire(profile({ types: 'tram' }));
    const running = views.publishEach(snapshot(1, [bus('a', 59.1)]), () => {}, turn);
    expect(() => views.publish(snapshot(2, []))).toThrow('still being published');
    await running;
    expect(views.publish(snapshot(2, []))).toHaveLength(2);
  });
});

describe('serial publisher', () => {
  it('runs one at a time; of what arrives meanwhile only the newest waits, and older arrivals are skipped', async () => {
    const ran: number[] = [];
    let skipped = 0;
    let release!: () => void;
    const publisher = createSerialPublisher<number>({
      run: async (n) => {
        ran.push(n);
        if (n === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      sequenceOf: (n) => n,
      skipped: () => skipped++,
      failed: () => {},
    });
    publisher.offer(1);
    await Promise.resolve();
    publisher.offer(3);
    publisher.offer(2); // older than what waits
    publisher.offer(4); // replaces 3
    release();
    await publisher.idle();
    expect(ran).toEqual([1, 4]);
    expect(skipped).toBe(2);
  });

  it('loses nothing offered just as a run ends, at any depth of promise callbacks', async () => {
    for (let depth = 0; depth < 8; depth++) {
      const ran: number[] = [];
      let finished!: Promise<void>;
      const publisher = createSerialPublisher<number>({
        run: (n) => {
          ran.push(n);
          const done = new Promise<void>((resolve) => setImmediate(resolve));
          if (n === 1) finished = done;
          return done;
        },
        sequenceOf: (n) => n,
        skipped: () => {},
        failed: () => {},
      });
      publisher.offer(1);
      await Promise.resolve();
      let chain = finished;
      for (let d = 0; d < depth; d++) chain = chain.then(() => {});
      await chain.then(() => publisher.offer(2));
      await publisher.idle();
      expect(ran, `offered ${depth} callbacks after the run`).toEqual([1, 2]);
    }
  });

  it('reports a failed run and goes on with the next', async () => {
    const failures: unknown[] = [];
    const ran: number[] = [];
    const publisher = createSerialPublisher<number>({
      run: async (n) => {
        ran.push(n);
        if (n === 1) throw new Error('boom');
      },
      sequenceOf: (n) => n,
      skipped: () => {},
      failed: (error) => failures.push(error),
    });
    publisher.offer(1);
    publisher.offer(2);
    await publisher.idle();
    expect(ran).toEqual([1, 2]);
    expect(failures).toHaveLength(1);
  });
});

describe('snapshot follower', () => {
  const announce = (sequence: number): Announcement => ({
    id: new Date(T + sequence).toISOString(),
    blobName: `b${sequence}`,
    sequence,
    generatedAt: T + sequence,
    vehicleCount: 0,
    bytes: 1,
  });
  const deferred = () => {
    let resolve!: (s: TransportSnapshot) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<TransportSnapshot>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
  const settle = () => new Promise((r) => setTimeout(r, 5));

  it('never lets a slow download hold back a newer snapshot, keeps only the newest waiting, and counts skips', async () => {
    const downloads = new Map<number, ReturnType<typeof deferred>>();
    const published: number[] = [];
    let skipped = 0;
    const failed: string[] = [];
    const follower = createSnapshotFollower({
      download: (d, signal) => {
        const job = deferred();
        signal.addEventListener('abort', () => job.reject(signal.reason as Error));
        downloads.set(d.sequence, job);
        return job.promise;
      },
      publish: (s) => published.push(s.sequence),
      maxInFlight: 2,
      metrics: { skipped: (n) => (skipped += n), failed: (r) => failed.push(r) },
    });
    follower.offer(announce(1)); // hangs
    follower.offer(announce(2));
    follower.offer(announce(3)); // waits
    follower.offer(announce(4)); // replaces 3
    follower.offer(announce(2)); // a redelivery
    expect([...downloads.keys()]).toEqual([1, 2]);
    downloads.get(2)!.resolve(snapshot(2, []));
    await settle();
    // 2 went out; 1 (overtaken) was abandoned; 4 started in its place.
    expect(published).toEqual([2]);
    expect([...downloads.keys()]).toEqual([1, 2, 4]);
    downloads.get(4)!.reject(Object.assign(new Error('boom'), { code: 'UNAVAILABLE' }));
    await settle();
    expect(failed).toEqual(['UNAVAILABLE']);
    follower.offer(announce(5));
    downloads.get(5)!.resolve(snapshot(5, []));
    await settle();
    expect(published).toEqual([2, 5]);
    expect(skipped).toBe(3); // 3 replaced, the redelivered 2, the overtaken 1
    await follower.close();
  });

  it('reads announcements and names what is wrong with a bad one', () => {
    expect(
      parseAnnouncement({
        snapshotId: 'x',
        blobName: 'y',
        sequence: 3,
        generatedAt: T,
        vehicleCount: 1,
        bytes: 9,
        changes: {},
      }),
    ).toMatchObject({ id: 'x', sequence: 3 });
    expect(parseAnnouncement({ snapshotId: 'x' })).toMatch(/^announcement blobName: /);
    expect(parseAnnouncement('nope')).toMatch(/^announcement body: /);
  });
});
