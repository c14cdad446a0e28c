// The TCP side: many trackers on one port, each connection bound to its IMEI after login. Per connection a frame
// reader (libs/teltonika) turns reads into frames, and frames are handled strictly in order, so acks go out in
// the order packets came. An AVL packet's records go to the record forwarder and the ack (the number of records)
// is written only after the broker accepted them: a device that gets no ack sends the packet again, so nothing
// acknowledged is lost and nothing unacknowledged is forgotten.
//
// Hostile and broken devices are contained per connection: limits on connections in total and per address and on
// the connect rate per address, a login deadline and an idle timeout (slowloris), fatal protocol errors close the
// connection, unusable packets (bad CRC, unknown codec) are counted and left unacknowledged, and a device that
// keeps sending unusable packets is disconnected. Nothing a device sends can throw out of a socket handler.

import { createServer, type Server, type Socket } from 'node:net';
import type { Logger, Metrics } from '@transit-fusion/service-kit';
import {
  createFrameReader,
  encodeAck,
  isTeltonikaError,
  LOGIN_ACCEPT,
  LOGIN_REJECT,
  readIo,
  toVendorRecord,
  type TeltonikaFrame,
} from '@transit-fusion/teltonika';
import type { VendorRecord } from '@transit-fusion/model';
import type { GatewayConfig } from './config.js';
import type { DeviceRegistry } from './device-registry.js';
import type { RecordForwarder } from './record-forwarder.js';

export type TcpGatewayOptions = Pick<
  GatewayConfig,
  | 'vendorId'
  | 'ioMapping'
  | 'maxConnections'
  | 'maxConnectionsPerAddress'
  | 'connectRatePerAddress'
  | 'loginTimeoutMs'
  | 'idleTimeoutMs'
  | 'maxPacketBytes'
  | 'maxPendingRecords'
>;

export interface TcpGatewayDeps {
  readonly options: TcpGatewayOptions;
  readonly registry: Pick<DeviceRegistry, 'accepts'>;
  readonly forwarder: RecordForwarder;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'debug'>;
  readonly metrics: Metrics;
  readonly clock?: { now(): number };
}

export interface TcpGateway {
  readonly server: Server;
  listen(host: string, port: number): Promise<number>;
  /** Connections open now (logged in or not). */
  readonly connections: number;
  /** Stops accepting, then closes every connection once its records in flight settled (at most `graceMs`). */
  close(graceMs: number): Promise<void>;
}

/**
 * The IMEI the watchdog logs in with, from loopback only (no tracker has an all-zero IMEI; the registry never
 * holds it). Its login is answered and the connection closed, proving the whole path works.
 */
export const WATCHDOG_IMEI = '000000000000000';
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Consecutive unusable packets after which a device is disconnected (it would resend the same bytes forever). */
const MAX_REJECTED_IN_A_ROW = 5;
/** Frames waiting for their turn on one connection before it stops being read. */
const MAX_QUEUED_FRAMES = 8;

