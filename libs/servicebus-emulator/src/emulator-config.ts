// The entity configuration, in the format of Microsoft's Service Bus emulator (its Config.json), so one file can
// declare the entities of this emulator and of Microsoft's emulator image alike. Validated once with zod; keys of
// Microsoft's format this emulator does not implement are accepted, kept and ignored (a warning names the ones
// that would change behaviour: sessions, filters, forwarding).

import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { EmulatorError } from './emulator-error.js';
import { parseIsoDuration } from './iso-duration.js';

/** Microsoft's defaults, which Azure Service Bus uses too. */
export const ENTITY_DEFAULTS = Object.freeze({
  LockDuration: 'PT1M',
  MaxDeliveryCount: 10,
});

/** Azure's upper bound on a lock: longer locks are renewed, not configured. */
const MAX_LOCK_DURATION_MS = 5 * 60_000;

// Names: Azure's characters (letters, digits, period, hyphen, underscore). Azure also allows "/" in queue and topic
// names; this emulator does not, so an address has one reading (`topic/Subscriptions/sub/$DeadLetterQueue`).
const entityName = (maxLength: number) =>
  z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(maxLength, `must be at most ${maxLength} characters`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may only contain letters, digits, ".", "-" and "_"');

const lockDuration = z.string({ error: 'must be an ISO-8601 duration like PT30S or PT1M' }).refine((text) => {
  const ms = parseIsoDuration(text);
  return ms !== undefined && ms > 0 && ms <= MAX_LOCK_DURATION_MS;
}, 'must be an ISO-8601 duration between PT0.001S and PT5M, like PT30S or PT1M');

const maxDeliveryCount = z
  .number({ error: 'must be a whole number of at least 1' })
  .int('must be a whole number of at least 1')
  .min(1, 'must be a whole number of at least 1');

const receivableProperties = z
  .looseObject({
    LockDuration: lockDuration.default(ENTITY_DEFAULTS.LockDuration),
    MaxDeliveryCount: maxDeliveryCount.default(ENTITY_DEFAULTS.MaxDeliveryCount),
    RequiresSession: z.boolean({ error: 'must be true or false' }).optional(),
    ForwardTo: z.string({ error: 'must be a string' }).optional(),
    ForwardDeadLetteredMessagesTo: z.string({ error: 'must be a string' }).optional(),
  })
  .default({
    LockDuration: ENTITY_DEFAULTS.LockDuration,
    MaxDeliveryCount: ENTITY_DEFAULTS.MaxDeliveryCount,
  });

const queue = z.looseObject({ Name: entityName(260), Properties: receivableProperties });

const subscription = z.looseObject({
  Name: entityName(50),
  Properties: receivableProperties,
  Rules: z.array(z.looseObject({}), { error: 'must be an array' }).optional(),
});

const topic = z.looseObject({
  Name: entityName(260),
  Properties: z.looseObject({}).default({}),
  Subscriptions: z.array(subscription, { error: 'must be an array' }).default([]),
});

const namespace = z
  .looseObject({
    Name: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
    Queues: z.array(queue, { error: 'must be an array' }).default([]),
    Topics: z.array(topic, { error: 'must be an array' }).default([]),
  })
  .superRefine((ns, ctx) => {
    // Queues and topics share one namespace of names, case-insensitively, as in Azure.
    const seen = new Map<string, string>();
    const claim = (name: string, path: (string | number)[]) => {
      const key = name.toLowerCase();
      const other = seen.get(key);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: [...path, 'Name'], message: `duplicates the name of ${other}` });
      } else {
        seen.set(key, path.join('.'));
      }
    };
    ns.Queues.forEach((q, i) => claim(q.Name, ['Queues', i]));
    ns.Topics.forEach((t, i) => {
      claim(t.Name, ['Topics', i]);
      const subscriptions = new Set<string>();
      t.Subscriptions.forEach((s, j) => {
        const key = s.Name.toLowerCase();
        if (subscriptions.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: ['Topics', i, 'Subscriptions', j, 'Name'],
            message: `duplicates another subscription of topic "${t.Name}"`,
          });
        }
        subscriptions.add(key);
      });
    });
  });

const schema = z.looseObject({
  UserConfig: z.looseObject(
    {
      Namespaces: z
        .array(namespace, { error: 'must be an array' })
        .length(1, 'must hold exactly one namespace (as in Microsoft’s emulator)'),
      Logging: z.looseObject({ Type: z.string({ error: 'must be a string' }).optional() }).optional(),
    },
    { error: 'must be an object: { "UserConfig": { "Namespaces": [ … ] } }, as in Microsoft’s emulator' },
  ),
});

