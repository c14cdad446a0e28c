// Each service's production bundle, started the way its container starts it: the Dockerfile's command and
// environment, plus the environment the dev overlay's Deployment gives it, in a copy of dist/services/<name>
// outside the workspace (so nothing resolves from the workspace's node_modules). Azure is replaced by Azurite
// and the project's Service Bus emulator, the operator's URLs by a local server, Key Vault's files by test
// files, and the ports by free ones; everything else is as deployed. Each must answer /healthz and /readyz, then stop
// cleanly on SIGTERM.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emulatorConfigOf } from '@transit-fusion/messaging';
import { spawnServiceBusEmulator, type EmulatorProcess } from '@transit-fusion/servicebus-emulator';
import { createFleet, fleetRegistryDocument, snapshotAt } from '@transit-fusion/simulator';
import { freePort, startAzurite, type AzuriteInstance } from '@transit-fusion/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleDir,
  deploymentOf,
  dockerfileOf,
  finalStage,
  podSpecOf,
  renderOverlay,
  resolveEnv,
  ROOT,
  SERVICES,
  type ServiceFacts,
} from './deployment-facts.js';

const POD_NAME = 'broadcaster-5d8c7b9f6d-x2x4q';
const SECRETS_DIR = '/etc/transit-fusion/secrets';
const OPERATOR = 'https://operator.example/';

let azurite: AzuriteInstance;
let emulator: EmulatorProcess;
let operator: Server;
let operatorUrl: string;
const work = mkdtempSync(path.join(tmpdir(), 'tf-bundles-'));

beforeAll(async () => {
  azurite = await startAzurite();
  // The docker-compose topology (which Microsoft's emulator reads too), plus the subscription the dev
  // overlay's broadcaster names after its pod: the emulator has no admin API to create it.
  const compose = JSON.parse(
    readFileSync(path.join(ROOT, 'docker/servicebus-emulator/Config.json'), 'utf8'),
  ) as {
    UserConfig: { Namespaces: { Topics: { Name: string; Subscriptions: { Name: string }[] }[] }[] };
  };
  const topics = compose.UserConfig.Namespaces[0]!.Topics.map((t) => ({
    name: t.Name,
    subscriptions: [
      ...t.Subscriptions.map((s) => ({ name: s.Name })),
      ...(t.Name === 'snapshots' ? [{ name: `bc-${POD_NAME}` }] : []),
    ],
  }));
  emulator = await spawnServiceBusEmulator({ config: emulatorConfigOf({ topics }) });
  const registry = JSON.stringify(
    fleetRegistryDocument(snapshotAt(createFleet({ vehicles: 20, seed: 3 })).vehicles),
  );
  operator = createServer((request, response) => {
    if (request.url === '/fleet-registry.json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(registry);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => operator.listen(0, '127.0.0.1', resolve));
  const address = operator.address() as { port: number };
  operatorUrl = `http://127.0.0.1:${address.port}/`;
}, 120_000);

afterAll(async () => {
  await emulator?.stop();
  await azurite?.stop();
  await new Promise((resolve) => operator?.close(resolve));
  rmSync(work, { recursive: true, force: true });
});

/** The environment the dev overlay gives the service, with Azure, the operator and Key Vault made local. */
function deployedEnv(service: ServiceFacts, secretsDir: string): Record<string, string> {
  if (!service.onAks) return {};
  const objects = renderOverlay('dev');
  const container = podSpecOf(deploymentOf(objects, service.name)).containers[0]!;
  const env = resolveEnv(objects, container, { 'metadata.name': POD_NAME }, (name, key) => {
    throw new Error(`${service.name}: the dev overlay has no secret variables, yet asks ${name}/${key}`);
  });
  for (const [name, value] of Object.entries(env)) {
    if (value.startsWith(OPERATOR)) env[name] = value.replace(OPERATOR, operatorUrl);
    if (value.startsWith(`${SECRETS_DIR}/`))
      env[name] = path.join(secretsDir, value.slice(SECRETS_DIR.length + 1));
  }
  if ('TF_STORAGE_BLOB_URL' in env) {
    delete env['TF_STORAGE_BLOB_URL'];
    delete env['TF_STORAGE_TABLE_URL'];
    env['TF_STORAGE_CONNECTION_STRING'] = azurite.connectionString;
  }
  if ('TF_SERVICEBUS_NAMESPACE' in env) {
    delete env['TF_SERVICEBUS_NAMESPACE'];
    env['TF_SERVICEBUS_CONNECTION_STRING'] = emulator.connectionString;
  }
  return env;
}

/** What Key Vault (prod) or the Kubernetes secret (dev) holds, as test values. */
function writeSecrets(dir: string): void {
  const key = randomBytes(24).toString('base64url');
  writeFileSync(
    path.join(dir, 'receiver-vendors.json'),
    JSON.stringify({ fuel: { auth: { type: 'api-key', keys: [key] } } }),
  );
  writeFileSync(path.join(dir, 'collector-vendors.json'), JSON.stringify({ fuel: { kind: 'push' } }));
  writeFileSync(path.join(dir, 'broadcaster-tokens'), `${randomBytes(24).toString('base64url')}\n`);
}

describe.each(SERVICES)('the production bundle of $name', (service) => {
  it('starts as its container does, answers its health and readiness checks, then stops on SIGTERM', async () => {
    const stage = finalStage(dockerfileOf(service.name).parsed);
    // The image's WORKDIR holds exactly the bundle folder.
    const app = path.join(work, service.name);
    cpSync(bundleDir(service.name), app, { recursive: true });
    const secrets = mkdtempSync(path.join(work, `${service.name}-secrets-`));
    writeSecrets(secrets);
    const inImage = (value: string) =>
      value.startsWith(`${stage.workdir}/`) ? path.join(app, value.slice(stage.workdir!.length + 1)) : value;

    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      ...Object.fromEntries(Object.entries(stage.env).map(([k, v]) => [k, inImage(v)])),
      ...deployedEnv(service, secrets),
    };
    const httpPort = await freePort();
    env[service.httpPortVariable] = String(httpPort);
    const otherPorts: number[] = [];
    for (const [variable] of service.otherPorts) {
      otherPorts.push(await freePort());
      env[variable] = String(otherPorts.at(-1));
    }
    if (service.name === 'simulator') env['TF_SIM_VEHICLES'] = '20';

    const [command, ...args] = stage.entrypoint!;
    expect(command).toBe('node');
    const child = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    try {
      const status = await statusOf(child, httpPort, '/healthz', 45_000);
      expect(status, output.join('').slice(-3000)).toBe(200);
      // And ready: the manifests' settings reach what they name (the broker, the subscription named after
      // the pod, the storage, the fleet registry), not only parse.
      const ready = await statusOf(child, httpPort, '/readyz', 45_000);
      expect(ready, output.join('').slice(-3000)).toBe(200);
      // Its other listeners too: the broadcaster's gRPC server (the .proto files found beside main.js), the
      // gateway's tracker port.
      for (const port of otherPorts) expect(await accepts(port), `port ${port}`).toBe(true);
      const code = await stop(child, 35_000);
      expect(code, output.join('').slice(-3000)).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});

async function statusOf(
  child: ChildProcess,
  port: number,
  probe: string,
  timeoutMs: number,
): Promise<number | string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return `exited with ${child.exitCode}`;
    try {
      const response = await fetch(`http://127.0.0.1:${port}${probe}`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return 200;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return 'no answer';
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function stop(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}
