// runService's decisions with a fake process (exact, fast); test/run-service.spec.ts drives a real process with
// real signals.

import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from './config-error.js';
import { EXIT_CONFIG, readConfigOrExit, runService, type ServiceProcess } from './run-service.js';

function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  const proc = Object.assign(emitter, { exit: (code: number) => void exits.push(code) });
  return { proc: proc as unknown as ServiceProcess & EventEmitter, exits };
}

function fakeLogger() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const at = (level: string) => (obj: object, msg: string) => void lines.push({ level, msg, obj });
  return { lines, logger: { info: at('info'), error: at('error'), fatal: at('fatal') } };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('runService', () => {
  it('starts, then on SIGTERM stops and exits 0', async () => {
    const { proc, exits } = fakeProcess();
    const { logger, lines } = fakeLogger();
    const events: string[] = [];
    await runService({
      process: proc,
      logger,
      shutdownTimeoutMs: 1_000,
      start: async () => void events.push('start'),
      stop: async () => void events.push('stop'),
    });
    expect(events).toEqual(['start']);
    proc.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(events).toEqual(['start', 'stop']);
    expect(exits).toEqual([0]);
    expect(lines.map((l) => l.msg)).toEqual(['started', 'stopping', 'stopped']);
  });

  it('exits 1 when stop outlives the shutdown timeout', async () => {
    vi.useFakeTimers();
    try {
      const { proc, exits } = fakeProcess();
      const { logger, lines } = fakeLogger();
      await runService({
        process: proc,
        logger,
        shutdownTimeoutMs: 5_000,
        start: async () => {},
        stop: () => new Promise(() => {}),
      });
      proc.emit('SIGINT', 'SIGINT');
      await vi.advanceTimersByTimeAsync(4_999);
      expect(exits).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(exits).toEqual([1]);
      expect(lines.at(-1)).toMatchObject({ level: 'error', msg: 'stop did not finish in time: exiting' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('exits 1 when stop fails, and at once on a second signal', async () => {
    const failing = fakeProcess();
    await runService({
      process: failing.proc,
      logger: fakeLogger().logger,
      shutdownTimeoutMs: 1_000,
      start: async () => {},
      stop: async () => {
        throw new Error('close failed');
      },
    });
    failing.proc.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(failing.exits).toEqual([1]);

    const impatient = fakeProcess();
    let finishStop!: () => void;
    await runService({
      process: impatient.proc,
      logger: fakeLogger().logger,
      shutdownTimeoutMs: 1_000,
      start: async () => {},
      stop: () => new Promise<void>((resolve) => (finishStop = resolve)),
    });
    impatient.proc.emit('SIGTERM', 'SIGTERM');
    impatient.proc.emit('SIGINT', 'SIGINT');
    expect(impatient.exits).toEqual([1]);
    finishStop();
    await tick();
    expect(impatient.exits).toEqual([1]); // exits once
  });

  it('logs uncaught exceptions and unhandled rejections as fatal and exits 1', async () => {
    for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
      const { proc, exits } = fakeProcess();
      const { logger, lines } = fakeLogger();
      await runService({
        process: proc,
        logger,
        shutdownTimeoutMs: 1_000,
        start: async () => {},
        stop: async () => {},
      });
      const error = new Error(`from ${event}`);
      proc.emit(event, error);
      expect(exits).toEqual([1]);
      expect(lines.at(-1)).toMatchObject({ level: 'fatal', obj: { err: error } });
    }
  });

  it('logs a failed start, stops what started, and exits 1', async () => {
    const { proc, exits } = fakeProcess();
    const { logger, lines } = fakeLogger();
    const stop = vi.fn(async () => {});
    await runService({
      process: proc,
      logger,
      shutdownTimeoutMs: 1_000,
      start: async () => {
        throw new Error('port in use');
      },
      stop,
    });
    await tick();
    expect(stop).toHaveBeenCalledOnce();
    expect(exits).toEqual([1]);
    expect(lines[0]).toMatchObject({ level: 'fatal', msg: 'start failed' });
  });
});

describe('readConfigOrExit', () => {
  it('returns the config, or logs the issues and exits 2 on a ConfigError', () => {
    const exits: number[] = [];
    const proc = { exit: (code: number) => void exits.push(code) };
    expect(readConfigOrExit('test', () => ({ port: 1 }), proc)).toEqual({ port: 1 });
    expect(() =>
      readConfigOrExit(
        'test',
        () => {
          throw new ConfigError('INVALID_CONFIG', [{ variable: 'TF_PORT', message: 'must be a number' }]);
        },
        proc,
      ),
    ).toThrow('TF_PORT: must be a number');
    expect(exits).toEqual([EXIT_CONFIG]);
    expect(() =>
      readConfigOrExit(
        'test',
        () => {
          throw new TypeError('a bug');
        },
        proc,
      ),
    ).toThrow('a bug');
    expect(exits).toEqual([2]);
  });
});