/** A validated configuration: Microsoft's format with the defaults filled in (still valid input for it). */
export type EmulatorConfig = z.output<typeof schema>;

/** One queue or subscription as the broker runs it. */
export interface ReceivableDefinition {
  readonly name: string;
  readonly lockDurationMs: number;
  readonly maxDeliveryCount: number;
}

export interface TopicDefinition {
  readonly name: string;
  readonly subscriptions: readonly ReceivableDefinition[];
}

/** The entities of a configuration, normalised for the broker, with warnings about settings it ignores. */
export interface EntityDefinitions {
  readonly namespace: string;
  readonly queues: readonly ReceivableDefinition[];
  readonly topics: readonly TopicDefinition[];
  readonly warnings: readonly string[];
}

/** Validates a configuration in Microsoft's emulator format; throws EmulatorError INVALID_CONFIG naming the field. */
export function parseEmulatorConfig(json: unknown): EmulatorConfig {
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const where = formatPath(issue.path);
      const entity = entityAlong(json, issue.path);
      return `${where || '(root)'}${entity ? ` (${entity})` : ''} ${issue.message}`;
    });
    throw new EmulatorError('INVALID_CONFIG', issues.join('; '));
  }
  return deepFreeze(result.data);
}

/** Reads and validates a configuration file. */
export async function loadEmulatorConfig(path: string): Promise<EmulatorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new EmulatorError('CONFIG_UNREADABLE', `cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EmulatorError('CONFIG_UNREADABLE', `${path} is not JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    return parseEmulatorConfig(json);
  } catch (error) {
    if (error instanceof EmulatorError) {
      throw new EmulatorError('INVALID_CONFIG', `${path}: ${error.message.replace(/^INVALID_CONFIG: /, '')}`);
    }
    throw error;
  }
}

/** The broker's view of a validated configuration. */
export function entityDefinitions(config: EmulatorConfig): EntityDefinitions {
  const ns = config.UserConfig.Namespaces[0]!;
  const warnings: string[] = [];
  const receivable = (
    name: string,
    properties: z.output<typeof receivableProperties>,
    what: string,
  ): ReceivableDefinition => {
    if (properties.RequiresSession) warnings.push(`${what} requires sessions, which are not supported`);
    if (properties.ForwardTo) warnings.push(`${what} forwards to "${properties.ForwardTo}": ignored`);
    if (properties.ForwardDeadLetteredMessagesTo) {
      warnings.push(
        `${what} forwards dead letters to "${properties.ForwardDeadLetteredMessagesTo}": ignored`,
      );
    }
    return {
      name,
      lockDurationMs: parseIsoDuration(properties.LockDuration)!,
      maxDeliveryCount: properties.MaxDeliveryCount,
    };
  };
  return {
    namespace: ns.Name,
    queues: ns.Queues.map((q) => receivable(q.Name, q.Properties, `queue "${q.Name}"`)),
    topics: ns.Topics.map((t) => ({
      name: t.Name,
      subscriptions: t.Subscriptions.map((s) => {
        const what = `subscription "${t.Name}/${s.Name}"`;
        if (s.Rules && s.Rules.length > 0) {
          warnings.push(`${what} has rules: filters are not supported, it receives every message`);
        }
        return receivable(s.Name, s.Properties, what);
      }),
    })),
    warnings,
  };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );
}

/** The innermost named entity on the path, e.g. `queue "orders"`, so an error says which entity is wrong. */
function entityAlong(json: unknown, path: readonly PropertyKey[]): string | undefined {
  let node = json;
  let found: string | undefined;
  let kind: string | undefined;
  for (const key of path) {
    if (node === null || typeof node !== 'object') break;
    node = (node as Record<PropertyKey, unknown>)[key];
    if (typeof key === 'string') kind = key;
    const name = (node as { Name?: unknown } | null | undefined)?.Name;
    if (typeof key === 'number' && typeof name === 'string' && kind !== undefined) {
      const label = {
        Queues: 'queue',
        Topics: 'topic',
        Subscriptions: 'subscription',
        Namespaces: 'namespace',
      }[kind];
      if (label) found = `${label} "${name}"`;
    }
  }
  return found;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
