#!/usr/bin/env node
// The `transit-fusion` command. For now it runs the TypeScript sources (src/main.ts) through tsx, with the
// workspace's source export condition so @transit-fusion/* packages resolve to their sources too; a production
// bundle (no tsx, no sources) comes in a later issue. A child process, because export conditions are a Node
// startup flag and cannot be turned on from inside a running process.

import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(import.meta.resolve('../src/main.ts'));
// Resolved from here, not from the caller's working directory, so the command works from anywhere.
const tsx = import.meta.resolve('tsx');

const result = spawnSync(
  process.execPath,
  ['--conditions=@transit-fusion/source', '--import', tsx, main, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
if (result.error) {
  process.stderr.write(`transit-fusion: could not start: ${result.error.message}\n`);
  process.exit(1);
}
// Killed by a signal: exit the way a shell reports it (128 + signal number).
process.exit(result.status ?? 128 + (constants.signals[result.signal] ?? 0));
