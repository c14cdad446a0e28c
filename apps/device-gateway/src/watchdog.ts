// The accept-loop watchdog. The TCP listener this replaces hung after a day or two while its process looked
// alive, and a script rebooted it daily. Here, every interval the gateway logs in to its own port with the
// watchdog IMEI; when the login is answered (accept, read, parse and write all worked), the `accept-loop`
// heartbeat beats. A listener that stops accepting, or a loop too busy to answer, lets the heartbeat go stale:
// /healthz fails and the orchestrator restarts the container. Without an orchestrator, `onDead` (main.ts exits
// with an error) lets the restart policy do it.

import { connect } from 'node:net';
import type { Liveness } from '@transit-fusion/service-kit';
import { encodeLogin, LOGIN_ACCEPT } from '@transit-fusion/teltonika';
import { WATCHDOG_IMEI } from './tcp-gateway.js';

export const ACCEPT_LOOP_HEARTBEAT = 'accept-loop';

export interface WatchdogDeps {
  readonly liveness: Liveness;
  /** The gateway's port (the probe connects through loopback). */
  readonly port: number;
  readonly intervalMs: number;
  readonly logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Called once the heartbeat has been stale for `deadAfterMs` more (default 3 intervals). */
  readonly onDead?: () => void;
  readonly deadAfterMs?: number;
}

export interface Watchdog {
  stop(): void;
}

export function startWatchdog(deps: WatchdogDeps): Watchdog {
  const maxAgeMs = deps.intervalMs * 3;
  const deadAfterMs = deps.deadAfterMs ?? maxAgeMs;
  deps.liveness.register(ACCEPT_LOOP_HEARTBEAT, maxAgeMs);
  let lastAnswered = Date.now();
  let warned = false;

  const probe = () => {
    const socket = connect({ host: '127.0.0.1', port: deps.port });
    socket.setTimeout(deps.intervalMs, () => socket.destroy());
    socket.once('connect', () => socket.write(encodeLogin(WATCHDOG_IMEI)));
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] === LOGIN_ACCEPT[0]) {
        lastAnswered = Date.now();
        warned = false;
        deps.liveness.beat(ACCEPT_LOOP_HEARTBEAT);
      }
      socket.destroy();
    });
    socket.on('error', () => socket.destroy());

    const silentMs = Date.now() - lastAnswered;
    if (silentMs > maxAgeMs && !warned) {
      warned = true;
      deps.logger.warn({ silentMs }, 'the TCP listener has not answered the watchdog probe');
    }
    if (silentMs > maxAgeMs + deadAfterMs) {
      deps.logger.error({ silentMs }, 'the TCP listener is stuck; exiting so the process is restarted');
      clearInterval(timer);
      deps.onDead?.();
    }
  };
  const timer = setInterval(probe, deps.intervalMs).unref();
  probe();
  return {
    stop() {
      clearInterval(timer);
      deps.liveness.unregister(ACCEPT_LOOP_HEARTBEAT);
    },
  };
}
