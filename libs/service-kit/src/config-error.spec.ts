import { describe, expect, it } from 'vitest';
import { issuesFromMessage } from './config-error.js';

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
