// The topics and subscriptions the system needs, named once, and the start-up step that makes sure they exist.
// In Azure, entities are normally provisioned by Bicep; ensureTopology fills the gaps when the service's
// credentials may manage the namespace (the original system created its topics at start-up, with batched
// operations on). Against the local emulator there is nothing to do: its entities come from its config file,
// which emulatorConfigOf() writes from the same topology.

import { ServiceBusAdministrationClient } from '@azure/service-bus';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { MessagingConfig } from './messaging-config.js';
import { MessagingError } from './messaging-error.js';
import type { MessagingLogger } from './messaging-logger.js';

export interface SubscriptionSpec {
  readonly name: string;
  /** Deliveries before the broker dead-letters a message (Service Bus default 10). */
  readonly maxDeliveryCount?: number;
  /** Peek-lock duration (Service Bus default 60 s; Azure allows 5 s to 5 min). */
  readonly lockDurationMs?: number;
  /**
   * Deleted by Service Bus after this long without a receiver (Azure's minimum is 5 min): for per-replica
   * subscriptions, which must not outlive their replica and fill up with messages no one reads.
   */
  readonly autoDeleteOnIdleMs?: number;
}

export interface TopicSpec {
  readonly name: string;
  readonly subscriptions: readonly SubscriptionSpec[];
}

export interface Topology {
  readonly topics: readonly TopicSpec[];
}

/**
 * The few ServiceBusAdministrationClient methods ensureTopology uses; the real client fits it as is. Tests pass
 * a Map-backed fake: the real admin client speaks HTTPS/ATOM to Azure only, and the emulator has no admin API.
 */
export interface TopologyAdmin {
  topicExists(topic: string): Promise<boolean>;
  createTopic(topic: string, options: { enableBatchedOperations: boolean }): Promise<unknown>;
  subscriptionExists(topic: string, subscription: string): Promise<boolean>;
  createSubscription(
    topic: string,
    subscription: string,
    options: { maxDeliveryCount?: number; lockDuration?: string; autoDeleteOnIdle?: string },
  ): Promise<unknown>;
}

export interface TopologyReport {
  /** Why nothing (more) was done: the emulator has no admin API; the credentials lack Manage rights. */
  readonly skipped?: 'emulator' | 'unauthorized';
  readonly createdTopics: readonly string[];
  /** As `topic/subscription`. */
  readonly createdSubscriptions: readonly string[];
}

export interface EnsureTopologyDeps {
  /** The admin client; built from the config when absent. */
  readonly admin?: TopologyAdmin;
  /** Used with an Entra ID config when `admin` is absent; DefaultAzureCredential when absent. */
  readonly credential?: TokenCredential;
}

// Entity name rules of Service Bus: letters, digits, '.', '-', '_' (topics may also use '/'), at most 260 / 50.
const TOPIC_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,258}[A-Za-z0-9_])?$/;
const SUBSCRIPTION_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,48}[A-Za-z0-9_])?$/;

/** Throws INVALID_ARGUMENT naming the first bad entity; Azure's own limits, checked before any call. */
export function validateTopology(topology: Topology): void {
  const bad = (message: string) => new MessagingError('INVALID_ARGUMENT', `topology: ${message}`);
  const topicNames = new Set<string>();
  for (const topic of topology.topics) {
    if (!TOPIC_NAME.test(topic.name)) throw bad(`topic name ${JSON.stringify(topic.name)} is not valid`);
    if (topicNames.has(topic.name)) throw bad(`topic ${topic.name} is listed twice`);
    topicNames.add(topic.name);
    const subNames = new Set<string>();
    for (const sub of topic.subscriptions) {
      const where = `${topic.name}/${sub.name}`;
      if (!SUBSCRIPTION_NAME.test(sub.name))
        throw bad(`subscription name ${JSON.stringify(where)} is not valid`);
      if (subNames.has(sub.name)) throw bad(`subscription ${where} is listed twice`);
      subNames.add(sub.name);
      const { maxDeliveryCount: mdc, lockDurationMs: lock } = sub;
      if (mdc !== undefined && !(Number.isInteger(mdc) && mdc >= 1)) {
        throw bad(`${where} maxDeliveryCount must be an integer ≥ 1`);
      }
      if (lock !== undefined && !(Number.isFinite(lock) && lock >= 5_000 && lock <= 300_000)) {
        throw bad(`${where} lockDurationMs must be between 5000 and 300000`);
      }
      const idle = sub.autoDeleteOnIdleMs;
      if (idle !== undefined && !(Number.isFinite(idle) && idle >= 300_000)) {
        throw bad(`${where} autoDeleteOnIdleMs must be at least 300000 (5 minutes)`);
      }
    }
  }
}

/** `PT1M30S`-style ISO 8601 duration, as the admin API and the emulator's config expect. */
export function isoDuration(ms: number): string {
  const totalSeconds = Math.round(ms) / 1000;
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = Number((totalSeconds - minutes * 60).toFixed(3));
  return `PT${minutes > 0 ? `${minutes}M` : ''}${seconds > 0 || minutes === 0 ? `${seconds}S` : ''}`;
}

