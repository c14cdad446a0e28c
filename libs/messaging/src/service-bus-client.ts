// The one place that decides how to authenticate to Service Bus: a connection string (the emulator, or a SAS
// key) or the namespace with an Entra ID credential. Senders and drainers share the client it returns (one
// AMQP connection per client), so a process should build one and close it on shutdown.

import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  RetryMode,
  ServiceBusClient,
  type RetryOptions,
  type ServiceBusClientOptions,
} from '@azure/service-bus';
import type { MessagingConfig } from './messaging-config.js';

export interface ServiceBusClientDeps {
  /** Used with an Entra ID config; DefaultAzureCredential when absent. */
  readonly credential?: TokenCredential;
  /** Passed to the SDK; its `retryOptions` are merged over DEFAULT_RETRY_OPTIONS. */
  readonly clientOptions?: ServiceBusClientOptions;
}

/**
 * The project's retry defaults. The SDK's own (3 retries 30 s apart, 60 s per try) hold a vendor's push for
 * minutes before the receiver may answer 503; these give up within about 25 s, and the vendor retries.
 */
export const DEFAULT_RETRY_OPTIONS: Readonly<RetryOptions> = Object.freeze({
  mode: RetryMode.Exponential,
  maxRetries: 2,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 5_000,
  timeoutInMs: 10_000,
});

/**
 * Retries that give up within a sender's own deadline (`timeoutMs` a try) rather than the project's defaults:
 * for senders whose caller is waiting — a vendor's push (answered 503, and the vendor retries), a tracker's
 * packet (left unacknowledged, and the device resends).
 */
export function deadlineRetryOptions(timeoutMs: number): RetryOptions {
  return { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000, timeoutInMs: timeoutMs };
}

export function createServiceBusClient(
  config: MessagingConfig,
  deps: ServiceBusClientDeps = {},
): ServiceBusClient {
  const options: ServiceBusClientOptions = {
    ...deps.clientOptions,
    retryOptions: { ...DEFAULT_RETRY_OPTIONS, ...deps.clientOptions?.retryOptions },
  };
  if (config.kind === 'connection-string') return new ServiceBusClient(config.connectionString, options);
  return new ServiceBusClient(
    config.fullyQualifiedNamespace,
    deps.credential ?? new DefaultAzureCredential(),
    options,
  );
}
