// npm start's settings and log formatting: flags, ports from the environment, and messages that name the problem.

import { describe, expect, it } from 'vitest';
import { formatLogLine } from './service-process.js';
import { stackConfigFrom, USAGE } from './stack-config.js';

describe('local stack settings', () => {
  it('defaults to 500 vehicles on the documented ports, data in .data', () => {
    const config = stackConfigFrom([], {}, '/repo');
    expect(config).toMatchObject({
      vehicles: 500,
      clean: false,
      dataDir: '/repo/.data',
      ports: { blob: 10000, table: 10002, serviceBus: 5672, broadcaster: 8084, grpc: 50051 },
    });
  });

  it('takes --vehicles, --clean and ports from TF_LOCAL_*', () => {
    const config = stackConfigFrom(
      ['--vehicles', '2000', '--clean'],
      { TF_LOCAL_BROADCASTER_PORT: '9084', TF_LOCAL_DATA_DIR: 'tmp/data' },
      '/repo',
    );
    expect(config).toMatchObject({ vehicles: 2000, clean: true, dataDir: '/repo/tmp/data' });
    expect(typeof config !== 'string' && config.ports.broadcaster).toBe(9084);
    expect(stackConfigFrom(['--vehicles=10'], {}, '/repo')).toMatchObject({ vehicles: 10 });
  });

  it('names what is wrong', () => {
    expect(stackConfigFrom(['--vehicles', 'lots'], {}, '/')).toMatch(/--vehicles must be a whole number/);
    expect(stackConfigFrom(['--fast'], {}, '/')).toMatch(/^unknown option --fast/);
    expect(stackConfigFrom([], { TF_LOCAL_GRPC_PORT: '70000' }, '/')).toMatch(
      /TF_LOCAL_GRPC_PORT must be a port/,
    );
    expect(stackConfigFrom([], { TF_LOCAL_GRPC_PORT: '8084' }, '/')).toBe(
      'TF_LOCAL_GRPC_PORT and TF_LOCAL_BROADCASTER_PORT are both 8084',
    );
    expect(stackConfigFrom(['--help'], {}, '/')).toBe(USAGE);
  });

  it('prints a service log line as level, message and fields', () => {
    expect(
      formatLogLine(
        '{"level":40,"time":1,"pid":2,"hostname":"h","service":"composer","msg":"tick late","lateMs":120}',
      ),
    ).toBe('warn  tick late lateMs=120');
    expect(formatLogLine('not json')).toBe('not json');
  });
});
