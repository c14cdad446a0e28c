// Tracker mode: N simulated Teltonika devices, each holding a TCP connection to the device gateway the way real
// trackers do. A device logs in with its IMEI (the fleet registry's `trackers` key: the same IMEI the SIRI speed
// vendor reports under), then every interval sends an AVL packet (Codec 8 or 8 Extended, alternating by device)
// of its vehicle's latest state — position, heading, speed, satellites, and IO elements for ignition, movement,
// external voltage and fuel level — and waits for the ack. A packet not acknowledged within the ack timeout is
// sent again, as devices do; a closed connection is reopened after a back-off. Each device starts at its own
// phase in the interval, so the gateway sees a steady stream rather than N packets at once.

import { connect, type Socket } from 'node:net';
import {
  CODEC_8,
  CODEC_8E,
  encodeAvlPacket,
  encodeLogin,
  type AvlRecordInit,
} from '@transit-fusion/teltonika';
import type { VehicleTruth } from './fleet.js';
import { speedKey } from './vendor-feeds.js';

export interface TrackerFleetDeps {
  readonly host: string;
  readonly port: number;
  /** Number of devices: the first `count` vehicles of the fleet get one each. */
  readonly count: number;
  /** The fleet's current truth (the simulator's snapshot, or the benchmark's). */
  readonly truth: () => { timestampMs: number; vehicles: readonly VehicleTruth[] };
  /** Between packets of one device (default 1,000 ms). */
  readonly intervalMs?: number;
  /** Records per packet (default 1); a device sends its latest state, repeated at older timestamps if more. */
  readonly recordsPerPacket?: number;
  /** Resend an unacknowledged packet after this long (default 5,000 ms). */
  readonly ackTimeoutMs?: number;
  /** Connections opened per second while starting (default 2,000), as a fleet powering on is spread out. */
  readonly connectRatePerSecond?: number;
  readonly logger?: { warn(obj: object, msg: string): void };
}

export interface TrackerFleetStats {
  connected: number;
  loggedIn: number;
  rejected: number;
  packetsSent: number;
  packetsAcked: number;
  recordsAcked: number;
  resends: number;
  reconnects: number;
  /** Milliseconds from each acked packet's last send to its ack. */
  readonly ackLatenciesMs: number[];
}

export interface TrackerFleet {
  readonly stats: TrackerFleetStats;
  /** Opens the connections (at the connect rate) and starts sending; resolves once every device has logged in. */
  start(): Promise<void>;
  stop(): void;
}

/** The IMEI of the tracker in a vehicle (the SIRI speed vendor's key, 15 digits). */
export const trackerImei = speedKey;

const IO = { ignition: 239, movement: 240, externalVoltage: 66, fuelLevel: 89 } as const;

export function avlRecordOf(vehicle: VehicleTruth, timestampMs: number): AvlRecordInit {
  const moving = vehicle.speed > 0.5;
  return {
    timestamp: timestampMs,
    priority: 0,
    longitude: vehicle.lon,
    latitude: vehicle.lat,
    altitude: 20,
    angle: Math.round(vehicle.bearing) % 360,
    satellites: 7 + (vehicle.index % 6),
    speed: Math.round(vehicle.speed * 3.6),
    eventIoId: 0,
    io: new Map<number, number>([
      [IO.ignition, vehicle.status === 'on_duty' ? 1 : 0],
      [IO.movement, moving ? 1 : 0],
      [IO.externalVoltage, 27_600 + (vehicle.index % 400)],
      [IO.fuelLevel, Math.round(vehicle.fuel)],
    ]),
  };
}

