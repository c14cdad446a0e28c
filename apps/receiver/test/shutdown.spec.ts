// SIGTERM in real processes: in-flight pushes finish their sends and get their 202 before the process exits 0;
// and main.ts, wired to the emulator, stops the same way with every 202 on the topic.

import { afterEach, describe, expect, it } from 'vitest';
import { drainAll, startBus } from './bus.js';
import { startChild, type ChildService } from '@transit-fusion/testing';
import { API_KEY, sampleRecord } from './helpers.js';

let service: ChildService | undefined;
afterEach(() => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  service = undefined;
});

const pushTo = (port: number, i: number) =>
  fetch(`http://127.0.0.1:${port}/v1/vendors/acme/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify([sampleRecord(i)]),
  });

describe('SIGTERM', () => {
  it('lets in-flight sends complete (and answers them 202) before exiting 0', async () => {
    service = startChild('apps/receiver/test/fixtures/slow-sink-receiver.ts', { FIXTURE_SINK_MS: '600' });
    const { port } = (await service.waitFor((l) => l.msg === 'listening')) as { port: number };
    const inFlight = Array.from({ length: 5 }, (_, i) => pushTo(port, i));
    await new Promise((resolve) => setTimeout(resolve, 200));
    service.child.kill('SIGTERM');
    const responses = await Promise.all(inFlight);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { pushId: string }[];
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(await service.exited).toBe(0);
    const messages = service.lines.map((l) => l.msg);
    const sunk = service.lines.filter((l) => l.msg === 'sink accepted').map((l) => l.pushId);
    expect(sunk.sort()).toEqual(bodies.map((b) => b.pushId).sort());
    expect(messages.indexOf('stopping')).toBeLessThan(messages.indexOf('sink accepted'));
    expect(messages.at(-1)).toBe('stopped');
  });

  it('main.ts against the emulator: SIGTERM under load exits 0 and every 202 is on the topic', async () => {
    const bus = await startBus();
    try {
      service = startChild(
        'apps/receiver/src/main.ts',
        bus.env({ TF_RECEIVER_PORT: '0', TF_RECEIVER_HOST: '127.0.0.1' }),
      );
      const listening = await service.waitFor((l) => l.msg === 'receiver listening');
      const { port } = listening.address as { port: number };
      expect(listening).toMatchObject({ topic: 'vendor-pushes', vendors: ['acme', 'globex'] });
      expect(JSON.stringify(service.lines)).not.toContain('SharedAccessKey');

      const accepted: string[] = [];
      const refused: number[] = [];
      let running = true;
      const clients = Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; running; i++) {
          try {
            const response = await pushTo(port, c * 10_000 + i);
            if (response.status === 202)
              accepted.push(((await response.json()) as { pushId: string }).pushId);
            else refused.push(response.status);
          } catch {
            running = false; // connection refused: the server is closed
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
      running = false;
      await Promise.all(clients);

      expect(accepted.length).toBeGreaterThan(10);
      expect(refused.every((s) => s === 503)).toBe(true); // arrived while closing
      const drained = new Set((await drainAll(bus.emulator.connectionString)).map((m) => m.body.pushId));
      expect(accepted.filter((id) => !drained.has(id))).toEqual([]);
      expect(service.lines.at(-1)).toMatchObject({ msg: 'stopped' });
    } finally {
      await bus.stop();
    }
  });

  it('main.ts refuses to start with invalid settings, naming them, and exits 2', async () => {
    service = startChild('apps/receiver/src/main.ts', {
      TF_RECEIVER_VENDORS:
        '{"acme": {"auth": {"type": "api-key", "keys": ["super-secret-key-value"]}}, "x": }',
      TF_SERVICEBUS_CONNECTION_STRING: '',
      TF_SERVICEBUS_NAMESPACE: '',
    });
    expect(await service.exited).toBe(2);
    const [line] = service.lines;
    expect(line).toMatchObject({
      level: 'fatal',
      msg: expect.stringContaining('TF_RECEIVER_VENDORS: is not valid JSON'),
    });
    expect(JSON.stringify(service.lines)).not.toContain('super-secret-key-value');
  });
});
