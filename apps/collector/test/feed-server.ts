// A vendor's feed endpoint for tests: a real HTTP server whose answer each test sets (body, status, delay,
// validators, gzip), recording the headers of every request so tests can see what the collector asked for.

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';

export interface FeedAnswer {
  status?: number;
  body?: Uint8Array | string;
  contentType?: string;
  /** Waits this long before answering. */
  delayMs?: number;
  /** Sends ETag (a hash of the body) and Last-Modified, and answers 304 to a matching conditional request. */
  validators?: boolean;
  /** Gzips the body when the request accepts gzip. */
  gzip?: boolean;
  /** Answers with this many bytes of zeros, streamed, without a Content-Length. */
  streamBytes?: number;
}

export interface FeedServer {
  readonly url: string;
  readonly requests: Record<string, string | string[] | undefined>[];
  /** Bytes of the last body sent on the wire. */
  lastWireBytes: number;
  answer: FeedAnswer;
  close(): Promise<void>;
}

const LAST_MODIFIED = 'Sat, 21 Nov 2026 08:47:00 GMT';

export async function startFeedServer(answer: FeedAnswer = {}): Promise<FeedServer> {
  // Closing must not wait for requests a test left hanging on purpose (slow answers, cut-off streams).
  const app = Fastify({ forceCloseConnections: true });
  const server: FeedServer = {
    url: '',
    requests: [],
    lastWireBytes: 0,
    answer,
    close: () => app.close(),
  };
  app.get('/feed', async (request, reply) => {
    server.requests.push({ ...request.headers });
    const a = server.answer;
    if (a.delayMs) await new Promise((resolve) => setTimeout(resolve, a.delayMs));
    if (a.streamBytes !== undefined) {
      const chunk = Buffer.alloc(64 * 1024);
      let left = a.streamBytes;
      return reply.type('application/octet-stream').send(
        Readable.from(
          (function* () {
            while (left > 0) {
              const n = Math.min(left, chunk.length);
              left -= n;
              yield chunk.subarray(0, n);
            }
          })(),
        ),
      );
    }
    const body = typeof a.body === 'string' ? Buffer.from(a.body) : Buffer.from(a.body ?? new Uint8Array());
    if (a.validators) {
      const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
      reply.header('etag', etag).header('last-modified', LAST_MODIFIED);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    }
    reply.code(a.status ?? 200).type(a.contentType ?? 'application/x-protobuf');
    if (a.gzip && String(request.headers['accept-encoding'] ?? '').includes('gzip')) {
      const zipped = gzipSync(body);
      server.lastWireBytes = zipped.length;
      return reply.header('content-encoding', 'gzip').send(zipped);
    }
    server.lastWireBytes = body.length;
    return reply.send(body);
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return Object.assign(server, { url: `http://127.0.0.1:${address.port}/feed` });
}
