import { describe, expect, it } from 'vitest';
import { collectIssues, ConfigError, issuesFromMessage } from './config-error.js';

describe('issuesFromMessage', () => {
  it("splits a lib's INVALID_CONFIG message into issues per variable", () => {
    expect(
      issuesFromMessage(
        'INVALID_CONFIG: TF_STORAGE_SNAPSHOT_CONTAINER must be a valid container name; both URLs or neither',
        'TF_STORAGE_*',
      ),
    ).toEqual([
      { variable: 'TF_STORAGE_SNAPSHOT_CONTAINER', message: 'must be a valid container name' },
      { variable: 'TF_STORAGE_*', message: 'both URLs or neither' },
    ]);
  });
});

describe('collectIssues', () => {
  it("gathers a schema's issues and another lib's, then fails once naming them all", () => {
    const issues = collectIssues();
    const fromSchema = issues.take(() => {
      throw new ConfigError('INVALID_CONFIG', [{ variable: 'TF_X_PORT', message: 'must be a number' }]);
    });
    class LibError extends Error {}
    const fromLib = issues.take(
      () => {
        throw new LibError('INVALID_CONFIG: TF_Y_URL must be a URL');
      },
      { is: (e) => e instanceof LibError, variable: 'TF_Y_*' },
    );
    expect([fromSchema, fromLib]).toEqual([undefined, undefined]);
    expect(issues.take(() => 42)).toBe(42);
    issues.add({ variable: 'TF_Z', message: 'contradicts TF_X_PORT' });
    expect(() => issues.check()).toThrow(
      'invalid configuration: TF_X_PORT: must be a number; TF_Y_URL: must be a URL; TF_Z: contradicts TF_X_PORT',
    );
    // Anything else is a bug, not a setting: it propagates.
    expect(() =>
      issues.take(() => {
        throw new TypeError('boom');
      }),
    ).toThrow('boom');
  });
});
