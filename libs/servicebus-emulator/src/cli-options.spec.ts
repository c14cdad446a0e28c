import { describe, expect, it } from 'vitest';
import { parseCliOptions } from './cli-options.js';

describe('parseCliOptions', () => {
  it('reads the config path, with host and port defaults', () => {
    expect(parseCliOptions(['--config', 'c.json'])).toEqual({
      help: false,
      configPath: 'c.json',
      host: '127.0.0.1',
      port: 5672,
    });
    expect(parseCliOptions(['--config=c.json', '--host', '0.0.0.0', '--port', '0'])).toMatchObject({
      host: '0.0.0.0',
      port: 0,
    });
    expect(parseCliOptions(['--help'])).toEqual({ help: true });
  });

  it('refuses a missing config, a bad port and unknown options', () => {
    expect(() => parseCliOptions([])).toThrow('--config <file> is required');
    expect(() => parseCliOptions(['--config', 'c.json', '--port', 'http'])).toThrow(/--port must be/);
    expect(() => parseCliOptions(['--config', 'c.json', '--port', '70000'])).toThrow(/--port must be/);
    expect(() => parseCliOptions(['--config', 'c.json', '--verbose'])).toThrow(/verbose/);
  });
});
