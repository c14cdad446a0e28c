// What the deployment tests compare the Dockerfiles, manifests and Bicep against: the services as they are
// built (their production bundles in dist/services, made by `nx run <service>:package`, a dependency of this
// project's tests) and the Kubernetes overlays as kubectl renders them.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROADCASTER_ENV_DEFAULTS } from '@transit-fusion/broadcaster';
import { COLLECTOR_ENV_DEFAULTS } from '@transit-fusion/collector';
import { COMPOSER_ENV_DEFAULTS } from '@transit-fusion/composer';
import { GATEWAY_ENV_DEFAULTS } from '@transit-fusion/device-gateway';
import { RECEIVER_ENV_DEFAULTS } from '@transit-fusion/receiver';
import { loadSimulatorConfig } from '@transit-fusion/simulator';
import { DockerfileParser, type Copy, type Dockerfile } from 'dockerfile-ast';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ServiceFacts {
  readonly name: string;
  /** The variable holding its HTTP port (health, readiness, metrics), and that port's default. */
  readonly httpPortVariable: string;
  readonly httpPort: number;
  /** Other ports it listens on: [variable, default]. */
  readonly otherPorts: readonly (readonly [string, number])[];
  /** Deployed to AKS by deploy/aks (the simulator is for demos and tests only). */
  readonly onAks: boolean;
  /** Deployed to App Service by deploy/appservice (HTTP only: not the TCP gateway). */
  readonly onAppService: boolean;
}

// The ports are each service's own defaults, so a default changed in code must be changed here by no one.
const port = (value: string | number) => Number(value);
export const SERVICES: readonly ServiceFacts[] = [
  {
    name: 'receiver',
    httpPortVariable: 'TF_RECEIVER_PORT',
    httpPort: port(RECEIVER_ENV_DEFAULTS.TF_RECEIVER_PORT),
    otherPorts: [],
    onAks: true,
    onAppService: true,
  },
  {
    name: 'collector',
    httpPortVariable: 'TF_COLLECTOR_PORT',
    httpPort: port(COLLECTOR_ENV_DEFAULTS.TF_COLLECTOR_PORT),
    otherPorts: [],
    onAks: true,
    onAppService: true,
  },
  {
    name: 'composer',
    httpPortVariable: 'TF_COMPOSER_PORT',
    httpPort: port(COMPOSER_ENV_DEFAULTS.TF_COMPOSER_PORT),
    otherPorts: [],
    onAks: true,
    onAppService: true,
  },
  {
    name: 'broadcaster',
    httpPortVariable: 'TF_BROADCASTER_HTTP_PORT',
    httpPort: port(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_HTTP_PORT),
    otherPorts: [['TF_BROADCASTER_GRPC_PORT', port(BROADCASTER_ENV_DEFAULTS.TF_BROADCASTER_GRPC_PORT)]],
    onAks: true,
    onAppService: true,
  },
  {
    name: 'device-gateway',
    httpPortVariable: 'TF_GATEWAY_HTTP_PORT',
    httpPort: port(GATEWAY_ENV_DEFAULTS.TF_GATEWAY_HTTP_PORT),
    otherPorts: [['TF_GATEWAY_TCP_PORT', port(GATEWAY_ENV_DEFAULTS.TF_GATEWAY_TCP_PORT)]],
    onAks: true,
    onAppService: false,
  },
  {
    name: 'simulator',
    httpPortVariable: 'TF_SIM_PORT',
    httpPort: loadSimulatorConfig({}).TF_SIM_PORT,
    otherPorts: [],
    onAks: false,
    onAppService: false,
  },
];

export function bundleDir(service: string): string {
  const dir = path.join(ROOT, 'dist/services', service);
  if (!existsSync(path.join(dir, 'main.js'))) {
    throw new Error(`${dir}/main.js is missing: run nx run @transit-fusion/${service}:package`);
  }
  return dir;
}

const readCache = new Map<string, ReadonlySet<string>>();

/**
 * Every TF_* variable the service can read: the names in its bundle, which holds its code and every workspace
 * lib it uses (a name only appears there because some config schema or message names it).
 */
