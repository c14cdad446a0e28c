// Service Bus settings, from the environment, parsed once and frozen. Either a connection string (the local
// emulator, or a SAS key kept in a secret store) or a namespace reached with an Entra ID credential (managed /
// workload identity in Azure, `az login` on a laptop) through DefaultAzureCredential. The connection string is a
// secret: it never appears in an error, and it is a non-enumerable property so logging or JSON-serialising
// the config does not print it.

import { parseServiceBusConnectionString } from '@azure/service-bus';
import { z } from 'zod';
import { MessagingError } from './messaging-error.js';

export type MessagingConfig =
  | {
      readonly kind: 'connection-string';
      /** Non-enumerable: read it, but `JSON.stringify` and `console.log` of the config leave it out. */
      readonly connectionString: string;
      /** The namespace host (no secret), for logs. */
      readonly fullyQualifiedNamespace: string;
      /** True when the connection string says `UseDevelopmentEmulator=true` (plain AMQP, no admin API). */
      readonly developmentEmulator: boolean;
    }
  | {
      readonly kind: 'entra-id';
      /** e.g. `contoso.servicebus.windows.net`. */
      readonly fullyQualifiedNamespace: string;
      readonly developmentEmulator: false;
    };

const CONNECTION_STRING = 'TF_SERVICEBUS_CONNECTION_STRING';
const NAMESPACE = 'TF_SERVICEBUS_NAMESPACE';

// A host name with at least one dot, no scheme, no path: what ServiceBusClient expects with a credential.
const hostName =
  /^(?=.{4,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

const schema = z
  .object({
    [CONNECTION_STRING]: z.string().trim().min(1).optional(),
    [NAMESPACE]: z
      .string()
      .trim()
      .min(1)
      .refine(
        (v) => !v.includes('://'),
        'must be a host name without a scheme (contoso.servicebus.windows.net)',
      )
      .refine(
        (v) => v.includes('://') || hostName.test(v),
        'must be a fully qualified host name (contoso.servicebus.windows.net)',
      )
      .optional(),
  })
  .superRefine((env, ctx) => {
    const cs = env[CONNECTION_STRING];
    if (cs !== undefined && env[NAMESPACE] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [CONNECTION_STRING],
        message: `set either a connection string or ${NAMESPACE}, not both`,
      });
    } else if (cs === undefined && env[NAMESPACE] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [CONNECTION_STRING],
        message: `is required unless ${NAMESPACE} is set`,
      });
    } else if (cs !== undefined) {
      const problem = connectionStringProblem(cs);
      if (problem) ctx.addIssue({ code: 'custom', path: [CONNECTION_STRING], message: problem });
    }
  });

/**
 * What is wrong with a connection string, in words that never quote it (a wrong value could still be a real
 * key), or undefined when it is usable.
 */
function connectionStringProblem(cs: string): string | undefined {
  let parsed: ReturnType<typeof parseServiceBusConnectionString>;
  try {
    parsed = parseServiceBusConnectionString(cs);
  } catch {
    return 'is not a Service Bus connection string (Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…)';
  }
  if (!/^sb:\/\/[^/;]+/i.test(parsed.endpoint) || !parsed.fullyQualifiedNamespace) {
    return 'must have an Endpoint of the form sb://host[:port]/';
  }
  if (!parsed.sharedAccessKey && !parsed.sharedAccessSignature) {
    return 'must carry SharedAccessKeyName and SharedAccessKey (or a SharedAccessSignature)';
  }
  const flag = emulatorFlag(cs);
  // core-amqp switches to plain TCP only for the exact value "true"; anything else would silently use TLS.
  if (flag !== undefined && flag !== 'true' && flag !== 'false') {
    return 'UseDevelopmentEmulator must be exactly true or false';
  }
  return undefined;
}

function emulatorFlag(cs: string): string | undefined {
  for (const part of cs.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'UseDevelopmentEmulator') return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Reads the Service Bus settings from an env object (never process.env implicitly); throws naming the variable. */
export function messagingConfigFromEnv(env: Readonly<Record<string, string | undefined>>): MessagingConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new MessagingError('INVALID_CONFIG', issues.join('; '));
  }
  const cs = result.data[CONNECTION_STRING];
  if (cs !== undefined) {
    const config = {
      kind: 'connection-string' as const,
      fullyQualifiedNamespace: parseServiceBusConnectionString(cs).fullyQualifiedNamespace,
      developmentEmulator: emulatorFlag(cs) === 'true',
    };
    Object.defineProperty(config, 'connectionString', { value: cs, enumerable: false });
    return Object.freeze(config) as MessagingConfig;
  }
  return Object.freeze({
    kind: 'entra-id' as const,
    fullyQualifiedNamespace: result.data[NAMESPACE]!,
    developmentEmulator: false as const,
  });
}
