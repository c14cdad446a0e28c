import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, startAzurite } from './index.js';

describe('startAzurite', () => {
  it('serves Blob and Table storage on free ports and stops cleanly, leaving the ports free', async () => {
    const azurite = await startAzurite();
    expect(azurite.connectionString).toContain(`BlobEndpoint=http://127.0.0.1:${azurite.blobPort}/`);
    const blob = await fetch(`${azurite.blobEndpoint}?comp=list`);
    expect(blob.status).toBeLessThan(500); // reachable (403 without a signature is fine)
    await azurite.stop();
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect(azurite.blobPort, '127.0.0.1');
        s.once('connect', () => reject(new Error('still listening')));
        s.once('error', resolve);
      }),
    ).resolves.toBeDefined();
  }, 30_000);

  it('gives a clear error when a port is taken', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    try {
      await expect(startAzurite({ blobPort: port })).rejects.toThrow(/Azurite exited|nothing listens/);
    } finally {
      blocker.close();
    }
  }, 30_000);
});
