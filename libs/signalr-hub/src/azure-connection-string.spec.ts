// Connection strings as the Azure portal and the .NET SDK write them: case-insensitive keys, Port,
// ClientEndpoint, AuthType for Microsoft Entra ID, and errors naming the key at fault.

import { describe, expect, it } from 'vitest';
import { isSignalRHubError, parseAzureSignalRConnectionString } from './index.js';

function errorOf(text: string): string {
  try {
    parseAzureSignalRConnectionString(text);
  } catch (error) {
    if (isSignalRHubError(error) && error.code === 'INVALID_CONNECTION_STRING') return error.message;
    throw error;
  }
  throw new Error('expected INVALID_CONNECTION_STRING');
}

describe('parseAzureSignalRConnectionString', () => {
  it('parses the portal form', () => {
    expect(
      parseAzureSignalRConnectionString(
        'Endpoint=https://tf.service.signalr.net;AccessKey=abc+/=;Version=1.0;',
      ),
    ).toEqual({ endpoint: 'https://tf.service.signalr.net', accessKey: 'abc+/=', authType: 'key' });
  });

  it('reads keys case-insensitively, with Port and ClientEndpoint, trimming slashes and spaces', () => {
    expect(
      parseAzureSignalRConnectionString(
        ' endpoint = http://localhost/ ; ACCESSKEY=k==;port=8080;clientEndpoint=https://proxy.example/;version=1.1',
      ),
    ).toEqual({
      endpoint: 'http://localhost',
      accessKey: 'k==',
      port: 8080,
      clientEndpoint: 'https://proxy.example',
      authType: 'key',
    });
  });

  it.each(['aad', 'AAD', 'azure', 'azure.msi', 'azure.app'])(
    'reads AuthType=%s as Entra ID (no AccessKey needed)',
    (type) => {
      expect(
        parseAzureSignalRConnectionString(
          `Endpoint=https://tf.service.signalr.net;AuthType=${type};Version=1.0`,
        ),
      ).toEqual({
        endpoint: 'https://tf.service.signalr.net',
        authType: 'aad',
      });
    },
  );

  it('names what is missing or wrong, never echoing the key', () => {
    expect(errorOf('AccessKey=secret;Version=1.0;')).toMatch(/Endpoint is missing/);
    expect(errorOf('')).toMatch(/empty/);
    expect(errorOf('Endpoint=https://x.service.signalr.net;Version=1.0;')).toMatch(/AccessKey is missing/);
    expect(errorOf('Endpoint=ftp://x;AccessKey=k')).toMatch(/Endpoint must be an http\(s\) URL/);
    expect(errorOf('Endpoint=not a url;AccessKey=k')).toMatch(/Endpoint is not a URL/);
    expect(errorOf('Endpoint=https://x;AccessKey=k;Port=0')).toMatch(/Port/);
    expect(errorOf('Endpoint=https://x;AccessKey=k;Port=80a')).toMatch(/Port/);
    expect(errorOf('Endpoint=https://x;AccessKey=k;ClientEndpoint=nope')).toMatch(/ClientEndpoint/);
    expect(errorOf('Endpoint=https://x;AccessKey=k;AuthType=magic')).toMatch(/AuthType magic/);
    expect(errorOf('Endpoint=https://x;AccessKey=k;Version=2.0')).toMatch(/Version 2.0/);
    expect(errorOf('Endpoint=https://x;endpoint=https://y;AccessKey=k')).toMatch(/appears twice/);
    const mangled = errorOf('Endpoint=https://x;AccessKeysecretvalue');
    expect(mangled).toMatch(/part 2/);
    expect(mangled).not.toContain('secret');
  });
});