export function createTrackerFleet(deps: TrackerFleetDeps): TrackerFleet {
  const intervalMs = deps.intervalMs ?? 1_000;
  const recordsPerPacket = deps.recordsPerPacket ?? 1;
  const ackTimeoutMs = deps.ackTimeoutMs ?? 5_000;
  const connectRate = deps.connectRatePerSecond ?? 2_000;
  const stats: TrackerFleetStats = {
    connected: 0,
    loggedIn: 0,
    rejected: 0,
    packetsSent: 0,
    packetsAcked: 0,
    recordsAcked: 0,
    resends: 0,
    reconnects: 0,
    ackLatenciesMs: [],
  };
  let stopped = false;
  const devices: { stop(): void }[] = [];
  let allLoggedIn: () => void = () => {};
  const everyoneIn = new Promise<void>((resolve) => (allLoggedIn = resolve));
  const firstLogins = new Set<number>();

  function device(index: number) {
    const imei = trackerImei(deps.truth().vehicles[index]!.fleetNumber);
    const codec = index % 2 === 0 ? CODEC_8 : CODEC_8E;
    let socket: Socket | undefined;
    let sendTimer: NodeJS.Timeout | undefined;
    let ackTimer: NodeJS.Timeout | undefined;
    let inFlight: { bytes: Buffer; records: number; sentAt: number } | undefined;
    let received: Buffer = Buffer.alloc(0);
    let loggedIn = false;

    const packet = () => {
      const { timestampMs, vehicles } = deps.truth();
      const vehicle = vehicles[index % vehicles.length]!;
      const records: AvlRecordInit[] = [];
      for (let r = recordsPerPacket - 1; r >= 0; r--)
        records.push(avlRecordOf(vehicle, timestampMs - r * 1_000));
      return { bytes: encodeAvlPacket(codec, records), records: records.length };
    };
    const send = () => {
      if (!socket || !loggedIn || stopped) return;
      if (!inFlight) {
        inFlight = { ...packet(), sentAt: performance.now() };
      } else {
        stats.resends++;
        inFlight.sentAt = performance.now();
      }
      stats.packetsSent++;
      socket.write(inFlight.bytes);
      clearTimeout(ackTimer);
      ackTimer = setTimeout(send, ackTimeoutMs);
    };
    const open = () => {
      if (stopped) return;
      received = Buffer.alloc(0);
      loggedIn = false;
      const s = connect({ host: deps.host, port: deps.port });
      socket = s;
      s.setNoDelay(true);
      s.on('connect', () => {
        stats.connected++;
        s.write(encodeLogin(imei));
      });
      s.on('data', (chunk: Buffer) => {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        if (!loggedIn) {
          const answer = received[0];
          received = received.subarray(1);
          if (answer !== 1) {
            stats.rejected++;
            s.destroy();
            return;
          }
          loggedIn = true;
          stats.loggedIn++;
          if (!firstLogins.has(index)) {
            firstLogins.add(index);
            if (firstLogins.size === deps.count) allLoggedIn();
          }
          // Its own phase in the interval; a packet left unacknowledged by a lost connection goes again first.
          sendTimer = setTimeout(
            () => {
              send();
              sendTimer = setInterval(() => {
                if (!inFlight) send();
              }, intervalMs);
            },
            Math.floor((index * 7919) % intervalMs),
          );
        }
        while (received.length >= 4 && inFlight) {
          const accepted = received.readUInt32BE(0);
          received = received.subarray(4);
          if (accepted !== inFlight.records) continue; // not ours; the timer resends
          clearTimeout(ackTimer);
          stats.packetsAcked++;
          stats.recordsAcked += inFlight.records;
          stats.ackLatenciesMs.push(performance.now() - inFlight.sentAt);
          inFlight = undefined;
        }
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(ackTimer);
        clearInterval(sendTimer);
        clearTimeout(sendTimer);
        if (loggedIn) stats.loggedIn--;
        stats.connected = Math.max(0, stats.connected - 1);
        if (!stopped) {
          stats.reconnects++;
          setTimeout(open, 1_000 + (index % 1_000)).unref();
        }
      });
    };
    return {
      open,
      stop() {
        clearTimeout(ackTimer);
        clearInterval(sendTimer);
        clearTimeout(sendTimer);
        socket?.destroy();
      },
    };
  }

  return {
    stats,
    async start() {
      const perTick = Math.max(1, Math.round(connectRate / 20));
      for (let i = 0; i < deps.count && !stopped; i += perTick) {
        for (let j = i; j < Math.min(deps.count, i + perTick); j++) {
          const d = device(j);
          devices.push(d);
          d.open();
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (deps.count > 0) await everyoneIn;
    },
    stop() {
      stopped = true;
      for (const d of devices) d.stop();
      allLoggedIn();
    },
  };
}
