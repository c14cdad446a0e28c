// Azure SignalR Service in serverless mode, for scale-out: the app hosts only the negotiate route (which
// redirects clients to the service with a signed client token), and pushes messages through the service's
// REST API (v1); the service holds the sockets. Access-key auth signs JWTs locally (cached per URL: the
// broadcaster calls several times a second); Microsoft Entra ID auth (AuthType=aad) takes bearer tokens from
// a credential and asks the service for client tokens.

import { accessKeyBytes, signAccessToken } from './access-token.js';
import { parseAzureSignalRConnectionString } from './azure-connection-string.js';
import { SignalRHubError } from './signalr-hub-error.js';

/** What `@azure/identity` credentials (DefaultAzureCredential, ManagedIdentityCredential…) provide. */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: object): Promise<AccessToken | null>;
}

export interface AccessToken {
  readonly token: string;
  readonly expiresOnTimestamp: number;
}

export interface AzureSignalRServiceOptions {
  readonly connectionString: string;
  /** The hub name (letters, digits, underscores; starts with a letter); the service treats it case-insensitively. */
  readonly hub: string;
  /** Required for AuthType=aad (Microsoft Entra ID): REST bearer tokens and client tokens come through it. */
  readonly credential?: TokenCredential;
  /** Lifetime of the client tokens negotiate hands out, default 1 h. */
  readonly accessTokenTtlMs?: number;
  readonly fetch?: typeof fetch;
  /** Per REST call, default 10 000. */
  readonly requestTimeoutMs?: number;
}

export interface AzureSignalRService {
  /**
   * The body of the app's negotiate response: { url: `${clientEndpoint}/client/?hub=<hub>`, accessToken }, a
   * JWT (HS256 with the AccessKey, `aud` the service's client URL, `exp`, `nameid` = userId).
   */
  negotiate(userId: string): Promise<{ url: string; accessToken: string }>;
  sendToAll(target: string, args: readonly unknown[]): Promise<void>;
  sendToGroup(group: string, target: string, args: readonly unknown[]): Promise<void>;
  sendToUser(userId: string, target: string, args: readonly unknown[]): Promise<void>;
  addUserToGroup(group: string, userId: string): Promise<void>;
  removeUserFromGroup(group: string, userId: string): Promise<void>;
  /** Whether any client connection is in the group (REST `HEAD …/groups/{group}`: 200 yes, 404 no). */
  groupHasConnections(group: string): Promise<boolean>;
}

/** The service refuses larger REST bodies. */
const MAX_BODY_BYTES = 1024 * 1024;
const ENTRA_SCOPE = 'https://signalr.azure.com/.default';
const GENERATE_TOKEN_API_VERSION = '2024-12-01';
/** Server tokens live 10 minutes and are reused for 5: at most one signature per URL per 5 minutes. */
const SERVER_TOKEN_TTL_MS = 10 * 60_000;
const SERVER_TOKEN_REUSE_MS = 5 * 60_000;
/** Entra tokens are renewed this long before they expire. */
const ENTRA_RENEW_MARGIN_MS = 5 * 60_000;
/** Per-URL server tokens (one per group and user): the cache is emptied past this many. */
const MAX_CACHED_TOKENS = 2_000;

/** Bearer tokens by audience (or 'entra'); concurrent callers share one pending signature or credential call. */
class TokenCache {
  readonly #entries = new Map<string, { token: Promise<string>; renewAt: number }>();

  get(key: string, make: () => Promise<{ token: string; renewAt: number }>): Promise<string> {
    const hit = this.#entries.get(key);
    if (hit !== undefined && Date.now() < hit.renewAt) return hit.token;
    if (hit === undefined && this.#entries.size >= MAX_CACHED_TOKENS) this.#entries.clear();
    const entry = { token: Promise.resolve(''), renewAt: Number.POSITIVE_INFINITY };
    entry.token = make().then(
      (made) => {
        entry.renewAt = made.renewAt;
        return made.token;
      },
      (error: unknown) => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        throw error;
      },
    );
    this.#entries.set(key, entry);
    return entry.token;
  }
}

