// main.ts in a child process as deployed: gRPC health SERVING, the archive refusing anonymous calls, the .proto
// downloadable over HTTP; SIGTERM exits 0; missing tokens stop start-up with exit code 2 and a clear message.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadTransitFusionProto, PROTO_FILE, PROTO_ROOT } from '@transit-fusion/grpc-api';
import { freePort, startChild, type ChildService } from '@transit-fusion/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';

let service: ChildService | undefined;
afterEach(() => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  service = undefined;
});

describe('the broadcaster process (main.ts)', () => {
  it('serves gRPC health and the archive (token required), the .proto over HTTP, and exits 0 on SIGTERM', async () => {
    const [httpPort, grpcPort] = [await freePort(), await freePort()];
    service = startChild('apps/broadcaster/src/main.ts', {
      TF_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      TF_BROADCASTER_HOST: '127.0.0.1',
      TF_BROADCASTER_HTTP_PORT: String(httpPort),
      TF_BROADCASTER_GRPC_PORT: String(grpcPort),
      TF_BROADCASTER_TOKENS: 'process-test-token-0123456789',
    });
    await service.waitFor((l) => l.msg === 'broadcaster running');

    const proto = await fetch(`http://127.0.0.1:${httpPort}/proto/${PROTO_FILE}`);
    expect(proto.status).toBe(200);
    expect(await proto.text()).toBe(readFileSync(path.join(PROTO_ROOT, PROTO_FILE), 'utf8'));

    const require = createRequire(import.meta.url);
    const health = grpc.loadPackageDefinition(
      protoLoader.loadSync(require.resolve('grpc-health-check/proto/health/v1/health.proto'), {
        enums: String,
      }),
    ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    const healthClient = new health.grpc.health.v1.Health(
      `127.0.0.1:${grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const status = await new Promise((resolve, reject) =>
      healthClient['Check']!({ service: '' }, (e: grpc.ServiceError | null, r: unknown) =>
        e ? reject(e) : resolve(r),
      ),
    );
    expect(status).toEqual({ status: 'SERVING' });
    healthClient.close();

    const { SnapshotArchive } = loadTransitFusionProto();
    const archive = new SnapshotArchive(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const anonymous = await new Promise<grpc.ServiceError>((resolve) =>
      archive['GetSnapshotAt']!({ atMs: Date.now() }, (e: grpc.ServiceError) => resolve(e)),
    );
    expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
    archive.close();
    expect(JSON.stringify(service.lines)).not.toContain('process-test-token');

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });

  it('refuses to start without an API token, naming the variable, with exit code 2', async () => {
    service = startChild('apps/broadcaster/src/main.ts', {
      TF_STORAGE_CONNECTION_STRING: inject('azuriteConnectionString'),
      TF_BROADCASTER_TOKENS: '',
    });
    expect(await service.exited).toBe(2);
    expect(JSON.stringify(service.lines)).toContain('TF_BROADCASTER_TOKENS: no API token configured');
  });
});