export function createTcpGateway(deps: TcpGatewayDeps): TcpGateway {
  const { options, metrics, logger } = deps;
  const clock = deps.clock ?? Date;
  const sockets = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const connectBudget = new Map<string, { tokens: number; at: number }>();
  const paused = new Set<Socket>();

  const connectionsGauge = metrics.gauge({ name: 'gateway_connections', help: 'Open tracker connections.' });
  const refused = metrics.counter({
    name: 'gateway_connections_refused_total',
    help: 'Connections closed at once: over the total or per-address limit, or the per-address connect rate.',
    labelNames: ['reason'],
  });
  const logins = metrics.counter({
    name: 'gateway_logins_total',
    help: 'IMEI logins by outcome (accepted: in the registry; rejected: unknown IMEI).',
    labelNames: ['outcome'],
  });
  const records = metrics.counter({
    name: 'gateway_records_total',
    help: 'AVL records by outcome (forwarded: accepted by the broker; invalid: refused by the model; failed: not accepted by the broker, not acked).',
    labelNames: ['outcome'],
  });
  const packetsRejected = metrics.counter({
    name: 'gateway_packets_rejected_total',
    help: 'Well-framed packets that could not be used, not acknowledged (BAD_CRC is a CRC failure).',
    labelNames: ['code'],
  });
  const protocolErrors = metrics.counter({
    name: 'gateway_protocol_errors_total',
    help: 'Connections closed for a fatal protocol error (bad login, preamble or length, too large).',
    labelNames: ['code'],
  });
  const timeouts = metrics.counter({
    name: 'gateway_timeouts_total',
    help: 'Connections closed for silence: no login in time, or idle.',
    labelNames: ['kind'],
  });
  const ackLatency = metrics.histogram({
    name: 'gateway_ack_latency_seconds',
    help: 'From a packet read whole to its ack written (forwarding to the broker included).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const commandReplies = metrics.counter({
    name: 'gateway_command_replies_total',
    help: 'Codec 12 replies to commands received from devices.',
  });
  metrics.gauge({
    name: 'gateway_pending_records',
    help: 'Records accepted from devices and not yet confirmed by the broker.',
    collect() {
      this.set(deps.forwarder.pending);
    },
  });

  function allowConnect(address: string): 'ok' | 'total' | 'address' | 'rate' {
    if (sockets.size >= options.maxConnections) return 'total';
    if ((perAddress.get(address) ?? 0) >= options.maxConnectionsPerAddress) return 'address';
    const now = clock.now();
    const rate = options.connectRatePerAddress;
    const budget = connectBudget.get(address) ?? { tokens: rate, at: now };
    budget.tokens = Math.min(rate, budget.tokens + ((now - budget.at) / 1000) * rate);
    budget.at = now;
    connectBudget.set(address, budget);
    if (budget.tokens < 1) return 'rate';
    budget.tokens -= 1;
    return 'ok';
  }

  // Global backpressure: while the broker is behind, no socket is read; TCP then slows the devices down.
  function resumeIfDrained(): void {
    if (deps.forwarder.pending >= options.maxPendingRecords) return;
    for (const socket of paused) {
      paused.delete(socket);
      socket.resume();
    }
  }

  function handleConnection(socket: Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const verdict = allowConnect(address);
    if (verdict !== 'ok') {
      refused.inc({ reason: verdict });
      socket.destroy();
      return;
    }
    sockets.add(socket);
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    connectionsGauge.set(sockets.size);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);

    const reader = createFrameReader({ maxPacketBytes: options.maxPacketBytes });
    let imei: string | undefined;
    let chain: Promise<void> = Promise.resolve();
    let queued = 0;
    let rejectedInARow = 0;
    let closing = false;

    const loginTimer = setTimeout(() => {
      timeouts.inc({ kind: 'login' });
      logger.debug({ address }, 'no login in time; closing');
      socket.destroy();
    }, options.loginTimeoutMs);
    socket.setTimeout(options.idleTimeoutMs, () => {
      timeouts.inc({ kind: 'idle' });
      logger.debug({ imei, address }, 'idle; closing');
      socket.destroy();
    });

    async function handle(frame: TeltonikaFrame, readAt: number): Promise<void> {
      if (closing || socket.destroyed) return;
      switch (frame.kind) {
        case 'login': {
          clearTimeout(loginTimer);
          if (frame.imei === WATCHDOG_IMEI && LOOPBACK.has(address)) {
            // The watchdog's probe went through accept, read, parse and write: answer it and let it go.
            closing = true;
            socket.end(LOGIN_ACCEPT);
            return;
          }
          if (!deps.registry.accepts(frame.imei)) {
            logins.inc({ outcome: 'rejected' });
            logger.info({ imei: frame.imei, address }, 'login rejected: IMEI not in the device registry');
            closing = true;
            socket.end(LOGIN_REJECT);
            return;
          }
          imei = frame.imei;
          logins.inc({ outcome: 'accepted' });
          socket.write(LOGIN_ACCEPT);
          return;
        }
        case 'avl': {
          rejectedInARow = 0;
          const valid: VendorRecord[] = [];
          for (const record of frame.packet.records) {
            try {
              // The model's fields for the fusion, and every reading of the IO mapping (ignition, voltages,
              // temperature...) as `telemetry` for any other subscriber of the topic; the collector keeps
              // only the model's fields.
              valid.push({
                ...toVendorRecord(imei!, record, { vendorId: options.vendorId, mapping: options.ioMapping }),
                telemetry: readIo(record, options.ioMapping),
              } as VendorRecord);
            } catch (error) {
              // A record the model refuses (a time outside 2000-2100) would be refused on every resend: it is
              // counted and acknowledged with the rest, never retried.
              records.inc({ outcome: 'invalid' });
              logger.debug({ imei, err: error }, 'AVL record refused');
            }
          }
          try {
            await deps.forwarder.forward(valid);
          } catch (error) {
            records.inc({ outcome: 'failed' }, valid.length);
            logger.warn(
              { imei, err: error },
              'records not accepted by the broker; no ack, the device resends',
            );
            // Without an ack the device waits for its own timeout; closing makes it reconnect and resend sooner.
            closing = true;
            socket.destroy();
            return;
          }
          records.inc({ outcome: 'forwarded' }, valid.length);
          if (socket.destroyed) return;
          socket.write(encodeAck(frame.packet.records.length));
          ackLatency.observe((performance.now() - readAt) / 1000);
          return;
        }
        case 'codec12':
          commandReplies.inc();
          logger.info(
            {
              imei,
              type: frame.message.type,
              reply: frame.message.text ?? frame.message.payload.toString('hex'),
            },
            'command reply',
          );
          return;
        case 'rejected':
          packetsRejected.inc({ code: frame.error.code });
          logger.debug({ imei, code: frame.error.code }, frame.error.message);
          if (++rejectedInARow >= MAX_REJECTED_IN_A_ROW) {
            logger.warn({ imei, code: frame.error.code }, 'too many unusable packets in a row; closing');
            closing = true;
            socket.destroy();
          }
          return;
      }
    }

    socket.on('data', (chunk: Buffer) => {
      let frames: TeltonikaFrame[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        const code = isTeltonikaError(error) ? error.code : 'INTERNAL';
        protocolErrors.inc({ code });
        logger.info({ imei, address, code, err: error }, 'protocol error; closing the connection');
        socket.destroy();
        return;
      }
      if (
        frames.length > 0 &&
        frames[0]!.kind !== 'login' &&
        imei === undefined &&
        reader.imei === undefined
      ) {
        // Cannot happen with a reader that expects a login; kept as a guard against misuse.
        socket.destroy();
        return;
      }
      const readAt = performance.now();
      for (const frame of frames) {
        queued++;
        chain = chain
          .then(() => handle(frame, readAt))
          .finally(() => {
            queued--;
            if (queued < MAX_QUEUED_FRAMES && !paused.has(socket) && socket.isPaused()) socket.resume();
            resumeIfDrained();
          });
      }
      if (queued >= MAX_QUEUED_FRAMES) socket.pause();
      else if (deps.forwarder.pending >= options.maxPendingRecords) {
        paused.add(socket);
        socket.pause();
      }
    });
    socket.on('error', (error) => logger.debug({ imei, address, err: error }, 'socket error'));
    socket.on('close', () => {
      clearTimeout(loginTimer);
      sockets.delete(socket);
      paused.delete(socket);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) {
        perAddress.delete(address);
        connectBudget.delete(address);
      } else perAddress.set(address, left);
      connectionsGauge.set(sockets.size);
    });
  }

  const server = createServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
    try {
      handleConnection(socket);
    } catch (error) {
      logger.warn({ err: error }, 'connection handler failed; closing the connection');
      socket.destroy();
    }
  });
  server.on('error', (error) => logger.warn({ err: error }, 'TCP server error'));

  return {
    server,
    get connections() {
      return sockets.size;
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, backlog: 4096 }, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    async close(graceMs) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      // Records already with the broker settle (and their acks go out) before the sockets close.
      await Promise.race([deps.forwarder.close(), new Promise((r) => setTimeout(r, graceMs).unref())]);
      for (const socket of sockets) socket.destroy();
      await stopped;
    },
  };
}