/**
 * Makes sure every topic and subscription of the topology exists, creating the missing ones (topics with
 * batched operations on). Existing entities are left as they are (Bicep owns their settings). Skips, with an
 * info log, against the development emulator; warns and stops when the credentials lack Manage rights (the
 * entities may well be provisioned already). Throws MessagingError UNAVAILABLE for any other failure.
 */
export async function ensureTopology(
  config: MessagingConfig,
  topology: Topology,
  logger: MessagingLogger,
  deps: EnsureTopologyDeps = {},
): Promise<TopologyReport> {
  validateTopology(topology);
  const createdTopics: string[] = [];
  const createdSubscriptions: string[] = [];
  const namespace = config.fullyQualifiedNamespace;
  if (config.developmentEmulator) {
    logger.info(
      { namespace },
      'Service Bus emulator: topology comes from its config file, nothing to create',
    );
    return { skipped: 'emulator', createdTopics, createdSubscriptions };
  }
  const admin = deps.admin ?? createAdmin(config, deps.credential);
  let step = '';
  try {
    for (const topic of topology.topics) {
      step = `topic ${topic.name}`;
      if (!(await admin.topicExists(topic.name))) {
        if (await created(() => admin.createTopic(topic.name, { enableBatchedOperations: true }))) {
          createdTopics.push(topic.name);
          logger.info({ namespace, topic: topic.name }, 'created Service Bus topic');
        }
      }
      for (const sub of topic.subscriptions) {
        step = `subscription ${topic.name}/${sub.name}`;
        if (await admin.subscriptionExists(topic.name, sub.name)) continue;
        const options = {
          ...(sub.maxDeliveryCount !== undefined ? { maxDeliveryCount: sub.maxDeliveryCount } : {}),
          ...(sub.lockDurationMs !== undefined ? { lockDuration: isoDuration(sub.lockDurationMs) } : {}),
          ...(sub.autoDeleteOnIdleMs !== undefined
            ? { autoDeleteOnIdle: isoDuration(sub.autoDeleteOnIdleMs) }
            : {}),
        };
        if (await created(() => admin.createSubscription(topic.name, sub.name, options))) {
          createdSubscriptions.push(`${topic.name}/${sub.name}`);
          logger.info(
            { namespace, topic: topic.name, subscription: sub.name },
            'created Service Bus subscription',
          );
        }
      }
    }
  } catch (error) {
    if (isUnauthorized(error)) {
      logger.warn(
        { namespace, step, status: statusOf(error) },
        'no Manage rights on the Service Bus namespace: not checking or creating entities (they may be provisioned by Bicep)',
      );
      return { skipped: 'unauthorized', createdTopics, createdSubscriptions };
    }
    throw new MessagingError('UNAVAILABLE', `could not ensure the Service Bus ${step} on ${namespace}`, {
      cause: error,
    });
  }
  return { createdTopics, createdSubscriptions };
}

/** True when it created the entity; false when another instance created it first (409: fine). */
async function created(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (error) {
    if (statusOf(error) === 409 || codeOf(error) === 'MessageEntityAlreadyExistsError') return false;
    throw error;
  }
}

function createAdmin(config: MessagingConfig, credential?: TokenCredential): TopologyAdmin {
  return config.kind === 'connection-string'
    ? new ServiceBusAdministrationClient(config.connectionString)
    : new ServiceBusAdministrationClient(
        config.fullyQualifiedNamespace,
        credential ?? new DefaultAzureCredential(),
      );
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isUnauthorized(error: unknown): boolean {
  const status = statusOf(error);
  const code = codeOf(error);
  return (
    status === 401 || status === 403 || code === 'UnauthorizedAccess' || code === 'UnauthorizedRequestError'
  );
}

export interface EmulatorEntityProperties {
  LockDuration: string;
  MaxDeliveryCount: number;
}

/** Microsoft's Service Bus emulator config file, as far as a topology fills it. */
export interface EmulatorConfigFile {
  UserConfig: {
    Namespaces: {
      Name: string;
      Queues: { Name: string; Properties: EmulatorEntityProperties }[];
      Topics: {
        Name: string;
        Properties: Record<string, unknown>;
        Subscriptions: { Name: string; Properties: EmulatorEntityProperties }[];
      }[];
    }[];
    Logging: { Type: string };
  };
}

/**
 * The topology in the format of Microsoft's Service Bus emulator config file (`Config.json`), which the
 * project's own emulator reads too: one namespace, the topics and their subscriptions, Service Bus defaults
 * (lock 60 s, 10 deliveries) where the topology says nothing.
 */
export function emulatorConfigOf(
  topology: Topology,
  options: { namespace?: string } = {},
): EmulatorConfigFile {
  return {
    UserConfig: {
      Namespaces: [
        {
          Name: options.namespace ?? 'sbemulatorns',
          Queues: [],
          Topics: topology.topics.map((topic) => ({
            Name: topic.name,
            Properties: {},
            Subscriptions: topic.subscriptions.map((sub) => ({
              Name: sub.name,
              Properties: {
                LockDuration: isoDuration(sub.lockDurationMs ?? 60_000),
                MaxDeliveryCount: sub.maxDeliveryCount ?? 10,
              },
            })),
          })),
        },
      ],
      Logging: { Type: 'File' },
    },
  };
}
