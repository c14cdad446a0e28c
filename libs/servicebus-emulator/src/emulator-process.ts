// The emulator in its own process (the `servicebus-emulator` command's entry), for benchmarks and the local stack:
// a broker sharing the event loop of the service under test would bill its own work to that service. Resolves once
// the emulator prints its connection string; stop() sends SIGTERM and waits for the exit.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmulatorError } from './emulator-error.js';

export interface EmulatorProcessOptions {
  /** A config object in Microsoft's emulator format (written to a temporary file), or the path of one. */
  readonly config: object | string;
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** How long to wait for the emulator to listen (default 30 s). */
  readonly startTimeoutMs?: number;
  /**
   * Run in a process group of its own, so a terminal's Ctrl-C does not stop it before the services using it
   * (the caller stops it last). It is killed if the caller's process exits first.
   */
  readonly ownProcessGroup?: boolean;
}

export interface EmulatorProcess {
  readonly connectionString: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export function spawnServiceBusEmulator(options: EmulatorProcessOptions): Promise<EmulatorProcess> {
  let configPath: string;
  if (typeof options.config === 'string') {
    configPath = options.config;
  } else {
    configPath = path.join(mkdtempSync(path.join(tmpdir(), 'sb-emulator-')), 'config.json');
    writeFileSync(configPath, JSON.stringify(options.config));
  }
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      '--conditions=@transit-fusion/source',
      '--import',
      // Resolved from here, not from the caller's working directory.
      import.meta.resolve('tsx'),
      main,
      '--config',
      configPath,
      '--host',
      options.host ?? '127.0.0.1',
      '--port',
      String(options.port ?? 0),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: options.ownProcessGroup === true },
  );
  const orphanGuard = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  if (options.ownProcessGroup) process.on('exit', orphanGuard);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.off('exit', orphanGuard);
      resolve();
    }),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmulatorError('LISTEN_FAILED', `emulator did not start in time: ${err.slice(-500)}`));
    }, options.startTimeoutMs ?? 30_000);
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exitedEarly = (code: number | null) => {
      clearTimeout(timer);
      reject(new EmulatorError('LISTEN_FAILED', `emulator exited with ${code}: ${err.slice(-500)}`));
    };
    child.once('exit', exitedEarly);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Connection string: (\S+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', exitedEarly);
      resolve({
        connectionString: match[1]!,
        pid: child.pid!,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
