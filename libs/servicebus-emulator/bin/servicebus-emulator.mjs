#!/usr/bin/env node
// The `servicebus-emulator` command. It runs the TypeScript sources (src/main.ts) through tsx, with the workspace's
// source export condition, as apps/cli's bin does: a child process, because export conditions are a Node startup
// flag. Unlike that short-lived command this one serves until stopped, so the child is spawned asynchronously
// and SIGINT/SIGTERM are passed on to it (an orchestrator signals this process, not the child), and this process
// exits the way the child did.

import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(import.meta.resolve('../src/main.ts'));
// Resolved from here, not from the caller's working directory, so the command works from anywhere.
const tsx = import.meta.resolve('tsx');

const child = spawn(
  process.execPath,
  ['--conditions=@transit-fusion/source', '--import', tsx, main, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('error', (error) => {
  process.stderr.write(`servicebus-emulator: could not start: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  // Killed by a signal: exit the way a shell reports it (128 + signal number).
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
