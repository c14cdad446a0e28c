import { ServiceBusError } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import { isMessagingError, MessagingError, toMessagingError } from './messaging-error.js';

describe('toMessagingError', () => {
  it.each([
    ['ServiceCommunicationProblem', 'UNAVAILABLE'],
    ['ServiceBusy', 'UNAVAILABLE'],
    ['ServiceTimeout', 'UNAVAILABLE'],
    ['MessagingEntityNotFound', 'UNAVAILABLE'],
    ['UnauthorizedAccess', 'UNAVAILABLE'],
    ['QuotaExceeded', 'UNAVAILABLE'],
    ['MessageSizeExceeded', 'MESSAGE_TOO_LARGE'],
  ] as const)('maps the SDK code %s to %s, keeping the cause', (sdkCode, code) => {
    const cause = new ServiceBusError('from the SDK', sdkCode);
    const error = toMessagingError(cause, 'send to vendor-b', { acceptedCount: 16 });
    expect(error).toBeInstanceOf(MessagingError);
    expect(error.code).toBe(code);
    expect(error.cause).toBe(cause);
    expect(error.acceptedCount).toBe(16);
    expect(error.message).toMatch(/^[A-Z_]+: send to vendor-b/);
  });

  it('maps an abort to ABORTED, a TypeError to INVALID_ARGUMENT and anything else to UNAVAILABLE', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(toMessagingError(abort, 'x').code).toBe('ABORTED');
    expect(toMessagingError(new TypeError('bad property'), 'x').code).toBe('INVALID_ARGUMENT');
    expect(toMessagingError(new Error('socket hang up'), 'x').code).toBe('UNAVAILABLE');
  });

  it('passes a MessagingError through', () => {
    const own = new MessagingError('MESSAGE_TOO_LARGE', 'too big');
    expect(toMessagingError(own, 'x')).toBe(own);
    expect(isMessagingError(own)).toBe(true);
    expect(isMessagingError(new Error('x'))).toBe(false);
  });
});