export function variablesRead(service: string): ReadonlySet<string> {
  let names = readCache.get(service);
  if (!names) {
    const code = readFileSync(path.join(bundleDir(service), 'main.js'), 'utf8');
    names = new Set(code.match(/\bTF_[A-Z0-9_]*[A-Z0-9]\b/g) ?? []);
    readCache.set(service, names);
  }
  return names;
}

export function dockerfileOf(service: string): { text: string; parsed: Dockerfile } {
  const text = readFileSync(path.join(ROOT, 'docker', `${service}.Dockerfile`), 'utf8');
  return { text, parsed: DockerfileParser.parse(text) };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
}

const rendered = new Map<string, readonly K8sObject[]>();

/** An overlay rendered offline by kubectl's built-in Kustomize, as objects (rendered once per test file). */
export function renderOverlay(overlay: 'dev' | 'prod'): readonly K8sObject[] {
  const cached = rendered.get(overlay);
  if (cached) return cached;
  const out = execFileSync('kubectl', ['kustomize', path.join(ROOT, 'deploy/aks/overlays', overlay)], {
    encoding: 'utf8',
    maxBuffer: 32 * 1024 * 1024,
  });
  const objects = parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${overlay}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
  rendered.set(overlay, objects);
  return objects;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}

export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: EnvVar[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
}

export function deploymentOf(objects: readonly K8sObject[], service: string): K8sObject {
  const found = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === service);
  if (!found) throw new Error(`no Deployment ${service}`);
  return found;
}

export function podSpecOf(deployment: K8sObject): {
  containers: Container[];
  volumes?: Record<string, unknown>[];
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
} {
  return (deployment.spec as { template: { spec: ReturnType<typeof podSpecOf> } }).template.spec;
}

/**
 * A container's environment as the kubelet would give it: literal values, config map keys, field references
 * (from `fields`), and `$(NAME)` references to variables defined before. Secrets come from `secrets`.
 */
export function resolveEnv(
  objects: readonly K8sObject[],
  container: Container,
  fields: Record<string, string>,
  secrets: (name: string, key: string) => string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    let value: string;
    if (variable.value !== undefined) {
      value = variable.value.replace(
        /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g,
        (whole, name: string) => env[name] ?? whole,
      );
    } else if (variable.valueFrom?.configMapKeyRef) {
      const ref = variable.valueFrom.configMapKeyRef;
      const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.name);
      if (!map) throw new Error(`${variable.name}: no ConfigMap ${ref.name}`);
      if (map.data?.[ref.key] === undefined)
        throw new Error(`${variable.name}: ConfigMap ${ref.name} has no ${ref.key}`);
      value = map.data[ref.key]!;
    } else if (variable.valueFrom?.secretKeyRef) {
      value = secrets(variable.valueFrom.secretKeyRef.name, variable.valueFrom.secretKeyRef.key);
    } else if (variable.valueFrom?.fieldRef) {
      const field = fields[variable.valueFrom.fieldRef.fieldPath];
      if (field === undefined)
        throw new Error(`${variable.name}: no value for ${variable.valueFrom.fieldRef.fieldPath}`);
      value = field;
    } else {
      throw new Error(`${variable.name}: no value`);
    }
    env[variable.name] = value;
  }
  return env;
}

