// The App Service Bicep, checked offline (the Bicep compiler is a .NET tool this machine cannot install): the
// app settings of each web app are variables the service reads and cover what the AKS manifests set, the
// web apps run the images docker/ builds on the ports they serve, and the topics, subscriptions, containers and
// tables are the ones the services use.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMPOSER_ENV_DEFAULTS } from '@transit-fusion/composer';
import { storageConfigFromEnv } from '@transit-fusion/storage';
import { describe, expect, it } from 'vitest';
import { deploymentOf, podSpecOf, renderOverlay, ROOT, SERVICES, variablesRead } from './deployment-facts.js';

const bicep = readFileSync(path.join(ROOT, 'deploy/appservice/main.bicep'), 'utf8');

/** The keys of a `var <name> = { ... }` or `var <name> = union(a, b, { ... })` object, unions followed. */
function settingsOf(variable: string): string[] {
  const match = new RegExp(`^var ${variable} = (union\\(([^{]*)\\{|\\{)\\n([\\s\\S]*?)^\\}\\)?$`, 'm').exec(
    bicep,
  );
  if (!match) throw new Error(`no var ${variable} in main.bicep`);
  const included = (match[2] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((name) => settingsOf(name));
  const own = [...match[3]!.matchAll(/^\s+([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]!);
  return [...included, ...own];
}

/** Set on AKS only, and why App Service does without. */
const AKS_ONLY: Record<string, string> = {
  TF_COMPOSER_INSTANCE_ID:
    "the pod's name; on App Service the default (the host name) is unique per instance",
  TF_BROADCASTER_CREATE_SUBSCRIPTION:
    'each pod creates its own; App Service runs one instance on a Bicep-made one',
  TF_BROADCASTER_GRPC_PORT: 'no gRPC streams on App Service (AKS only)',
  TF_BROADCASTER_KEEPALIVE_MS: "the ingress's timeouts are AKS's; App Service keeps the default",
  TF_LOG_LEVEL: 'the default (info)',
};

const APP_SERVICES = SERVICES.filter((s) => s.onAppService);

describe('deploy/appservice/main.bicep', () => {
  const aks = renderOverlay('prod');

  it.each(APP_SERVICES)('$name: sets only variables it reads, and all the AKS manifests need', (service) => {
    const settings = settingsOf(`${service.name}Settings`);
    const read = variablesRead(service.name);
    for (const name of settings) expect(read.has(name), `${name} is not read by ${service.name}`).toBe(true);
    // Identities, not keys: the storage account even refuses shared keys.
    expect(settings).not.toContain('TF_STORAGE_CONNECTION_STRING');
    expect(settings).not.toContain('TF_SERVICEBUS_CONNECTION_STRING');
    const onAks = (podSpecOf(deploymentOf(aks, service.name)).containers[0]!.env ?? [])
      .map((e) => e.name.replace(/_FILE$/, ''))
      .filter((name) => name.startsWith('TF_') && !(name in AKS_ONLY));
    for (const name of onAks) expect(settings, `${service.name} needs ${name}`).toContain(name);
    expect(settings).toContain(service.httpPortVariable);
  });

  it('runs each HTTP service from its image, on the port it serves, with /healthz as the health check', () => {
    const apps = [...bicep.matchAll(/\{ name: '([a-z-]+)', port: '(\d+)' \}/g)].map((m) => ({
      name: m[1]!,
      port: Number(m[2]),
    }));
    const settings = /var settingsOfApps = \[([^\]]*)\]/
      .exec(bicep)![1]!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    expect(apps.map((a) => a.name).sort()).toEqual(APP_SERVICES.map((s) => s.name).sort());
    // Each app gets its own settings (they are matched by position).
    expect(settings).toEqual(apps.map((app) => `${app.name}Settings`));
    for (const app of apps) {
      const service = SERVICES.find((s) => s.name === app.name)!;
      expect(app.port).toBe(service.httpPort);
    }
    expect(bicep).toContain(
      "linuxFxVersion: 'DOCKER|${containerRegistry}/transit-fusion/${app.name}:${imageTag}'",
    );
    expect(bicep).toContain("healthCheckPath: '/healthz'");
    expect(bicep).toMatch(/WEBSITES_PORT: app\.port/);
    expect(bicep).toMatch(/properties: union\(settingsOfApps\[i\],/);
    // The device gateway speaks raw TCP: AKS only.
    expect(bicep).not.toMatch(/name: 'device-gateway'/);
  });

  it('provisions the topics, subscriptions, containers and tables the services use', () => {
    for (const topic of ['vendor-pushes', 'snapshots', COMPOSER_ENV_DEFAULTS.TF_COMPOSER_ALERTS_TOPIC]) {
      expect(bicep).toContain(`name: '${topic}'`);
    }
    // One subscription per push vendor, each filtered on the vendorId the receiver and gateway set.
    expect(bicep).toContain("name: 'collector-${vendor}'");
    expect(bicep).toContain("sqlExpression: 'vendorId = \\'${vendor}\\''");
    const storage = storageConfigFromEnv({ TF_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' });
    const containers = /var containers = \[([^\]]*)\]/.exec(bicep)![1]!;
    const tables = /var tables = \[([^\]]*)\]/.exec(bicep)![1]!;
    for (const name of [
      storage.snapshotContainer,
      storage.vendorContainer,
      COMPOSER_ENV_DEFAULTS.TF_COMPOSER_LEASE_CONTAINER,
    ]) {
      expect(containers).toContain(`'${name}'`);
    }
    for (const name of [storage.snapshotIndexTable, storage.deviceStateTable])
      expect(tables).toContain(`'${name}'`);
    expect(bicep).toMatch(/features: \[\s*\{ flag: 'ServiceMode', value: 'Serverless' \}/);
  });

  it('takes secrets as secure parameters, never as defaults in the file', () => {
    for (const name of ['receiverVendors', 'collectorVendors', 'broadcasterTokens']) {
      expect(bicep).toMatch(new RegExp(`@secure\\(\\)\\nparam ${name} string\\n`));
    }
    const parameters = readFileSync(path.join(ROOT, 'deploy/appservice/main.parameters.json'), 'utf8');
    for (const name of ['receiverVendors', 'collectorVendors', 'broadcasterTokens'])
      expect(parameters).not.toContain(name);
  });
});
