// The emulator in its own process: the real client sends and receives through it, and stop() ends the process.

import { ServiceBusClient } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import { emulatorConfig } from '../test/emulator.js';
import { spawnServiceBusEmulator } from './index.js';

describe('spawnServiceBusEmulator', () => {
  it('runs the emulator as a child process that the real client talks to, and stops it', async () => {
    const emulator = await spawnServiceBusEmulator({ config: emulatorConfig({ queues: [{ name: 'q' }] }) });
    const client = new ServiceBusClient(emulator.connectionString);
    try {
      await client.createSender('q').sendMessages({ body: 'hello from the other process' });
      const [message] = await client.createReceiver('q').receiveMessages(1, { maxWaitTimeInMs: 5_000 });
      expect(message?.body).toBe('hello from the other process');
    } finally {
      await client.close();
      await emulator.stop();
    }
    expect(() => process.kill(emulator.pid, 0)).toThrow();
  });

  it('fails with a clear error when the config is invalid', async () => {
    await expect(spawnServiceBusEmulator({ config: { UserConfig: {} } })).rejects.toThrow(
      /LISTEN_FAILED: emulator exited with 2/,
    );
  });
});
