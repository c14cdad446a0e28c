// One conditional GET of a vendor's feed. The validators of the last good download go out as If-None-Match and
// If-Modified-Since, so a vendor whose feed has not changed answers 304 without a body; gzip (and deflate, br)
// is asked for and undone by fetch. The body is read as a stream and cut off at maxBodyBytes, so a vendor
// sending gigabytes cannot exhaust memory. The tick's AbortSignal cancels the request wherever it is.

import type { Secret } from '@transit-fusion/service-kit';
import { CollectorError } from './collector-error.js';

/** The validators a conditional request sends: from the last download that was stored. */
export interface FeedValidators {
  readonly etag?: string;
  readonly lastModified?: string;
}

export type FeedResponse =
  | {
      readonly status: 'modified';
      readonly body: Uint8Array;
      readonly validators: FeedValidators;
      /** Bytes on the wire when the server said (Content-Length), else the decoded size. */
      readonly wireBytes: number;
    }
  | { readonly status: 'not-modified' };

export interface FetchFeedOptions {
  readonly url: URL;
  readonly headers: Readonly<Record<string, Secret>>;
  readonly validators: FeedValidators;
  readonly maxBodyBytes: number;
  readonly signal: AbortSignal;
  /** The fetch implementation (default: Node's). */
  readonly fetch?: typeof fetch;
}

export async function fetchFeed(options: FetchFeedOptions): Promise<FeedResponse> {
  const headers = new Headers({
    'accept-encoding': 'gzip, deflate, br',
    'user-agent': 'transit-fusion-collector',
  });
  for (const [name, value] of Object.entries(options.headers))
    headers.set(name, value.reveal().toString('utf8'));
  if (options.validators.etag) headers.set('if-none-match', options.validators.etag);
  if (options.validators.lastModified) headers.set('if-modified-since', options.validators.lastModified);

  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(options.url, {
      headers,
      signal: options.signal,
      redirect: 'follow',
    });
  } catch (error) {
    throw failure(options.signal, `could not fetch ${redact(options.url)}`, error);
  }
  if (response.status === 304) {
    await response.body?.cancel();
    return { status: 'not-modified' };
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new CollectorError(
      'HTTP_STATUS',
      `${redact(options.url)} answered ${response.status} ${response.statusText}`.trimEnd(),
    );
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > options.maxBodyBytes) {
    await response.body?.cancel();
    throw tooLarge(options.url, options.maxBodyBytes);
  }
  const body = await readLimited(response, options);
  const etag = response.headers.get('etag');
  const lastModified = response.headers.get('last-modified');
  return {
    status: 'modified',
    body,
    validators: { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) },
    wireBytes: Number.isFinite(declared) ? declared : body.byteLength,
  };
}

async function readLimited(response: Response, options: FetchFeedOptions): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > options.maxBodyBytes) {
        await reader.cancel();
        throw tooLarge(options.url, options.maxBodyBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    throw failure(options.signal, `could not read the body of ${redact(options.url)}`, error);
  }
  if (chunks.length === 1) return chunks[0]!;
  return Buffer.concat(chunks, total);
}

function failure(signal: AbortSignal, message: string, error: unknown): CollectorError {
  if (signal.aborted) {
    return new CollectorError('BUDGET_EXCEEDED', `${message}: ${reasonOf(signal)}`, { cause: error });
  }
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  const detail = cause?.code ?? cause?.message ?? (error as Error).message;
  return new CollectorError('FETCH_FAILED', `${message} (${detail})`, { cause: error });
}

function tooLarge(url: URL, max: number): CollectorError {
  return new CollectorError('TOO_LARGE', `${redact(url)} sent more than ${max} bytes`);
}

/** What aborted a tick, for messages: the budget, or shutdown. */
export function reasonOf(signal: AbortSignal): string {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  if (reason?.name === 'TimeoutError') return 'the tick budget ran out';
  return reason?.message ?? 'aborted';
}

/** The URL without credentials or query (which may carry an API key), for logs and errors. */
export function redact(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}
