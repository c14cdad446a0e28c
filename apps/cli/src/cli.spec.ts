import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDeviceStateTable } from '@transit-fusion/storage';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshStorage, type TestStorage } from '../test/azurite.js';
import { lines, run, snapshotAt } from '../test/fixtures.js';

// The CLI's store uses the real clock (nothing is searched for in the future), so fixtures lie in the recent past.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000;
const at = (seconds: number) => T0 + seconds * 1000;
const iso = (t: number) => new Date(t).toISOString();

describe('transit-fusion snapshot (five snapshots, one a second)', () => {
  let storage: TestStorage;
  const range = () => ['--from', iso(at(0)), '--to', iso(at(4))];

  beforeAll(async () => {
    storage = await freshStorage();
    for (let i = 0; i < 5; i++) await storage.store.write(snapshotAt(at(i), i + 1));
  });

  it('at <time>: summarises the closest snapshot', async () => {
    const result = await run(['snapshot', 'at', iso(at(2) + 400)], storage.env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^id\\s+${iso(at(2)).replace(/\./g, '\\.')}$`, 'm'));
    expect(result.stdout).toMatch(/^sequence\s+3$/m);
    expect(result.stdout).toMatch(/^vehicles\s+3$/m);
    expect(result.stdout).toMatch(/by type\s+bus 1, tram 1, ferry 1/);
    expect(result.stdout).toMatch(/by status\s+on_duty 2, parked 1/);
    expect(result.stdout).toContain('0.4 s before the requested time');
  });

  it('at <time> takes epoch milliseconds and a later snapshot when it is closer', async () => {
    const result = await run(['snapshot', 'at', String(at(2) + 600), '--format', 'json'], storage.env);
    expect(result.code).toBe(0);
    const snapshot = JSON.parse(result.stdout);
    expect(snapshot).toMatchObject({ sequence: 4, generatedAt: at(3) });
    expect(snapshot.vehicles.map((v: { id: string }) => v.id)).toEqual(['bus-1', 'tram-4', 'ferry-2']);
  });

  it('at <time> --before: never a later snapshot', async () => {
    const result = await run(
      ['snapshot', 'at', iso(at(2) + 900), '--before', '--format', 'json'],
      storage.env,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ sequence: 3, generatedAt: at(2) });
  });

  it('at <time> accepts an ISO time with an offset', async () => {
    const local = new Date(at(1) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const result = await run(['snapshot', 'at', local, '--format', 'json'], storage.env);
    expect(JSON.parse(result.stdout)).toMatchObject({ sequence: 2 });
  });

  it('list: one line per descriptor, or NDJSON', async () => {
    const text = await run(['snapshot', 'list', ...range()], storage.env);
    expect(text.code).toBe(0);
    expect(lines(text.stdout)).toHaveLength(5);
    expect(lines(text.stdout)[0]).toMatch(
      new RegExp(`^${iso(at(0)).replace(/\./g, '\\.')}\\s+sequence 1\\s+vehicles 3\\s+bytes \\d+$`),
    );

    const json = await run(['snapshot', 'list', ...range(), '--json'], storage.env);
    const descriptors = lines(json.stdout).map((line) => JSON.parse(line));
    expect(descriptors.map((d) => d.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(descriptors[0]).toMatchObject({ id: iso(at(0)), vehicleCount: 3, generatedAt: at(0) });
    expect(descriptors[0].bytes).toBeGreaterThan(0);
  });

  it('list: a part of the range', async () => {
    const result = await run(
      ['snapshot', 'list', '--from', String(at(1)), '--to', String(at(3) - 1), '--json'],
      storage.env,
    );
    expect(lines(result.stdout).map((line) => JSON.parse(line).sequence)).toEqual([2, 3]);
  });

  it('export --format ndjson: one snapshot per line', async () => {
    const result = await run(['snapshot', 'export', ...range(), '--format', 'ndjson'], storage.env);
    expect(result.code).toBe(0);
    const snapshots = lines(result.stdout).map((line) => JSON.parse(line));
    expect(snapshots).toHaveLength(5);
    expect(snapshots.map((s) => s.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(Object.keys(snapshots[0]).sort()).toEqual(['generatedAt', 'id', 'sequence', 'vehicles']);
    expect(snapshots[4]).toMatchObject({ id: iso(at(4)), generatedAt: at(4) });
    expect(snapshots[4].vehicles).toHaveLength(3);
    expect(snapshots[4].vehicles[0]).toMatchObject({ id: 'bus-1', routeId: '17', tripId: '17-5' });
    expect(result.stderr).toBe('exported 5 snapshots, skipped 0\n');
  });

  it('export --format geojson: a FeatureCollection of one point per positioned vehicle per snapshot', async () => {
    const result = await run(['snapshot', 'export', ...range(), '--format', 'geojson'], storage.env);
    expect(result.code).toBe(0);
    const collection = JSON.parse(result.stdout);
    expect(collection.type).toBe('FeatureCollection');
    // Two of three vehicles have a position; the ferry is skipped.
    expect(collection.features).toHaveLength(10);
    for (const feature of collection.features) {
      expect(feature.type).toBe('Feature');
      expect(feature.geometry.type).toBe('Point');
      expect(feature.geometry.coordinates).toHaveLength(2);
      expect(feature.geometry.coordinates.every(Number.isFinite)).toBe(true);
    }
    const bus = snapshotAt(at(0), 1).vehicles[0]!.position!;
    expect(collection.features[0]).toEqual({
      type: 'Feature',
      id: 'bus-1',
      geometry: { type: 'Point', coordinates: [bus.lon, bus.lat] },
      properties: {
        snapshotId: iso(at(0)),
        vehicleId: 'bus-1',
        label: '1001',
        quality: 0,
        transportType: 'bus',
        status: 'on_duty',
        speed: 8.5,
        delay: null,
        fuel: null,
        routeId: '17',
        tripId: '17-1',
        bearing: 90,
      },
    });
    expect(collection.features[1].properties).toMatchObject({ vehicleId: 'tram-4', delay: -30 });
    expect(
      new Set(collection.features.map((f: { properties: { snapshotId: string } }) => f.properties.snapshotId))
        .size,
    ).toBe(5);
    expect(result.stderr).toBe('exported 5 snapshots, skipped 0\n');
  });

  it('export of an empty range: an empty collection, exit 0', async () => {
    const result = await run(
      ['snapshot', 'export', '--from', String(at(10)), '--to', String(at(20)), '--format', 'geojson'],
      storage.env,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ type: 'FeatureCollection', features: [] });
    expect(result.stderr).toBe('exported 0 snapshots, skipped 0\n');
  });

  it('export --out: writes the file (and nothing else) and leaves no partial file behind', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tf-cli-'));
    try {
      const file = path.join(dir, 'export.ndjson');
      const result = await run(
        ['snapshot', 'export', ...range(), '--format', 'ndjson', '--out', file],
        storage.env,
      );
      expect(result).toMatchObject({ code: 0, stdout: '' });
      expect(result.stderr).toBe(`exported 5 snapshots, skipped 0 to ${file}\n`);
      expect(lines(await readFile(file, 'utf8'))).toHaveLength(5);
      expect(await readdir(dir)).toEqual(['export.ndjson']);

      const missingDir = await run(
        ['snapshot', 'export', ...range(), '--format', 'ndjson', '--out', path.join(dir, 'no', 'x.json')],
        storage.env,
      );
      expect(missingDir.code).toBe(1);
      expect(missingDir.stderr).toContain('ENOENT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bad times: exit 2 with a message naming the argument', async () => {
    const time = await run(['snapshot', 'at', 'yesterday'], storage.env);
    expect(time.code).toBe(2);
    expect(time.stderr).toContain('<time> must be an ISO-8601 time with a zone');
    expect(time.stderr).toContain('"yesterday"');

    const from = await run(
      ['snapshot', 'list', '--from', '2026-11-21 08:47', '--to', iso(at(0))],
      storage.env,
    );
    expect(from.code).toBe(2);
    expect(from.stderr).toMatch(/--from must be .*"2026-11-21 08:47"/);

    const seconds = await run(['snapshot', 'list', '--from', '0', '--to', '1700000000'], storage.env);
    expect(seconds.code).toBe(2);
    expect(seconds.stderr).toMatch(/--from .*seconds given instead of milliseconds/);

    const reversed = await run(['snapshot', 'list', '--from', iso(at(4)), '--to', iso(at(0))], storage.env);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toContain('--from');
  });

  it('usage errors (unknown format, missing option): exit 2', async () => {
    const format = await run(['snapshot', 'at', iso(at(0)), '--format', 'xml'], storage.env);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain("'xml' is invalid");
    const missing = await run(['snapshot', 'export', ...range()], storage.env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--format');
  });

  it('--help: exit 0, usage on stdout', async () => {
    const result = await run(['snapshot', 'export', '--help'], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: transit-fusion snapshot export');
  });
});

describe('transit-fusion snapshot: nothing there', () => {
  it('at <time> with no snapshot anywhere near: NOT_FOUND, exit 1', async () => {
    const storage = await freshStorage();
    const result = await run(['snapshot', 'at', iso(T0)], storage.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOT_FOUND');
  });
});

describe('transit-fusion snapshot export with unreadable snapshots', () => {
  it('reports a corrupt blob by name, skips it and exports the others (exit 0)', async () => {
    const storage = await freshStorage();
    const descriptors = [];
    for (let i = 0; i < 3; i++) descriptors.push(await storage.store.write(snapshotAt(at(i), i + 1)));
    const corrupt = descriptors[1]!.blobName;
    await storage.clients.container(storage.container).getBlockBlobClient(corrupt).upload('not msgpack', 11);

    for (const format of ['ndjson', 'geojson']) {
      const result = await run(
        ['snapshot', 'export', '--from', iso(at(0)), '--to', iso(at(2)), '--format', format],
        storage.env,
      );
      expect(result.code).toBe(0);
      expect(result.stderr).toContain(`blob ${corrupt}`);
      expect(lines(result.stderr).at(-1)).toBe('exported 2 snapshots, skipped 1');
      if (format === 'ndjson') {
        expect(lines(result.stdout).map((line) => JSON.parse(line).sequence)).toEqual([1, 3]);
      } else {
        expect(JSON.parse(result.stdout).features).toHaveLength(4);
      }
    }
  });

  it('exit 1 when every snapshot in the range was skipped (a corrupt and a missing blob)', async () => {
    const storage = await freshStorage();
    const a = await storage.store.write(snapshotAt(at(0), 1));
    const b = await storage.store.write(snapshotAt(at(1), 2));
    const container = storage.clients.container(storage.container);
    await container.getBlockBlobClient(a.blobName).upload('garbage', 7);
    await container.getBlockBlobClient(b.blobName).delete();

    const result = await run(
      ['snapshot', 'export', '--from', iso(at(0)), '--to', iso(at(1)), '--format', 'ndjson'],
      storage.env,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(a.blobName);
    expect(result.stderr).toContain(b.blobName);
    expect(lines(result.stderr).at(-1)).toBe('exported 0 snapshots, skipped 2');
  });
});

describe('transit-fusion snapshot export progress', () => {
  it('draws a bar on a terminal for long ranges, never when stderr is not a terminal', async () => {
    const storage = await freshStorage();
    const count = 55;
    // One after another, as the composer writes them.
    for (let i = 0; i < count; i++) await storage.store.write(snapshotAt(at(i), i + 1));
    const args = ['snapshot', 'export', '--from', iso(at(0)), '--to', iso(at(count)), '--format', 'ndjson'];

    const piped = await run(args, storage.env, { isTTY: false });
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe(`exported ${count} snapshots, skipped 0\n`);

    const terminal = await run(args, storage.env, { isTTY: true });
    expect(terminal.code).toBe(0);
    expect(lines(terminal.stdout)).toHaveLength(count);
    expect(terminal.stderr).toContain(`${count}/${count} snapshots`);
    expect(lines(terminal.stderr).at(-1)).toBe(`exported ${count} snapshots, skipped 0`);
  });
});

describe('configuration', () => {
  it('missing storage settings: exit 2 naming TF_STORAGE_CONNECTION_STRING', async () => {
    const result = await run(['snapshot', 'list', '--from', iso(T0), '--to', iso(T0 + 1000)], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TF_STORAGE_CONNECTION_STRING');
    expect(result.stdout).toBe('');
  });

  it('a bad setting: exit 2 naming the variable, and no secret in the output', async () => {
    const secret = 'AccountKey=c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ=';
    const connectionString = `DefaultEndpointsProtocol=https;AccountName=acct;${secret};EndpointSuffix=core.windows.net`;
    const bad = await run(['snapshot', 'at', iso(T0)], {
      TF_STORAGE_CONNECTION_STRING: connectionString,
      TF_SNAPSHOT_CONTAINER: 'Not_A_Container',
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TF_SNAPSHOT_CONTAINER');
    const both = await run(['snapshot', 'at', iso(T0)], {
      TF_STORAGE_CONNECTION_STRING: connectionString,
      TF_STORAGE_BLOB_URL: 'https://acct.blob.core.windows.net',
      TF_STORAGE_TABLE_URL: 'https://acct.table.core.windows.net',
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('TF_STORAGE_CONNECTION_STRING');
    for (const output of [bad.stdout, bad.stderr, both.stdout, both.stderr]) {
      expect(output).not.toContain('c2VjcmV0LWtleS1kby1ub3QtcHJpbnQ');
    }
  });
});

describe('transit-fusion vehicle state', () => {
  it('prints the device state of a recorded vehicle, as text or JSON', async () => {
    const storage = await freshStorage();
    const devices = createDeviceStateTable({ clients: storage.clients, table: storage.deviceTable });
    await devices.record('bus/17#1', { seenAt: at(0), position: { lat: 59.437, lon: 24.745 } });
    await devices.record('bus/17#1', { seenAt: at(1), position: { lat: 59.438, lon: 24.746 }, quality: 3 });

    const text = await run(['vehicle', 'state', 'bus/17#1'], storage.env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^vehicle\s+bus\/17#1$/m);
    expect(text.stdout).toMatch(/^messages\s+2$/m);
    expect(text.stdout).toMatch(new RegExp(`^lastSeen\\s+${iso(at(1)).replace(/\./g, '\\.')}$`, 'm'));
    expect(text.stdout).toMatch(/^position\s+59\.438, 24\.746$/m);
    expect(text.stdout).toMatch(/^quality\s+3 \(Partial, InvalidPosition\)$/m);

    const json = await run(['vehicle', 'state', 'bus/17#1', '--json'], storage.env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      vehicleId: 'bus/17#1',
      messageCount: 2,
      lastSeen: at(1),
      quality: 3,
      flags: ['Partial', 'InvalidPosition'],
    });
  });

  it('an unknown vehicle: NOT_FOUND, exit 1', async () => {
    const storage = await freshStorage();
    const result = await run(['vehicle', 'state', 'nobody'], storage.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOT_FOUND');
    expect(result.stderr).toContain('nobody');
  });
});
