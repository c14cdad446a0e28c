// Benchmark "gateway": the device gateway process (apps/device-gateway/src/main.ts, as deployed) with the Service
// Bus emulator in a process of its own, and N simulated Teltonika trackers (the simulator's tracker mode) in this
// process, each on its own TCP connection, logging in and sending a packet of 10 records every 4 seconds (as
// trackers batch what they recorded since the last send), alternately Codec 8 and 8 Extended, waiting for each
// ack: 2,500 packets and 25,000 records a second offered. Measured over a window after every tracker logged in: the
// connections the gateway reports, AVL records acknowledged per second (each one parsed, forwarded and accepted
// by the broker before its ack), and the ack latency from a packet's send to its ack.
// Targets: 10,000 connections, ≥ 20,000 records/s, ack p99 ≤ 100 ms.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emulatorConfigOf } from '@transit-fusion/messaging';
import { spawnServiceBusEmulator } from '@transit-fusion/servicebus-emulator';
import {
  createFleet,
  createTrackerFleet,
  fleetRegistryDocument,
  snapshotAt,
  step,
  type FleetSnapshot,
} from '@transit-fusion/simulator';
import { freePort, startChild } from '@transit-fusion/testing';
import { createReporter, percentile, type Figure } from './reporter.js';

export interface GatewayBenchOptions {
  readonly devices?: number;
  /** Measured seconds after every device logged in and a warm-up (default 20). */
  readonly seconds?: number;
  readonly recordsPerPacket?: number;
  /** Between a device's packets (default 4,000 ms). */
  readonly intervalMs?: number;
  readonly write?: (line: string) => void;
}

export async function run(options: GatewayBenchOptions = {}): Promise<Figure[]> {
  const reporter = createReporter('gateway', options.write ?? console.log);
  const devices = options.devices ?? 10_000;
  const seconds = options.seconds ?? 20;
  const recordsPerPacket = options.recordsPerPacket ?? 10;

  // Thirty seconds of the fleet, simulated up front and cycled: stepping 10,000 vehicles every second in this
  // process would stall the devices' event loop and be billed to the gateway's ack latency.
  const fleet = createFleet({ vehicles: devices, seed: 5 });
  const seconds30: FleetSnapshot[] = [];
  for (let i = 0; i < 30; i++) {
    seconds30.push(snapshotAt(fleet));
    step(fleet, 1_000);
  }
  let second = 0;
  let truth: FleetSnapshot = seconds30[0]!;
  const clock = setInterval(() => (truth = seconds30[++second % seconds30.length]!), 1_000);
  const registryFile = path.join(mkdtempSync(path.join(tmpdir(), 'gateway-bench-')), 'fleet-registry.json');
  writeFileSync(registryFile, JSON.stringify(fleetRegistryDocument(truth.vehicles, { trackers: devices })));

  const emulator = await spawnServiceBusEmulator({
    config: emulatorConfigOf({ topics: [{ name: 'vendor-pushes', subscriptions: [] }] }),
  });
  const tcpPort = await freePort();
  const httpPort = await freePort();
  const gateway = startChild('apps/device-gateway/src/main.ts', {
    TF_SERVICEBUS_CONNECTION_STRING: emulator.connectionString,
    TF_GATEWAY_HOST: '127.0.0.1',
    TF_GATEWAY_TCP_PORT: String(tcpPort),
    TF_GATEWAY_HTTP_PORT: String(httpPort),
    TF_GATEWAY_DEVICE_REGISTRY: registryFile,
    // Every tracker comes from 127.0.0.1 here; in production they come from many addresses.
    TF_GATEWAY_MAX_CONNECTIONS_PER_ADDRESS: String(devices + 100),
    TF_GATEWAY_CONNECT_RATE_PER_ADDRESS: '100000',
    TF_LOG_LEVEL: 'warn',
  });
  const trackers = createTrackerFleet({
    host: '127.0.0.1',
    port: tcpPort,
    count: devices,
    truth: () => truth,
    intervalMs: options.intervalMs ?? 4_000,
    recordsPerPacket,
    connectRatePerSecond: 2_000,
  });
  try {
    await waitForReady(httpPort, gateway.exited);
    const connectStarted = performance.now();
    await trackers.start();
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    // Warm-up: every device's phase comes round once.
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 4_000));

    const { stats } = trackers;
    const records0 = stats.recordsAcked;
    const latencies0 = stats.ackLatenciesMs.length;
    const resends0 = stats.resends;
    const packets0 = stats.packetsAcked;
    const started = performance.now();
    let connections = 0;
    while (performance.now() - started < seconds * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      connections = Math.max(connections, await gaugeOf(httpPort, 'gateway_connections'));
    }
    const elapsed = (performance.now() - started) / 1000;
    const latencies = stats.ackLatenciesMs.slice(latencies0);
    const n = devices;
    reporter.figure('connections', n, connections, 'connections', `≥ ${devices}`);
    reporter.figure('connect_s', n, connectSeconds, 's');
    reporter.figure('records_per_s', n, (stats.recordsAcked - records0) / elapsed, 'records/s', '≥ 20,000');
    reporter.figure('packets_per_s', n, (stats.packetsAcked - packets0) / elapsed, 'packets/s');
    reporter.figure('ack_p50_ms', n, percentile(latencies, 50), 'ms');
    reporter.figure('ack_p99_ms', n, percentile(latencies, 99), 'ms', '≤ 100');
    reporter.figure('resends', n, stats.resends - resends0, 'packets');
  } finally {
    clearInterval(clock);
    trackers.stop();
    gateway.child.kill('SIGTERM');
    await gateway.exited;
    await emulator.stop();
  }
  return reporter.flush();
}

async function waitForReady(port: number, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300 && !gone; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(gone ? 'the gateway exited during start-up' : 'the gateway did not become ready');
}

async function gaugeOf(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
