import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type AzuriteInstance } from '@transit-fusion/testing';

// The account-URL + Entra ID path, end to end: Azurite serves HTTPS and demands bearer tokens (`--oauth basic`),
// and a child process that trusts the test certificate uses every storage component with a token credential.
// Account keys prove nothing here; the point is that the same code runs on a real account with managed identity.
const here = path.dirname(fileURLToPath(import.meta.url));
let dir: string;
let azurite: AzuriteInstance;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tf-entra-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  azurite = await startAzurite({
    oauth: { certPath: path.join(dir, 'cert.pem'), keyPath: path.join(dir, 'key.pem') },
  });
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Entra ID authentication (account URLs + token credential)', () => {
  it('works for snapshots, vendor snapshots and device state, and a token for another audience is refused', () => {
    const output = execFileSync(
      process.execPath,
      [
        '--conditions=@transit-fusion/source',
        '--import',
        'tsx',
        path.join(here, '../test/entra-id-probe.ts'),
      ],
      {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem'),
          PROBE_BLOB_URL: azurite.blobEndpoint,
          PROBE_TABLE_URL: azurite.tableEndpoint,
        },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const results = JSON.parse(output);
    expect(azurite.blobEndpoint).toMatch(/^https:/);
    expect(results.storageAudience).toEqual({ ok: true, sequence: 7, vendor: 'changed', device: 'updated' });
    expect(results.wrongAudience.ok).toBe(false);
    expect(results.wrongAudience.error).toMatch(/UNAVAILABLE.*(authenticate|Authorization|403|401)/is);
  }, 90_000);
});
