// A raw TCP tracker for tests: writes bytes exactly as given (split or joined as the test wants) and reads the
// gateway's answers byte by byte, so tests see precisely what a device would.

import { connect, type Socket } from 'node:net';

export interface TrackerClient {
  readonly socket: Socket;
  write(bytes: Uint8Array): Promise<void>;
  /** The next `n` bytes from the gateway; rejects after `timeoutMs` or when the connection closes first. */
  read(n: number, timeoutMs?: number): Promise<Buffer>;
  /** Resolves when the gateway closed the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

export async function connectTracker(port: number): Promise<TrackerClient> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake?.();
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      wake?.();
      resolve();
    }),
  );
  socket.on('error', () => {});
  return {
    socket,
    closed,
    write: (bytes) =>
      new Promise<void>((resolve, reject) => socket.write(bytes, (e) => (e ? reject(e) : resolve()))),
    async read(n, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (ended) throw new Error(`connection closed after ${received.length} of ${n} bytes`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no answer: ${received.length} of ${n} bytes in ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const out = received.subarray(0, n);
      received = received.subarray(n);
      return out;
    },
    close: () => socket.destroy(),
  };
}

export const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
