// Benchmark "servicebus": the push path of issue #4 against the Service Bus emulator.
// - receiver: vendor pushes over HTTP (keep-alive, `concurrency` requests in flight) into the receiver process
//   (apps/receiver/src/main.ts, the production wiring, in a child process), each answered 202 only once Service
//   Bus accepted it. Targets: ≥ 2,000 pushes/s, p99 ≤ 50 ms.
// - drainer: the collector side, draining what the receiver put on the topic with the messaging lib's batched
//   drainer (peek-lock, batches of 16, complete each). Target ≥ 5,000 messages/s.
// The emulator and the HTTP clients share this process; the receiver has its own, as in production.

import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createBatchedDrainer,
  createServiceBusClient,
  emulatorConfigOf,
  messagingConfigFromEnv,
} from '@transit-fusion/messaging';
import { startServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import { freePort, waitForPort } from '@transit-fusion/testing';
import { createReporter, percentile, type Figure } from './reporter.js';

export interface ServiceBusBenchOptions {
  /** Timed pushes (default 20,000), after `warmup` untimed ones (default 1,000). */
  readonly pushes?: number;
  readonly warmup?: number;
  /** Requests in flight at once (default 32). */
  readonly concurrency?: number;
  /** Records per push (default 1: a vendor pushing each vehicle as it reports). */
  readonly recordsPerPush?: number;
  readonly write?: (line: string) => void;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOPIC = 'vendor-pushes';
const SUBSCRIPTION = 'collector';
const API_KEY = 'bench-key-000000000000000001';

export async function run(options: ServiceBusBenchOptions = {}): Promise<Figure[]> {
  const out = options.write ?? console.log;
  const reporter = createReporter('servicebus', out);
  const pushes = options.pushes ?? 20_000;
  const warmup = options.warmup ?? 1_000;
  const concurrency = options.concurrency ?? 32;
  const recordsPerPush = options.recordsPerPush ?? 1;

  const emulator = await startServiceBusEmulator({
    config: emulatorConfigOf({ topics: [{ name: TOPIC, subscriptions: [{ name: SUBSCRIPTION }] }] }),
    port: 0,
  });
  const receiver = await startReceiver({
    TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    TF_RECEIVER_HOST: '127.0.0.1',
    TF_RECEIVER_TOPIC: TOPIC,
    TF_RECEIVER_VENDORS: JSON.stringify({
      bench: { auth: { type: 'api-key', keys: [API_KEY] }, rateLimit: { perSecond: 1e6, burst: 1e6 } },
    }),
    TF_LOG_LEVEL: 'warn',
  });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const push = pusher(receiver.port, agent, recordsPerPush);
    await drive(warmup, concurrency, push);
    const latencies: number[] = [];
    const started = performance.now();
    await drive(pushes, concurrency, async (i) => latencies.push(await push(warmup + i)));
    const seconds = (performance.now() - started) / 1000;
    reporter.figure('receiver_pushes_per_s', pushes, pushes / seconds, '/s', '≥ 2,000');
    reporter.figure('receiver_p50_ms', pushes, percentile(latencies, 50), 'ms');
    reporter.figure('receiver_p99_ms', pushes, percentile(latencies, 99), 'ms', '≤ 50');

    // Everything answered 202 is on the subscription: drain it all, timed.
    const expected = warmup + pushes;
    const onTopic = emulator.stats(`${TOPIC}/Subscriptions/${SUBSCRIPTION}`).active;
    if (onTopic !== expected) throw new Error(`${onTopic} messages on the topic, expected ${expected}`);
    const drained = await drainAll(emulator.connectionString, expected);
    reporter.figure('drain_messages_per_s', expected, drained.messagesPerSecond, '/s', '≥ 5,000');
  } finally {
    agent.destroy();
    await receiver.stop();
    await emulator.stop();
  }
  return reporter.flush();
}

/** Runs `task(0..count-1)` with `concurrency` in flight. */
async function drive(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** One push per call, resolving with its latency in ms; anything but 202 fails the benchmark. */
function pusher(port: number, agent: Agent, recordsPerPush: number) {
  const observedAt = Date.now() - 1_000;
  return (i: number) =>
    new Promise<number>((resolve, reject) => {
      const records = Array.from({ length: recordsPerPush }, (_, r) => ({
        vehicleKey: `veh-${(i * recordsPerPush + r) % 5_000}`,
        observedAt,
        position: { lat: 60.17 + (i % 100) / 1e4, lon: 24.94 },
        speed: 8.5,
        delay: i % 300,
      }));
      const body = JSON.stringify(records);
      const started = performance.now();
      const req = request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/vendors/bench/records',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-api-key': API_KEY,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode === 202) resolve(performance.now() - started);
            else reject(new Error(`push ${i}: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

async function drainAll(connectionString: string, expected: number) {
  const client = createServiceBusClient(
    messagingConfigFromEnv({ TF_SERVICEBUS_CONNECTION_STRING: connectionString }),
  );
  let completed = 0;
  const drainer = createBatchedDrainer({
    client,
    topic: TOPIC,
    subscription: SUBSCRIPTION,
    batchSize: 16,
    maxWaitTimeMs: 200,
    handler: async (batch) => ({ processed: batch }),
  });
  try {
    const started = performance.now();
    while (completed < expected) {
      const result = await drainer.drain({ budgetMs: 60_000 });
      completed += result.completed;
      if (result.received === 0) break;
    }
    const elapsedMs = performance.now() - started;
    if (completed !== expected) throw new Error(`drained ${completed} of ${expected} messages`);
    return { messagesPerSecond: completed / (elapsedMs / 1000) };
  } finally {
    await drainer.close();
    await client.close();
  }
}

/** The receiver as it runs in production (src/main.ts through tsx), in its own process, logging warnings only. */
async function startReceiver(env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--conditions=@transit-fusion/source', '--import', 'tsx', path.join(root, 'apps/receiver/src/main.ts')],
    {
      cwd: root,
      env: { ...process.env, ...env, TF_RECEIVER_PORT: String(port) },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await Promise.race([
    waitForPort(port),
    exited.then((code) => Promise.reject(new Error(`the receiver exited with ${code} before listening`))),
  ]);
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) throw new Error(`the receiver exited with ${code} on SIGTERM`);
    },
  };
}
