// The AKS manifests, checked offline: both overlays render with kubectl's Kustomize, every object validates
// against the Kubernetes schemas (kubernetes-models), and what the objects say matches the services: probe
// paths and ports, the variables they set, the selectors and references between objects.

import { PROBE_PATHS } from '@transit-fusion/service-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  deploymentOf,
  documentationOf,
  KUBERNETES_MODELS,
  podSpecOf,
  renderOverlay,
  SERVICES,
  unknownFields,
  variablesRead,
  type K8sObject,
} from './deployment-facts.js';

// Each kind's model class, from the one list of the kinds the manifests use.
const MODELS: Record<string, new (data: never) => { validate(): void }> = Object.fromEntries(
  await Promise.all(
    Object.entries(KUBERNETES_MODELS).map(async ([kind, [module, type]]) => [
      kind,
      ((await import(module)) as Record<string, new (data: never) => { validate(): void }>)[type.slice(1)]!,
    ]),
  ),
);

// The Secrets Store CSI driver's SecretProviderClass is a custom resource, outside the Kubernetes schemas: its
// CRD's required shape (secrets-store.csi.x-k8s.io/v1), strict about unknown fields.
const secretProviderClass = z.strictObject({
  apiVersion: z.literal('secrets-store.csi.x-k8s.io/v1'),
  kind: z.literal('SecretProviderClass'),
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    provider: z.enum(['azure', 'aws', 'gcp', 'vault']),
    parameters: z.record(z.string(), z.string()),
    secretObjects: z
      .array(
        z.strictObject({
          secretName: z.string().min(1),
          type: z.string().min(1),
          data: z.array(z.strictObject({ objectName: z.string().min(1), key: z.string().min(1) })).min(1),
          labels: z.record(z.string(), z.string()).optional(),
        }),
      )
      .optional(),
  }),
});

const AKS_SERVICES = SERVICES.filter((s) => s.onAks);

