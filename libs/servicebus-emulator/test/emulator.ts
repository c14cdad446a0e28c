// Test helpers: entity configs in Microsoft's format, an emulator on a free port, a logger that records.

import { ServiceBusClient } from '@azure/service-bus';
import { startServiceBusEmulator, type EmulatorLogger, type ServiceBusEmulator } from '../src/index.js';

export interface EntitySpec {
  readonly name: string;
  readonly lockDuration?: string;
  readonly maxDeliveryCount?: number;
}

export interface TopicSpec {
  readonly name: string;
  readonly subscriptions: readonly EntitySpec[];
}

const properties = (spec: EntitySpec) => ({
  ...(spec.lockDuration ? { LockDuration: spec.lockDuration } : {}),
  ...(spec.maxDeliveryCount ? { MaxDeliveryCount: spec.maxDeliveryCount } : {}),
});

/** A configuration in Microsoft's emulator format. */
export function emulatorConfig(entities: { queues?: readonly EntitySpec[]; topics?: readonly TopicSpec[] }) {
  return {
    UserConfig: {
      Namespaces: [
        {
          Name: 'sbemulatorns',
          Queues: (entities.queues ?? []).map((q) => ({ Name: q.name, Properties: properties(q) })),
          Topics: (entities.topics ?? []).map((t) => ({
            Name: t.name,
            Properties: {},
            Subscriptions: t.subscriptions.map((s) => ({ Name: s.name, Properties: properties(s) })),
          })),
        },
      ],
      Logging: { Type: 'File' },
    },
  };
}

export interface RecordingLogger extends EmulatorLogger {
  readonly lines: { level: 'info' | 'warn'; msg: string; obj: Record<string, unknown> }[];
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> }),
  };
}

export interface TestBus {
  readonly emulator: ServiceBusEmulator;
  readonly client: ServiceBusClient;
  readonly logger: RecordingLogger;
  close(): Promise<void>;
}

/** The emulator on a free port and a real ServiceBusClient connected to it. */
export async function startTestBus(config: unknown): Promise<TestBus> {
  const logger = recordingLogger();
  const emulator = await startServiceBusEmulator({ config, logger });
  const client = new ServiceBusClient(emulator.connectionString);
  return {
    emulator,
    client,
    logger,
    async close() {
      await client.close();
      await emulator.stop();
    },
  };
}