export function createAzureSignalRService(options: AzureSignalRServiceOptions): AzureSignalRService {
  const parsed = parseAzureSignalRConnectionString(options.connectionString);
  if (typeof options.hub !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,127}$/.test(options.hub)) {
    throw new SignalRHubError(
      'INVALID_ARGUMENT',
      `hub must be a letter then letters, digits or _, got '${options.hub}'`,
    );
  }
  const ttlMs = options.accessTokenTtlMs ?? 3_600_000;
  if (!Number.isInteger(ttlMs) || ttlMs < 1000) {
    throw new SignalRHubError('INVALID_ARGUMENT', `accessTokenTtlMs must be an integer ≥ 1000, got ${ttlMs}`);
  }
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new SignalRHubError(
      'INVALID_ARGUMENT',
      `requestTimeoutMs must be a positive integer, got ${timeoutMs}`,
    );
  }
  const credential = options.credential;
  if (parsed.authType === 'aad' && credential === undefined) {
    throw new SignalRHubError(
      'INVALID_ARGUMENT',
      'AuthType=aad needs a credential (e.g. DefaultAzureCredential)',
    );
  }
  const fetchFn = options.fetch ?? globalThis.fetch;
  const key =
    parsed.authType === 'key' && parsed.accessKey !== undefined
      ? accessKeyBytes(parsed.accessKey)
      : undefined;

  // The .NET SDK lowercases the hub and leaves the port out of audiences; requests go to the port.
  const hub = options.hub.toLowerCase();
  const serverBase = baseUrl(parsed.endpoint, parsed.port);
  const audienceBase = baseUrl(parsed.endpoint, undefined, true);
  const clientUrl = `${parsed.clientEndpoint ?? serverBase}/client/?hub=${hub}`;
  const clientAudience = `${audienceBase}/client/?hub=${hub}`;
  const hubPath = `/api/v1/hubs/${hub}`;

  const tokens = new TokenCache();

  function bearer(audience: string): Promise<string> {
    if (key !== undefined) {
      return tokens.get(audience, async () => ({
        token: await signAccessToken(key, audience, SERVER_TOKEN_TTL_MS),
        renewAt: Date.now() + SERVER_TOKEN_REUSE_MS,
      }));
    }
    return tokens.get('entra', async () => {
      let token: AccessToken | null;
      try {
        token = await credential!.getToken(ENTRA_SCOPE);
      } catch (error) {
        throw new SignalRHubError('SERVICE_UNREACHABLE', 'the credential gave no token for Azure SignalR', {
          cause: error,
        });
      }
      if (token === null) {
        throw new SignalRHubError('SERVICE_UNREACHABLE', 'the credential gave no token for Azure SignalR');
      }
      const left = token.expiresOnTimestamp - Date.now();
      return {
        token: token.token,
        renewAt: token.expiresOnTimestamp - Math.min(ENTRA_RENEW_MARGIN_MS, left / 2),
      };
    });
  }

  async function call(
    method: 'POST' | 'PUT' | 'DELETE' | 'HEAD',
    path: string,
    body?: Uint8Array,
    query = '',
    accept404 = false,
  ): Promise<string | undefined> {
    const authorization = `Bearer ${await bearer(`${audienceBase}${path}`)}`;
    let response: Response;
    let text: string;
    try {
      response = await fetchFn(`${serverBase}${path}${query}`, {
        method,
        headers:
          body === undefined ? { authorization } : { authorization, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new SignalRHubError('SERVICE_UNREACHABLE', `${method} ${path} failed: ${describe(error)}`, {
        cause: error,
      });
    }
    if (accept404 && response.status === 404) return undefined;
    if (!response.ok) {
      throw new SignalRHubError(
        'SERVICE_REJECTED',
        `${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`,
        {
          status: response.status,
        },
      );
    }
    return text;
  }

  function messageBody(target: string, args: readonly unknown[]): Uint8Array {
    if (typeof target !== 'string' || target.length === 0) {
      throw new SignalRHubError('INVALID_ARGUMENT', 'a target must be a non-empty string');
    }
    if (!Array.isArray(args))
      throw new SignalRHubError('INVALID_ARGUMENT', `the arguments of '${target}' must be an array`);
    let json: string;
    try {
      json = JSON.stringify({ target, arguments: args });
    } catch (error) {
      throw new SignalRHubError(
        'INVALID_ARGUMENT',
        `the arguments of '${target}' cannot be encoded as JSON`,
        { cause: error },
      );
    }
    const bytes = Buffer.from(json, 'utf8');
    if (bytes.length > MAX_BODY_BYTES) {
      throw new SignalRHubError(
        'MESSAGE_TOO_LARGE',
        `'${target}' is ${bytes.length} bytes; Azure SignalR accepts at most ${MAX_BODY_BYTES}`,
      );
    }
    return bytes;
  }

  function segment(name: string, value: string): string {
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
      throw new SignalRHubError('INVALID_ARGUMENT', `${name} must be a string of 1–1024 characters`);
    }
    return encodeURIComponent(value);
  }

  return {
    async negotiate(userId) {
      if (typeof userId !== 'string')
        throw new SignalRHubError('INVALID_ARGUMENT', 'userId must be a string');
      if (key !== undefined) {
        const accessToken = await signAccessToken(
          key,
          clientAudience,
          ttlMs,
          userId === '' ? {} : { nameid: userId },
        );
        return { url: clientUrl, accessToken };
      }
      const params = new URLSearchParams({ 'api-version': GENERATE_TOKEN_API_VERSION });
      if (userId !== '') params.set('userId', userId);
      params.set('minutesToExpire', String(Math.ceil(ttlMs / 60_000)));
      const text = await call('POST', `/api/hubs/${hub}/:generateToken`, undefined, `?${params}`);
      const token = (safeJson(text ?? '') as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string') {
        throw new SignalRHubError('SERVICE_REJECTED', 'generateToken answered without a token', {
          status: 200,
        });
      }
      return { url: clientUrl, accessToken: token };
    },
    async sendToAll(target, args) {
      await call('POST', hubPath, messageBody(target, args));
    },
    async sendToGroup(group, target, args) {
      await call('POST', `${hubPath}/groups/${segment('group', group)}`, messageBody(target, args));
    },
    async sendToUser(userId, target, args) {
      await call('POST', `${hubPath}/users/${segment('userId', userId)}`, messageBody(target, args));
    },
    async addUserToGroup(group, userId) {
      await call('PUT', `${hubPath}/groups/${segment('group', group)}/users/${segment('userId', userId)}`);
    },
    async removeUserFromGroup(group, userId) {
      await call('DELETE', `${hubPath}/groups/${segment('group', group)}/users/${segment('userId', userId)}`);
    },
    async groupHasConnections(group) {
      const found = await call('HEAD', `${hubPath}/groups/${segment('group', group)}`, undefined, '', true);
      return found !== undefined;
    },
  };
}

/** scheme://host[:port][/path] without trailing slash; `noPort` leaves any port out (for audiences). */
function baseUrl(endpoint: string, port: number | undefined, noPort = false): string {
  const url = new URL(endpoint);
  if (noPort) url.port = '';
  else if (port !== undefined) url.port = String(port);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail =
      typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : '';
    return detail === '' ? error.message : `${error.message} (${detail})`;
  }
  return String(error);
}
