// The command as a user (or docker-compose) runs it: node, the bin script, tsx and the sources, in a child process.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ServiceBusClient } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/servicebus-emulator.mjs', import.meta.url));
const exampleConfig = fileURLToPath(new URL('../config/transit-fusion.json', import.meta.url));
const exec = promisify(execFile);

describe('bin/servicebus-emulator.mjs', () => {
  it('serves the example config, prints the connection string and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, '--config', exampleConfig, '--port', '0'], { cwd: '/' });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const connectionString = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /Connection string: (\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    expect(connectionString).toMatch(/^Endpoint=sb:\/\/127\.0\.0\.1:\d+;.*UseDevelopmentEmulator=true$/);

    const client = new ServiceBusClient(connectionString);
    await client.createSender('vendor-pushes').sendMessages({ body: { vendor: 'v1' } });
    const receiver = client.createReceiver('vendor-pushes', 'collector', { receiveMode: 'receiveAndDelete' });
    const [message] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5000 });
    expect(message?.body).toEqual({ vendor: 'v1' });
    await client.close();

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stderr).toContain('stopping');
  });

  it('exits with 2, naming the problem, when the config is unreadable or invalid', async () => {
    const run = (config: string) =>
      exec(process.execPath, [bin, '--config', config]).catch(
        (error: { code: number; stderr: string }) => error,
      );
    expect(await run('/no/such/config.json')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('cannot read /no/such/config.json'),
    });
    const dir = await mkdtemp(join(tmpdir(), 'sb-emulator-bin-'));
    const invalid = join(dir, 'config.json');
    await writeFile(
      invalid,
      JSON.stringify({
        UserConfig: {
          Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q', Properties: { MaxDeliveryCount: -1 } }] }],
        },
      }),
    );
    expect(await run(invalid)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        'Queues[0].Properties.MaxDeliveryCount (queue "q") must be a whole number',
      ),
    });
  });
});
