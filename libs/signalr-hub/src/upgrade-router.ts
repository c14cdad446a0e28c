// WebSocket upgrades on a shared HTTP server. Node hands every upgrade request to every 'upgrade' listener, so
// each hub answering only its own path is not enough: an upgrade nobody handles would hang open forever, yet a
// hub destroying foreign paths would break another WebSocket endpoint on the same server. So all hubs on a
// server share one listener, which routes by path and answers 404 only when it is the server's sole 'upgrade'
// listener (anyone else listening may own that path).

import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { pathOf } from './request-url.js';
import { SignalRHubError } from './signalr-hub-error.js';

export interface UpgradeTarget {
  /** The normalised path (no trailing slash) this target serves. */
  readonly path: string;
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

const routes = new WeakMap<Server, Map<string, UpgradeTarget>>();

/** Routes upgrades for `target.path` on `server` to `target`; throws if another target holds that path. */
export function routeUpgrades(server: Server, target: UpgradeTarget): void {
  let targets = routes.get(server);
  if (targets === undefined) {
    const created = new Map<string, UpgradeTarget>();
    targets = created;
    routes.set(server, created);
    const listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const found = created.get(pathOf(request.url));
      if (found !== undefined) {
        found.handleUpgrade(request, socket, head);
      } else if (server.listeners('upgrade').length === 1) {
        refuseUpgrade(socket, 404, 'No WebSocket endpoint at this path.');
      }
    };
    server.on('upgrade', listener);
  }
  if (targets.has(target.path))
    throw new SignalRHubError(
      'INVALID_ARGUMENT',
      `a hub already serves WebSocket upgrades at ${target.path}`,
    );
  targets.set(target.path, target);
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (socket.destroyed) return;
  socket.on('error', () => {}); // the peer may already be gone; nothing to do about it
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(message)}\r\n` +
      extra +
      '\r\n' +
      message,
  );
}