describe.each(['dev', 'prod'] as const)('the %s overlay', (overlay) => {
  const objects = renderOverlay(overlay);
  const named = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name);

  it('renders, and every object validates against its schema', () => {
    expect(objects.length).toBeGreaterThan(20);
    for (const object of objects) {
      const where = `${object.kind}/${object.metadata.name}`;
      if (object.kind === 'SecretProviderClass') {
        const result = secretProviderClass.safeParse(object);
        expect(result.success, `${where}: ${result.error?.message}`).toBe(true);
        continue;
      }
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${where}: no schema for ${object.apiVersion}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), where).not.toThrow();
      // One namespace for everything but the namespace itself.
      if (object.kind !== 'Namespace')
        expect(object.metadata.namespace, where).toBe(`transit-fusion${overlay === 'dev' ? '-dev' : ''}`);
    }
  });

  it('has no field the schemas do not know (strict, as kubeconform -strict)', () => {
    expect(unknownFields(objects)).toEqual([]);
  });

  it.each(AKS_SERVICES)(
    '$name: probes /healthz and /readyz on the port the service serves them on',
    (service) => {
      const pod = podSpecOf(deploymentOf(objects, service.name));
      const container = pod.containers[0]!;
      const http = container.ports?.find((p) => p.name === 'http');
      expect(http?.containerPort).toBe(service.httpPort);
      for (const [variable, port] of service.otherPorts) {
        expect(
          container.ports?.some((p) => p.containerPort === port),
          variable,
        ).toBe(true);
      }
      expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(PROBE_PATHS).toContain(probe?.httpGet?.path);
      }
      // The port the manifest gives the service is the one its probes use.
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      if (env[service.httpPortVariable] !== undefined)
        expect(Number(env[service.httpPortVariable])).toBe(service.httpPort);
    },
  );

  it.each(AKS_SERVICES)('$name: requests and limits, non-root, read-only, a workload identity', (service) => {
    const deployment = deploymentOf(objects, service.name);
    const pod = podSpecOf(deployment);
    const container = pod.containers[0]!;
    expect(container.resources?.requests?.['cpu']).toBeDefined();
    expect(container.resources?.requests?.['memory']).toBeDefined();
    expect(container.resources?.limits?.['memory']).toBeDefined();
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect((pod as { securityContext?: { runAsNonRoot?: boolean } }).securityContext?.runAsNonRoot).toBe(
      true,
    );
    expect(container.image).toMatch(new RegExp(`/transit-fusion/${service.name}:[\\w.-]+$`));
    // Longer than the service's own shutdown timeout (25 s by default), so it finishes draining.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    const account = named('ServiceAccount', pod.serviceAccountName!);
    expect(account?.metadata.annotations?.['azure.workload.identity/client-id']).toMatch(/^[0-9a-f-]{36}$/);
    const template = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } })
      .template;
    expect(template.metadata.labels['azure.workload.identity/use']).toBe('true');
  });

  it.each(AKS_SERVICES)('$name: sets only variables it reads, each documented', (service) => {
    const container = podSpecOf(deploymentOf(objects, service.name)).containers[0]!;
    const read = variablesRead(service.name);
    const docs = documentationOf(service.name);
    const set = (container.env ?? []).map((e) => e.name).filter((name) => name.startsWith('TF_'));
    expect(set.length).toBeGreaterThan(2);
    for (const name of set) {
      expect(read.has(name), `${name} is not read by ${service.name}`).toBe(true);
    }
    for (const name of read) expect(docs.includes(name), `${name} is not documented`).toBe(true);
    // Azure by identity: URLs and namespaces in the manifests, never keys.
    expect(set).not.toContain('TF_STORAGE_CONNECTION_STRING');
    expect(set).not.toContain('TF_SERVICEBUS_CONNECTION_STRING');
  });

  it('mounts every secret file a service is pointed at', () => {
    for (const service of AKS_SERVICES) {
      const container = podSpecOf(deploymentOf(objects, service.name)).containers[0]!;
      for (const variable of container.env ?? []) {
        if (!variable.name.endsWith('_FILE')) continue;
        const mount = container.volumeMounts?.find((m) => variable.value!.startsWith(`${m.mountPath}/`));
        expect(mount, `${service.name}: ${variable.name}`).toBeDefined();
      }
    }
  });

  it('has one snapshots subscription per broadcaster replica, named after the pod', () => {
    const container = podSpecOf(deploymentOf(objects, 'broadcaster')).containers[0]!;
    const env = container.env ?? [];
    const podName = env.findIndex((e) => e.name === 'POD_NAME');
    const subscription = env.findIndex((e) => e.name === 'TF_BROADCASTER_SUBSCRIPTION');
    expect(env[podName]?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    // $(POD_NAME) only expands when POD_NAME is defined before it.
    expect(podName).toBeLessThan(subscription);
    expect(env[subscription]?.value).toContain('$(POD_NAME)');
    expect(env.find((e) => e.name === 'TF_BROADCASTER_CREATE_SUBSCRIPTION')?.value).toBe('true');
    // A pod name (Deployment name, a 10-character hash, 5 characters) must leave it within Service Bus's 50.
    const longest = env[subscription]!.value!.replace(
      '$(POD_NAME)',
      `broadcaster-${'x'.repeat(10)}-${'x'.repeat(5)}`,
    );
    expect(longest.length).toBeLessThanOrEqual(50);
  });

  it('autoscales the broadcaster and the receiver, and protects every service with a disruption budget', () => {
    for (const name of ['broadcaster', 'receiver']) {
      const hpa = named('HorizontalPodAutoscaler', name);
      expect(hpa?.spec?.['scaleTargetRef']).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
    }
    for (const service of AKS_SERVICES) {
      const pdb = named('PodDisruptionBudget', service.name);
      expect(pdb, service.name).toBeDefined();
      expect(selects(pdb!.spec!['selector'] as Selector, deploymentOf(objects, service.name))).toBe(true);
    }
  });

  it('Services select their Deployments and target ports the containers name', () => {
    const services = objects.filter((o) => o.kind === 'Service');
    for (const service of services) {
      const spec = service.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const targets = objects.filter(
        (o) => o.kind === 'Deployment' && selects({ matchLabels: spec.selector }, o),
      );
      expect(targets, service.metadata.name).toHaveLength(1);
      const ports = podSpecOf(targets[0]!).containers[0]!.ports!.map((p) => p.name);
      for (const port of spec.ports) expect(ports, service.metadata.name).toContain(port.targetPort);
    }
  });

  it('reaches the tracker gateway through a TCP load balancer, and gRPC over HTTP/2 through the ingress', () => {
    const tcp = named('Service', 'device-gateway-tcp')!.spec as {
      type: string;
      ports: { port: number; protocol: string }[];
      externalTrafficPolicy: string;
    };
    expect(tcp.type).toBe('LoadBalancer');
    expect(tcp.ports).toEqual([expect.objectContaining({ port: 5027, protocol: 'TCP' })]);
    expect(tcp.externalTrafficPolicy).toBe('Local');
    const grpc = named('Service', 'broadcaster-grpc')!.spec as {
      ports: { appProtocol?: string; port: number }[];
    };
    expect(grpc.ports[0]).toMatchObject({ port: 50051, appProtocol: 'kubernetes.io/h2c' });
    const ingress = named('Ingress', 'transit-fusion-grpc')!;
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol']).toBe('GRPC');
    // Far above the broadcaster's keepalive (30 s): a quiet stream is kept, not cut.
    expect(
      Number(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']),
    ).toBeGreaterThan(60);
    for (const object of objects.filter((o) => o.kind === 'Ingress')) {
      const rules = (
        object.spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] }
      ).rules;
      for (const rule of rules) {
        for (const p of rule.http.paths)
          expect(named('Service', p.backend.service.name), p.backend.service.name).toBeDefined();
      }
    }
  });

  if (overlay === 'prod') {
    it('reads its secrets from Key Vault through the CSI driver', () => {
      for (const name of ['receiver', 'collector', 'broadcaster']) {
        const volumes = podSpecOf(deploymentOf(objects, name)).volumes!;
        const secrets = volumes.find((v) => v['name'] === 'secrets')!;
        expect(secrets['secret']).toBeUndefined();
        expect(secrets['csi']).toMatchObject({
          driver: 'secrets-store.csi.k8s.io',
          volumeAttributes: { secretProviderClass: 'transit-fusion' },
        });
      }
      const spc = named('SecretProviderClass', 'transit-fusion')!;
      const objectsText = (spc.spec as { parameters: { objects: string } }).parameters.objects;
      for (const file of ['receiver-vendors.json', 'collector-vendors.json', 'broadcaster-tokens']) {
        expect(objectsText).toContain(`objectAlias: ${file}`);
      }
      const env = podSpecOf(deploymentOf(objects, 'broadcaster')).containers[0]!.env!;
      expect(
        env.find((e) => e.name === 'TF_BROADCASTER_AZURE_SIGNALR_CONNECTION_STRING')?.valueFrom?.secretKeyRef,
      ).toEqual({
        name: 'transit-fusion-signalr',
        key: 'connection-string',
      });
    });
  }
});

interface Selector {
  matchLabels: Record<string, string>;
}

function selects(selector: Selector, deployment: K8sObject): boolean {
  const labels = (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template
    .metadata.labels;
  return Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);
}