/** A Dockerfile's final stage: its ENV, WORKDIR, USER, EXPOSEd ports, HEALTHCHECK and ENTRYPOINT. */
export function finalStage(dockerfile: Dockerfile): {
  from: string;
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  exposed: number[];
  healthcheck?: string;
  entrypoint?: string[];
  entrypointIsExecForm: boolean;
  copies: string[];
} {
  const instructions = dockerfile.getInstructions();
  const lastFrom = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  const stage = instructions.slice(lastFrom);
  const env: Record<string, string> = {};
  const exposed: number[] = [];
  const copies: string[] = [];
  let workdir: string | undefined;
  let user: string | undefined;
  let healthcheck: string | undefined;
  let entrypoint: string[] | undefined;
  let entrypointIsExecForm = false;
  for (const instruction of stage) {
    const args = instruction.getArgumentsContent() ?? '';
    switch (instruction.getKeyword()) {
      case 'ENV': {
        const eq = args.indexOf('=');
        env[args.slice(0, eq)] = args.slice(eq + 1);
        break;
      }
      case 'WORKDIR':
        workdir = args;
        break;
      case 'USER':
        user = args;
        break;
      case 'EXPOSE':
        exposed.push(...args.split(/\s+/).map((p) => Number(p.split('/')[0])));
        break;
      case 'HEALTHCHECK':
        healthcheck = args;
        break;
      case 'COPY': {
        const flags = (instruction as Copy).getFlags().map((f) => `--${f.getName()}=${f.getValue() ?? ''}`);
        copies.push([...flags, args].join(' '));
        break;
      }
      case 'ENTRYPOINT':
        entrypointIsExecForm = args.trim().startsWith('[');
        entrypoint = entrypointIsExecForm ? (JSON.parse(args) as string[]) : args.split(/\s+/);
        break;
    }
  }
  return {
    from: stage[0]!.getArgumentsContent() ?? '',
    env,
    ...(workdir !== undefined ? { workdir } : {}),
    ...(user !== undefined ? { user } : {}),
    exposed,
    ...(healthcheck !== undefined ? { healthcheck } : {}),
    ...(entrypoint !== undefined ? { entrypoint } : {}),
    entrypointIsExecForm,
    copies,
  };
}

/** The documentation a service's settings must appear in: its README, or deploy/README.md for shared ones. */
export function documentationOf(service: string): string {
  return [`apps/${service}/README.md`, 'deploy/README.md']
    .map((file) => readFileSync(path.join(ROOT, file), 'utf8'))
    .join('\n');
}

/**
 * The kubernetes-models module and interface of each kind the manifests use (`apiVersion/kind`); the model
 * class is the interface's name without its `I`.
 */
export const KUBERNETES_MODELS: Readonly<Record<string, readonly [module: string, type: string]>> = {
  'v1/Namespace': ['kubernetes-models/v1/Namespace', 'INamespace'],
  'v1/ServiceAccount': ['kubernetes-models/v1/ServiceAccount', 'IServiceAccount'],
  'v1/ConfigMap': ['kubernetes-models/v1/ConfigMap', 'IConfigMap'],
  'v1/Service': ['kubernetes-models/v1/Service', 'IService'],
  'apps/v1/Deployment': ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  'autoscaling/v2/HorizontalPodAutoscaler': [
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    'IHorizontalPodAutoscaler',
  ],
  'policy/v1/PodDisruptionBudget': [
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    'IPodDisruptionBudget',
  ],
  'networking.k8s.io/v1/Ingress': ['kubernetes-models/networking.k8s.io/v1/Ingress', 'IIngress'],
};

/**
 * Unknown fields, the strict half of schema validation (a misspelt `readinesProbe` is valid JSON Schema but
 * silently ignored by the API server): each object becomes an object literal typed as its kubernetes-models
 * interface, and the TypeScript compiler's excess-property check names every field the schema does not have.
 * Objects of kinds without a model (custom resources) are left to their own checks.
 */
export function unknownFields(objects: readonly K8sObject[]): string[] {
  const imports = new Set<string>();
  const lines: string[] = [];
  objects.forEach((object, i) => {
    const model = KUBERNETES_MODELS[`${object.apiVersion}/${object.kind}`];
    if (!model) return;
    imports.add(`import type { ${model[1]} } from '${model[0]}';`);
    lines.push(
      `// ${object.kind}/${object.metadata.name}`,
      `export const o${i}: ${model[1]} = ${JSON.stringify(object)};`,
    );
  });
  const file = path.join(ROOT, 'test/deploy/__rendered_manifests__.ts');
  const source = [...imports, ...lines].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return message;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const text = d.file.text.split('\n');
    // The comment line above the object names it.
    const owner =
      text
        .slice(0, line + 1)
        .reverse()
        .find((l) => l.startsWith('// ')) ?? '';
    return `${owner.slice(3)}: ${message}`;
  });
}
