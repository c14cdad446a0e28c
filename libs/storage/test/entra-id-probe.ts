// Run by entra-id.spec.ts in a child process that trusts the test CA (NODE_EXTRA_CA_CERTS is read at startup):
// drives every storage component through account URLs and a token credential, and prints what happened as JSON.

import type { TokenCredential } from '@azure/identity';
import {
  createDeviceStateTable,
  createSnapshotStore,
  createStorageClients,
  createVendorSnapshotRepository,
} from '../src/index.js';

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** An Entra ID–shaped access token. Azurite's `--oauth basic` checks audience, issuer and lifetime, not signatures. */
function credential(audience: string): TokenCredential {
  return {
    async getToken() {
      const now = Math.floor(Date.now() / 1000);
      const tenant = 'ab1f708d-50f6-404c-a006-d71b2ac7a606';
      const claims = {
        aud: audience,
        iss: `https://sts.windows.net/${tenant}/`,
        iat: now,
        nbf: now,
        exp: now + 3600,
        tid: tenant,
        oid: '00000000-0000-0000-0000-000000000001',
      };
      return {
        token: `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJl`,
        expiresOnTimestamp: (now + 3600) * 1000,
      };
    },
  };
}

async function attempt(audience: string) {
  const clients = createStorageClients({
    blobUrl: process.env.PROBE_BLOB_URL!,
    tableUrl: process.env.PROBE_TABLE_URL!,
    credential: credential(audience),
  });
  try {
    const store = createSnapshotStore({
      clients,
      container: 'entra',
      table: 'EntraIndex',
      retentionMs: 3_600_000,
    });
    await store.ensure();
    const d = await store.write({
      sequence: 7,
      generatedAt: Date.UTC(2026, 10, 20, 8, 47),
      sources: [],
      vehicles: [],
    });
    const snapshot = await store.get(d.id);
    await clients.container('entra-vendors').createIfNotExists();
    const vendors = createVendorSnapshotRepository({ clients, container: 'entra-vendors' });
    await vendors.save({
      vendorId: 'positions',
      sequence: 1,
      collectedAt: Date.UTC(2026, 10, 20),
      records: [],
    });
    const vendor = await vendors.readLatest('positions');
    await clients.table('EntraDevices').createTable();
    const devices = createDeviceStateTable({ clients, table: 'EntraDevices' });
    const outcome = await devices.record('bus-1', { seenAt: Date.UTC(2026, 10, 20) });
    return { ok: true, sequence: snapshot.sequence, vendor: vendor.status, device: outcome.status };
  } catch (error) {
    return { ok: false, error: String(error).slice(0, 300) };
  }
}

const results = {
  storageAudience: await attempt('https://storage.azure.com'),
  wrongAudience: await attempt('https://not-storage.example'),
};
process.stdout.write(JSON.stringify(results));
