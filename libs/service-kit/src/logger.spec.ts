import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(JSON.parse(s)) } };
}

describe('createLogger', () => {
  it('writes one JSON object per line with the service, a level name and an ISO time', () => {
    const { lines, destination } = capture();
    createLogger({ service: 'receiver', destination }).info({ pushId: 'p1' }, 'accepted');
    expect(lines).toEqual([
      expect.objectContaining({ service: 'receiver', level: 'info', pushId: 'p1', msg: 'accepted' }),
    ]);
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
  });

  it('honours the level', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', level: 'warn', destination });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines.map((l) => l.msg)).toEqual(['shown']);
  });

  it('redacts credential headers, keys, signatures and connection strings', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ service: 's', destination, redact: ['custom.path'] });
    logger.info(
      {
        req: {
          headers: {
            authorization: 'Bearer abc',
            'x-api-key': 'key-123',
            'x-signature': 'sha256=ff',
            'content-type': 'application/json',
          },
        },
        apiKey: 'k',
        vendor: { secret: 's', apiKeys: ['a', 'b'] },
        config: { serviceBus: { connectionString: 'Endpoint=sb://x;SharedAccessKey=y' } },
        custom: { path: 'x' },
      },
      'request',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['Bearer abc', 'key-123', 'sha256=ff', 'SharedAccessKey=y', '"a"']) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      req: { headers: { authorization: '[redacted]', 'content-type': 'application/json' } },
      vendor: { secret: '[redacted]', apiKeys: '[redacted]' },
      custom: { path: '[redacted]' },
    });
  });
});
