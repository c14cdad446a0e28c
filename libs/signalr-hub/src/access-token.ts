// The JWTs of Azure SignalR Service's access-key authentication: HS256 signed with the AccessKey's UTF-8 bytes,
// `aud` the URL being accessed, `exp`, and `nameid` for the user of a client token. Signed by the service adapter,
// verified by the local stand-in. Audiences are compared as the service does after the .NET SDK's habits:
// scheme, host, path and query, ignoring the port and letter case.

import { SignJWT, jwtVerify } from 'jose';

export function accessKeyBytes(accessKey: string): Uint8Array {
  return new TextEncoder().encode(accessKey);
}

export async function signAccessToken(
  key: Uint8Array,
  audience: string,
  ttlMs: number,
  claims: Readonly<Record<string, string>> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.max(1, Math.ceil(ttlMs / 1000)))
    .sign(key);
}

/** The token's claims when it is signed with `key`, not expired and meant for `audience`; else undefined. */
export async function verifyAccessToken(
  token: string,
  key: Uint8Array,
  audience: string,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'aud'],
    });
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const expected = comparableUrl(audience);
    return audiences.some((aud) => typeof aud === 'string' && comparableUrl(aud) === expected)
      ? payload
      : undefined;
  } catch {
    return undefined;
  }
}

function comparableUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.hostname}${url.pathname}${url.search}`.toLowerCase();
  } catch {
    return `invalid:${text}`;
  }
}

/** `Authorization: Bearer <token>`'s token, if any. */
export function bearerOf(authorization: string | string[] | undefined): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
