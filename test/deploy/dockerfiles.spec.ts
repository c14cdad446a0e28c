// No Docker engine runs here, so the images are checked offline: every Dockerfile parses and follows the
// rules, and docker-compose.yml runs what the Dockerfiles build with settings the services read.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  dockerfileOf,
  documentationOf,
  finalStage,
  ROOT,
  SERVICES,
  variablesRead,
} from './deployment-facts.js';

describe.each(SERVICES)('the Dockerfile of $name', (service) => {
  const { text, parsed } = dockerfileOf(service.name);
  const final = finalStage(parsed);

  it('parses, with no unknown instruction', () => {
    const keywords = parsed.getInstructions().map((i) => i.getKeyword());
    expect(keywords.length).toBeGreaterThan(5);
    const known = [
      'FROM',
      'WORKDIR',
      'COPY',
      'RUN',
      'ENV',
      'USER',
      'EXPOSE',
      'HEALTHCHECK',
      'STOPSIGNAL',
      'ENTRYPOINT',
    ];
    expect(keywords.filter((k) => !known.includes(k))).toEqual([]);
  });

  it('is multi-stage: the workspace builds in one stage, the image holds only the service bundle', () => {
    const froms = parsed.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]!.getBuildStage()).toBe('build');
    expect(text).toContain(`nx run @transit-fusion/${service.name}:package`);
    expect(text).toMatch(/npm ci\b/);
    // The final stage copies the bundle from the build stage and nothing else.
    expect(final.copies).toEqual([`--from=build /src/dist/services/${service.name}/ ./`]);
    expect(final.from).toMatch(/^node:20[.\d]*-bookworm-slim$/);
    expect(final.workdir).toBe('/app');
  });

  it('runs as a non-root user', () => {
    expect(final.user).toBeDefined();
    expect(['root', '0']).not.toContain(final.user);
  });

  it('checks its health on the port the service serves /healthz on', () => {
    expect(final.healthcheck).toContain('/healthz');
    expect(final.healthcheck).toContain(`process.env.${service.httpPortVariable} || ${service.httpPort}`);
    expect(variablesRead(service.name).has(service.httpPortVariable)).toBe(true);
  });

  it('exposes the ports the service listens on by default', () => {
    expect(final.exposed.sort()).toEqual(
      [service.httpPort, ...service.otherPorts.map(([, port]) => port)].sort(),
    );
    for (const [variable] of service.otherPorts) expect(variablesRead(service.name).has(variable)).toBe(true);
  });

  it('starts Node directly in exec form, so SIGTERM reaches the service', () => {
    expect(final.entrypointIsExecForm).toBe(true);
    expect(final.entrypoint?.[0]).toBe('node');
    expect(final.entrypoint?.at(-1)).toBe('main.js');
    expect(text).toMatch(/^STOPSIGNAL SIGTERM$/m);
  });

  it('belongs to a service whose every setting is documented', () => {
    const docs = documentationOf(service.name);
    for (const name of variablesRead(service.name))
      expect(docs.includes(name), `${name} is not documented`).toBe(true);
  });

  it('sets only variables the service reads', () => {
    const read = variablesRead(service.name);
    for (const name of Object.keys(final.env)) {
      if (name === 'NODE_ENV') continue;
      expect(read.has(name), `${name}`).toBe(true);
    }
  });
});

describe('docker/docker-compose.yml', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker/docker-compose.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<
      string,
      {
        image?: string;
        build?: { context: string; dockerfile: string };
        environment?: Record<string, string>;
        ports?: string[];
      }
    >;
  };

  it("runs every service from its Dockerfile, with Microsoft's Azurite and Service Bus emulator images", () => {
    for (const service of SERVICES) {
      expect(compose.services[service.name]?.build).toEqual({
        context: '..',
        dockerfile: `docker/${service.name}.Dockerfile`,
      });
    }
    expect(compose.services['azurite']?.image).toMatch(/^mcr\.microsoft\.com\/azure-storage\/azurite:/);
    expect(compose.services['servicebus']?.image).toMatch(
      /^mcr\.microsoft\.com\/azure-messaging\/servicebus-emulator:/,
    );
  });

  it('sets only variables each service reads, and publishes its default ports', () => {
    for (const service of SERVICES) {
      const definition = compose.services[service.name]!;
      const read = variablesRead(service.name);
      for (const name of Object.keys(definition.environment ?? {}))
        expect(read.has(name), `${service.name}: ${name}`).toBe(true);
      expect(definition.ports).toContain(`${service.httpPort}:${service.httpPort}`);
    }
  });

  it('gives the emulator the topics and subscriptions the services use by default', () => {
    const config = JSON.parse(
      readFileSync(path.join(ROOT, 'docker/servicebus-emulator/Config.json'), 'utf8'),
    ) as {
      UserConfig: { Namespaces: { Topics: { Name: string; Subscriptions: { Name: string }[] }[] }[] };
    };
    const topics = Object.fromEntries(
      config.UserConfig.Namespaces[0]!.Topics.map((t) => [t.Name, t.Subscriptions.map((s) => s.Name)]),
    );
    // The defaults of TF_RECEIVER_TOPIC / TF_GATEWAY_TOPIC, TF_COLLECTOR_PUSH_SUBSCRIPTION,
    // TF_COMPOSER_SNAPSHOTS_TOPIC / TF_BROADCASTER_SUBSCRIPTION and TF_COMPOSER_ALERTS_TOPIC.
    expect(topics).toEqual({ 'vendor-pushes': ['collector'], snapshots: ['broadcaster'], alerts: [] });
  });

  it('keeps secrets out: they come from docker/.env, which git ignores', () => {
    const text = readFileSync(path.join(ROOT, 'docker/docker-compose.yml'), 'utf8');
    expect(text).toMatch(/TF_BROADCASTER_TOKENS: \$\{TF_DEMO_TOKEN:\?/);
    expect(text).toMatch(/MSSQL_SA_PASSWORD: \$\{MSSQL_SA_PASSWORD:\?/);
    expect(readFileSync(path.join(ROOT, '.gitignore'), 'utf8')).toMatch(/^docker\/\.env$/m);
  });
});
