// runService in a real child process with real signals: in-flight requests finish before a clean exit 0, a stop
// that hangs past the timeout exits 1, and crashes are logged before exiting 1.

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const fixture = path.join(here, 'fixtures/service-fixture.ts');

interface Service {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  port: number;
  exited: Promise<number | null>;
}

let running: ChildProcess | undefined;
afterEach(() => {
  if (running?.exitCode === null) running.kill('SIGKILL');
});

async function startService(env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, ['--conditions=@transit-fusion/source', '--import', 'tsx', fixture], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running = child;
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        if (line.msg === 'listening') resolve(line.port as number);
      }
    });
    void exited.then((code) => reject(new Error(`fixture exited early with ${code}`)));
  });
  return { child, lines, port, exited };
}

describe('runService in a real process', () => {
  it('on SIGTERM finishes in-flight requests, refuses new connections, and exits 0', async () => {
    const service = await startService({ FIXTURE_WORK_MS: '600' });
    const inFlight = fetch(`http://127.0.0.1:${service.port}/work`);
    await new Promise((resolve) => setTimeout(resolve, 150));
    service.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(fetch(`http://127.0.0.1:${service.port}/healthz`)).rejects.toThrow();
    const response = await inFlight;
    expect([response.status, await response.text()]).toEqual([200, 'done']);
    expect(await service.exited).toBe(0);
    const messages = service.lines.map((l) => l.msg);
    expect(messages.indexOf('work finished')).toBeGreaterThan(messages.indexOf('stopping'));
    expect(messages.at(-1)).toBe('stopped');
  }, 20_000);

  it('exits 1 when stop outlives the shutdown timeout', async () => {
    const service = await startService({ FIXTURE_STOP: 'hang', FIXTURE_SHUTDOWN_TIMEOUT_MS: '300' });
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(1);
    expect(service.lines.at(-1)).toMatchObject({
      level: 'error',
      msg: 'stop did not finish in time: exiting',
    });
  }, 20_000);

  it.each([
    ['reject', 'unhandled promise rejection', 'nobody handles me'],
    ['throw', 'uncaught exception', 'thrown from a timer'],
  ])(
    'logs a crash (%s) as fatal before exiting 1',
    async (crash, msg, message) => {
      const child = spawn(
        process.execPath,
        ['--conditions=@transit-fusion/source', '--import', 'tsx', fixture],
        { cwd: root, env: { ...process.env, FIXTURE_CRASH: crash }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      running = child;
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await new Promise((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.at(-1)).toMatchObject({ level: 'fatal', msg, err: { message } });
    },
    20_000,
  );
});
