// The real service in a child process: it starts from the environment alone, serves its feeds on a free port,
// and stops cleanly (exit 0) on SIGTERM.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { describe, expect, it } from 'vitest';

const { transit_realtime } = GtfsRealtimeBindings;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('main.ts', () => {
  it('serves the feeds and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--conditions=@transit-fusion/source', '--import', 'tsx', MAIN], {
      env: { ...process.env, TF_SIM_PORT: '0', TF_SIM_HOST: '127.0.0.1', TF_SIM_VEHICLES: '200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let output = '';
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /"port":(\d+).*"simulator serving"/.exec(output);
        if (match) resolve(Number(match[1]));
      });
      void exited.then(() => reject(new Error(`exited early: ${output}`)));
    });
    try {
      expect(output).toContain('vendor C (fuel) is not pushed');
      const response = await fetch(`http://127.0.0.1:${port}/vendors/positions/gtfs-rt`);
      expect(response.status).toBe(200);
      const feed = transit_realtime.FeedMessage.decode(new Uint8Array(await response.arrayBuffer()));
      expect(feed.entity).toHaveLength(200);
      // Live timestamps follow the wall clock.
      expect(Math.abs(Number(feed.header.timestamp) * 1000 - Date.now())).toBeLessThan(10_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
