// Azure SignalR Service connection strings (`Endpoint=https://<name>.service.signalr.net;AccessKey=<key>;
// Version=1.0;`), parsed as the service's .NET SDK does: keys case-insensitive, `Port` applied to the endpoint,
// an optional `ClientEndpoint` (a reverse proxy clients go through), `AuthType` for Microsoft Entra ID. Errors
// name the key at fault and never echo the access key.

import { SignalRHubError } from './signalr-hub-error.js';

export interface AzureSignalRConnectionString {
  /** The service URL, without trailing slash (and without `Port` applied). */
  readonly endpoint: string;
  /** Required unless authType is 'aad'. */
  readonly accessKey?: string;
  readonly port?: number;
  /** Where clients connect, when not the endpoint (a reverse proxy such as Application Gateway). */
  readonly clientEndpoint?: string;
  /** 'aad' for `AuthType=aad|azure|azure.msi|azure.app` (Microsoft Entra ID), else 'key'. */
  readonly authType?: 'key' | 'aad';
}

const ENTRA_AUTH_TYPES = new Set(['aad', 'azure', 'azure.msi', 'azure.app']);

export function parseAzureSignalRConnectionString(text: string): AzureSignalRConnectionString {
  if (typeof text !== 'string' || text.trim() === '') throw invalid('the connection string is empty');
  const entries = new Map<string, string>();
  for (const [index, part] of text.split(';').entries()) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    // The part is not echoed: it may be a mangled access key.
    if (at < 0) throw invalid(`part ${index + 1} is not a Key=Value pair`);
    const key = part.slice(0, at).trim().toLowerCase();
    if (entries.has(key)) throw invalid(`the key ${part.slice(0, at).trim()} appears twice`);
    entries.set(key, part.slice(at + 1).trim());
  }

  const endpointText = entries.get('endpoint');
  if (endpointText === undefined || endpointText === '') throw invalid('Endpoint is missing');
  const endpoint = httpUrl('Endpoint', endpointText.replace(/\/+$/, ''));

  const version = entries.get('version');
  if (version !== undefined && !/^1\.\d+/.test(version))
    throw invalid(`Version ${version} is not supported (1.x is)`);

  let port: number | undefined;
  const portText = entries.get('port');
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65_535)
      throw invalid('Port must be an integer in 1–65535');
  }

  let clientEndpoint: string | undefined;
  const clientText = entries.get('clientendpoint');
  if (clientText !== undefined) clientEndpoint = httpUrl('ClientEndpoint', clientText.replace(/\/+$/, ''));

  const authTypeText = entries.get('authtype')?.toLowerCase();
  if (authTypeText !== undefined && !ENTRA_AUTH_TYPES.has(authTypeText)) {
    throw invalid(`AuthType ${authTypeText} is not supported (aad, azure, azure.msi or azure.app are)`);
  }
  const authType = authTypeText === undefined ? 'key' : 'aad';

  const accessKey = entries.get('accesskey');
  if (authType === 'key' && (accessKey === undefined || accessKey === '')) {
    throw invalid('AccessKey is missing (required unless AuthType is aad)');
  }

  return Object.freeze({
    endpoint,
    authType,
    ...(accessKey !== undefined && accessKey !== '' ? { accessKey } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(clientEndpoint !== undefined ? { clientEndpoint } : {}),
  });
}

function httpUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${key} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`${key} must be an http(s) URL`);
  return value;
}

function invalid(message: string): SignalRHubError {
  return new SignalRHubError('INVALID_CONNECTION_STRING', `Azure SignalR connection string: ${message}`);
}
