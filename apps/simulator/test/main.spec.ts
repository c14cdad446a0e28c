// The real service in a child process: it starts from the environment alone, serves its feeds on a free port,
// pushes vendor C to a receiver and counts the outcomes in its metrics, and stops cleanly (exit 0) on SIGTERM.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import GtfsRealtimeBindings from 'gtfs-realtime-bindings';
import { isModelError, parseVendorRecord } from '@transit-fusion/model';
import { describe, expect, it } from 'vitest';

const { transit_realtime } = GtfsRealtimeBindings;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** Starts main.ts with these variables; resolves once it serves, with its port. */
async function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=@transit-fusion/source', '--import', 'tsx', MAIN], {
    env: { ...process.env, TF_SIM_PORT: '0', TF_SIM_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const state = { output: '' };
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      state.output += chunk.toString();
      const match = /"port":(\d+).*"simulator serving"/.exec(state.output);
      if (match) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`exited early: ${state.output}`)));
  });
  return { child, exited, port, state };
}

describe('main.ts', () => {
  it('serves the feeds and exits 0 on SIGTERM', async () => {
    const { child, exited, port, state } = await start({ TF_SIM_VEHICLES: '200' });
    const output = state.output;
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

  it('pushes fuel to the receiver and counts the corrupt pushes it rejects apart from failed ones', async () => {
    // A stand-in receiver validating like the real one: 400 for a body that is not JSON or holds a bad record.
    const receiver = Fastify();
    receiver.removeContentTypeParser('application/json');
    receiver.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    let received = 0;
    receiver.post('/v1/vendors/fuel/records', async (request, reply) => {
      received++;
      try {
        const { records } = JSON.parse(request.body as string) as { records: unknown[] };
        records.forEach((r) => parseVendorRecord(r));
        return await reply.code(202).send({});
      } catch (error) {
        if (error instanceof SyntaxError || isModelError(error))
          return reply.code(400).send({ error: 'invalid' });
        throw error;
      }
    });
    const url = await receiver.listen({ host: '127.0.0.1', port: 0 });
    const { child, exited, port } = await start({
      TF_SIM_VEHICLES: '50',
      TF_SIM_RECEIVER_URL: url,
      TF_SIM_RECEIVER_API_KEY: 'fuel-key',
      TF_SIM_PUSH_INTERVAL_S: '1',
      TF_SIM_FAULT_MALFORMED_RATE: '1',
      TF_SIM_FAULT_VENDORS: 'fuel',
    });
    try {
      // `name{labels} value`, the labels holding `outcome="…"` when one is asked for.
      const counted = (metrics: string, name: string, outcome?: string) => {
        const line = metrics
          .split('\n')
          .find((l) => l.startsWith(`${name}{`) && (!outcome || l.includes(`outcome="${outcome}"`)));
        return Number(line?.split(' ').at(-1) ?? 0);
      };
      // The first push goes out after one interval (1 s); wait up to 5 s for its outcome.
      let metrics = '';
      const deadline = Date.now() + 5_000;
      while (counted(metrics, 'simulator_fuel_malformed_pushes_total') === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      }
      const pushes = counted(metrics, 'simulator_fuel_malformed_pushes_total');
      expect(pushes).toBeGreaterThan(0);
      expect(received).toBeGreaterThanOrEqual(pushes);
      expect(counted(metrics, 'simulator_fuel_pushes_total', 'rejected')).toBe(pushes);
      expect(counted(metrics, 'simulator_fuel_pushes_total', 'failed')).toBe(0);
      expect(counted(metrics, 'simulator_fuel_pushes_total', 'accepted')).toBe(0);
    } finally {
      child.kill('SIGTERM');
      await receiver.close();
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
