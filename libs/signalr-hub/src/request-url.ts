// The parts of a request URL the hub routes and authenticates on. Queries are read the same way for negotiate
// and upgrade requests (first value of a repeated key wins), into frozen null-prototype records so a key like
// `__proto__` is just a key.

/** Query parameters the SignalR transport adds; they are not part of a connection's `query`. */
const TRANSPORT_PARAMETERS = new Set(['negotiateVersion', 'id', 'access_token', 'useStatefulReconnect']);

export type Query = Readonly<Record<string, string>>;

export function queryOf(url: string | undefined): Query {
  const query: Record<string, string> = Object.create(null);
  const at = url?.indexOf('?') ?? -1;
  if (url !== undefined && at >= 0) {
    for (const [key, value] of new URLSearchParams(url.slice(at + 1))) {
      if (!(key in query)) query[key] = value;
    }
  }
  return Object.freeze(query);
}

/** The query without the transport's own parameters: what the client's app put in the hub URL. */
export function connectionQueryOf(query: Query): Query {
  const result: Record<string, string> = Object.create(null);
  for (const key of Object.keys(query)) {
    if (!TRANSPORT_PARAMETERS.has(key)) result[key] = query[key]!;
  }
  return Object.freeze(result);
}

/** The path of a request URL, without query and trailing slashes ('/client/?hub=x' → '/client'). */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return '';
  const at = url.indexOf('?');
  let path = at >= 0 ? url.slice(0, at) : url;
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path;
}
