// One service of the local stack as its own process: its TypeScript entry run the way its README says, its JSON
// log lines (pino) printed as one readable line each behind a coloured name, and a stop that sends SIGTERM and
// waits (SIGKILL after a grace period), so Ctrl-C leaves nothing running.

import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

const COLOURS = [36, 33, 35, 32, 34, 31, 96, 93];
const LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const QUIET_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg']);

/** A pino JSON line as `level msg key=value…`; anything else as it is. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null) return line;
  const level = LEVELS[Number(entry['level'])] ?? String(entry['level'] ?? '');
  const extras = Object.entries(entry)
    .filter(([key]) => !QUIET_KEYS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [level.padEnd(5), String(entry['msg'] ?? ''), ...extras].join(' ').trimEnd();
}

let next = 0;

export function startServiceProcess(options: {
  name: string;
  /** Repository-relative path of the entry (its main.ts). */
  entry: string;
  env: Record<string, string>;
  cwd: string;
  write: (line: string) => void;
  colour?: boolean;
}): ServiceProcess {
  const colour = COLOURS[next++ % COLOURS.length]!;
  const label =
    options.colour === false ? `[${options.name}]` : `\u001b[${colour}m[${options.name}]\u001b[0m`;
  const prefix = `${label}${' '.repeat(Math.max(1, 12 - options.name.length))}`;
  const child = spawn(
    process.execPath,
    ['--conditions=@transit-fusion/source', '--import', 'tsx', options.entry],
    {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only the stack, which stops the services in order
      // (the broadcaster first) with one SIGTERM each, rather than every process at once.
      detached: true,
    },
  );
  // If the stack itself dies, its services must not outlive it.
  const orphanGuard = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.on('exit', orphanGuard);
  const pipe = (stream: NodeJS.ReadableStream) => {
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) options.write(`${prefix}${formatLogLine(line)}`);
      }
    });
  };
  pipe(child.stdout!);
  pipe(child.stderr!);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      process.off('exit', orphanGuard);
      resolve(code);
    }),
  );
  return {
    name: options.name,
    child,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
