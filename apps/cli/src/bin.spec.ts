// The real command, as a user runs it: node, the bin script, tsx and the sources, in a child process.

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freshStorage } from '../test/azurite.js';
import { lines, snapshotAt } from '../test/fixtures.js';

const bin = fileURLToPath(new URL('../bin/transit-fusion.mjs', import.meta.url));
const exec = promisify(execFile);

describe('bin/transit-fusion.mjs', () => {
  it('runs `snapshot list` against storage configured in the environment', async () => {
    const storage = await freshStorage();
    const t = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    await storage.store.write(snapshotAt(t, 1));
    await storage.store.write(snapshotAt(t + 1000, 2));

    const { stdout } = await exec(
      process.execPath,
      [bin, 'snapshot', 'list', '--from', new Date(t).toISOString(), '--to', String(t + 1000), '--json'],
      { env: { ...process.env, ...storage.env }, cwd: '/' },
    );
    expect(lines(stdout).map((line) => JSON.parse(line).sequence)).toEqual([1, 2]);
  });

  it('exits with the CLI exit code', async () => {
    const failure = await exec(process.execPath, [bin, 'snapshot', 'at', 'noon'], {
      env: { ...process.env, TF_STORAGE_CONNECTION_STRING: '' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('<time>');
  });
});
